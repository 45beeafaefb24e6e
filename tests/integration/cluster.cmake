# Cluster-in-a-box: a real local Slurm (scripts/slurm-local) and several "hosts" as network
# namespaces (scripts/netns-hosts), proven with tests/integration/cluster/mpi_hostname.c.
# The test scripts exit 77 when the machine cannot run them (not root, Slurm or ip netns
# missing): ctest shows them as skipped, with the reason in the output. With CI set they fail.
# One RESOURCE_LOCK, because both kinds use the same namespaces, munge and Slurm ports.
# Sanitizer trees run only unit and conformance tests: the cluster tests need the release tree.
if(NOT HILO_WITH_MPI OR HILO_SANITIZER)
  return()
endif()

set(cluster_dir ${CMAKE_CURRENT_SOURCE_DIR}/cluster)

add_executable(mpi_hostname ${cluster_dir}/mpi_hostname.c)
target_link_libraries(mpi_hostname PRIVATE MPI::MPI_C)
# Where the test jobs' "# hilo-needs:" lines expect it, relative to the build tree.
set_target_properties(mpi_hostname PROPERTIES RUNTIME_OUTPUT_DIRECTORY
                                              ${CMAKE_BINARY_DIR}/tests/integration/cluster)

# The same proof written against hilo's API: the runtime itself across hosts and under Slurm.
add_executable(hilo_hostname ${cluster_dir}/hilo_hostname.cpp)
target_link_libraries(hilo_hostname PRIVATE hilo::hilo)
set_target_properties(hilo_hostname PROPERTIES RUNTIME_OUTPUT_DIRECTORY
                                               ${CMAKE_BINARY_DIR}/tests/integration/cluster)

# cluster_test(NAME TIMEOUT COMMAND...): one cluster test, run from the source tree with the
# build tree in HILO_BUILD.
function(cluster_test name timeout)
  add_test(NAME integration.cluster.${name} COMMAND ${ARGN} WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
  set_tests_properties(integration.cluster.${name} PROPERTIES
    LABELS integration
    TIMEOUT ${timeout}
    SKIP_RETURN_CODE 77
    RESOURCE_LOCK hilo_cluster
    FIXTURES_REQUIRED hilo_cluster
    ENVIRONMENT "HILO_BUILD=${CMAKE_BINARY_DIR}")
endfunction()

# Each test tears down what it brought up, on every exit path it controls. ctest's own TIMEOUT
# kills a test outright, so this cleanup runs after the cluster tests in any case.
add_test(NAME integration.cluster.cleanup COMMAND ${cluster_dir}/cleanup.sh)
set_tests_properties(integration.cluster.cleanup PROPERTIES
  LABELS integration TIMEOUT 60 RESOURCE_LOCK hilo_cluster FIXTURES_CLEANUP hilo_cluster)

# The launchers of the netns test bed, for cluster_netns_test below. mpirun runs inside hilo-h1
# and starts its daemons on the other hosts through the agent; TCP only (no shared memory
# between "hosts"); the hostfile's 6 slots on 2 cores need --oversubscribe.
set(HILO_NETNS_MPIRUN
    mpirun --hostfile ${PROJECT_SOURCE_DIR}/hostfiles/netns
    --mca plm_rsh_agent ${PROJECT_SOURCE_DIR}/scripts/netns-agent --mca btl tcp,self
    --oversubscribe)
if(TARGET hilorun)
  set(HILO_NETNS_HILORUN
      $<TARGET_FILE:hilorun> --hostfile ${PROJECT_SOURCE_DIR}/hostfiles/netns
      --launch-agent ${PROJECT_SOURCE_DIR}/scripts/netns-agent)
endif()

# cluster_netns_test(NAME [--matches M] EXPECT_REGEX LAUNCHER...): run LAUNCHER inside the first
# of three namespace hosts; pass if it exits 0, prints M lines (default 1) matching
# EXPECT_REGEX, and its output names all three hosts (host=NAME per rank, or a
# hosts=NAME,NAME,NAME list). The options are those of cluster/run-on-netns-hosts.sh.
function(cluster_netns_test name)
  cluster_test(netns.${name} 180 ${cluster_dir}/run-on-netns-hosts.sh ${ARGN})
endfunction()

# --- The tests ----------------------------------------------------------------------------
# mpirun accepts every hostfile; on hostfiles/localhost it really runs.
cluster_test(hostfile.localhost 120 ${cluster_dir}/check-hostfile.sh
             ${PROJECT_SOURCE_DIR}/hostfiles/localhost $<TARGET_FILE:mpi_hostname>)
cluster_test(hostfile.cluster_example 60 ${cluster_dir}/check-hostfile.sh
             ${PROJECT_SOURCE_DIR}/hostfiles/cluster.example)
cluster_test(hostfile.netns 60 ${cluster_dir}/check-hostfile.sh
             ${PROJECT_SOURCE_DIR}/hostfiles/netns)

# A local Slurm runs every slurm/*.sbatch whose program is built, and the test jobs in
# cluster/jobs/, and each prints its "# hilo-expect:" lines.
cluster_test(slurm 300 ${cluster_dir}/run-slurm-jobs.sh)

# Two Slurm nodes in two namespace hosts: the test jobs span both (--nodes=2).
file(GLOB cluster_test_jobs CONFIGURE_DEPENDS ${cluster_dir}/jobs/*.sbatch)
cluster_test(slurm_two_nodes 300 ${cluster_dir}/run-slurm-jobs.sh --netns ${cluster_test_jobs})

# MPI across three namespace hosts.
cluster_netns_test(mpi_hostname.mpirun --matches 6 "^mpi_hostname: OK rank=[0-5] size=6 "
                   ${HILO_NETNS_MPIRUN} -n 6 $<TARGET_FILE:mpi_hostname>)

cluster_netns_test(hilo_hostname.mpirun --matches 6 "^hilo_hostname: OK rank=[0-5] size=6 .*backend=mpi"
                   ${HILO_NETNS_MPIRUN} -n 6 $<TARGET_FILE:hilo_hostname>)

# hilorun across the same hosts, through the same agent, once hilorun and the TCP backend its
# ranks use are both in the tree.
if(HILO_NETNS_HILORUN)
  cluster_netns_test(hilo_hostname.hilorun --matches 6 "^hilo_hostname: OK rank=[0-5] size=6 .*backend=tcp"
                     ${HILO_NETNS_HILORUN} -n 6 $<TARGET_FILE:hilo_hostname>)
  # -N and --bind-to on real (namespace) hosts: one rank per host, each bound by the
  # `hilorun --remote-exec` of its host to that host's first core, and reported from there.
  cluster_netns_test(hilo_hostname.hilorun_bound --matches 3
                     "^\\[hilo-h[1-3]:[0-9]+\\] rank [0-2] bound to core 0 \\(socket [0-9]+\\): cpus [0-9,-]+$"
                     ${HILO_NETNS_HILORUN} -N 1 --bind-to core --report-bindings
                     $<TARGET_FILE:hilo_hostname>)
endif()

# The examples parallel_sum, bounded_connections, barrier and sample_sort across the three hosts,
# with both launchers: each prints its OK line once (rank 0) with hosts=hilo-h1,hilo-h2,hilo-h3.
# Their Slurm jobs (slurm/*.sbatch) are run by the slurm test on one node, and here on the two-node
# Slurm, where each job spans both hosts.
if(HILO_BUILD_EXAMPLES)
  file(GLOB example_jobs CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/slurm/*.sbatch)
  cluster_test(slurm_two_nodes.examples 300 ${cluster_dir}/run-slurm-jobs.sh --netns ${example_jobs})
  foreach(example parallel_sum bounded_connections barrier sample_sort)
    cluster_netns_test(${example}.mpirun "^${example}: OK "
                       ${HILO_NETNS_MPIRUN} -n 6 $<TARGET_FILE:${example}>)
    if(HILO_NETNS_HILORUN)
      cluster_netns_test(${example}.hilorun "^${example}: OK "
                         ${HILO_NETNS_HILORUN} -n 6 $<TARGET_FILE:${example}>)
    endif()
  endforeach()
endif()

# The launchers' default agent, real ssh: cluster/run-over-ssh.sh starts an sshd (Debian's
# openssh-server) in hilo-h2 and hilo-h3 with a key pair, known_hosts and client config of its
# own, and runs the launcher inside hilo-h1 with no agent option, so it runs plain `ssh`. The
# argument {hostfile} is replaced by the hostfile of hilo-h2 and hilo-h3. mpirun's TCP traffic
# is kept on the hosts' eth0 (their 10.77.0.x addresses).
function(cluster_ssh_test name)
  cluster_test(ssh.${name} 180 ${cluster_dir}/run-over-ssh.sh ${ARGN})
endfunction()
set(HILO_SSH_MPIRUN
    mpirun --hostfile {hostfile} --mca btl tcp,self --mca btl_tcp_if_include eth0
    --mca oob_tcp_if_include eth0)
cluster_ssh_test(hilo_hostname.mpirun "^hilo_hostname: OK rank=3 size=4 host=hilo-h3 backend=mpi"
                 ${HILO_SSH_MPIRUN} -n 4 $<TARGET_FILE:hilo_hostname>)
if(HILO_NETNS_HILORUN)
  cluster_ssh_test(hilo_hostname.hilorun "^hilo_hostname: OK rank=3 size=4 host=hilo-h3 backend=tcp"
                   $<TARGET_FILE:hilorun> --hostfile {hostfile} -n 4 $<TARGET_FILE:hilo_hostname>)
endif()
if(HILO_BUILD_EXAMPLES)
  cluster_ssh_test(parallel_sum.mpirun "^parallel_sum: OK .* ranks=4 .*hosts=hilo-h2,hilo-h3 "
                   ${HILO_SSH_MPIRUN} -n 4 $<TARGET_FILE:parallel_sum> --n 100000000)
  if(HILO_NETNS_HILORUN)
    cluster_ssh_test(parallel_sum.hilorun "^parallel_sum: OK .* ranks=4 .*hosts=hilo-h2,hilo-h3 "
                     $<TARGET_FILE:hilorun> --hostfile {hostfile} -n 4 $<TARGET_FILE:parallel_sum>
                     --n 100000000)
  endif()
  cluster_ssh_test(sample_sort.mpirun "^sample_sort: OK keys=1000000 ranks=4 hosts=hilo-h2,hilo-h3 "
                   ${HILO_SSH_MPIRUN} -n 4 $<TARGET_FILE:sample_sort> --n 1000000)
  if(HILO_NETNS_HILORUN)
    cluster_ssh_test(sample_sort.hilorun "^sample_sort: OK keys=1000000 ranks=4 hosts=hilo-h2,hilo-h3 "
                     $<TARGET_FILE:hilorun> --hostfile {hostfile} -n 4 $<TARGET_FILE:sample_sort>
                     --n 1000000)
  endif()
endif()
