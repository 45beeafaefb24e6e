# Distributed sync (hilo::DistributedSemaphore, hilo::DistributedMutex) with ranks as processes.
# Their checks (high-water mark <= k, no starvation, try_acquire_for timeouts) are conformance
# cases (tests/conformance/dsync.cpp), so every backend runs them; here: the cluster_semaphore
# example as users run it (mpirun, hilorun, three namespace hosts), a proof that its check can
# fail, and a holder killed with SIGKILL under hilorun (dsync/kill_holder.py with dsync_check).
# The unit tests cover the local backend.
# Sanitizer trees run only the unit tests: these need the release tree's examples and hilorun.
if(HILO_SANITIZER)
  return()
endif()

add_executable(dsync_check ${CMAKE_CURRENT_LIST_DIR}/dsync/dsync_check.cpp)
target_link_libraries(dsync_check PRIVATE hilo::hilo)

set(dsync_env "HILO_TIMEOUT=60" "OMPI_ALLOW_RUN_AS_ROOT=1" "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1")

if(HILO_WITH_MPI)
  find_program(MPIRUN NAMES mpirun REQUIRED)
  if(HILO_BUILD_EXAMPLES)
    add_test(NAME integration.dsync.cluster_semaphore.mpi
             COMMAND ${MPIRUN} --oversubscribe -n 4 $<TARGET_FILE:cluster_semaphore> 2 40 2)
    set_tests_properties(integration.dsync.cluster_semaphore.mpi PROPERTIES
      LABELS "integration;mpi" TIMEOUT 300 ENVIRONMENT "${dsync_env}" RESOURCE_LOCK mpirun
      PASS_REGULAR_EXPRESSION "cluster_semaphore: OK max_holders=[12] limit=2 ranks=4 acquisitions=320")
    # The proof can fail: without the semaphore the 8 users overlap and it reports it (exit 1).
    add_test(NAME integration.dsync.cluster_semaphore_detects_overlap.mpi
             COMMAND ${MPIRUN} --oversubscribe -n 4 $<TARGET_FILE:cluster_semaphore> 1 50 2
                     --without-semaphore)
    set_tests_properties(integration.dsync.cluster_semaphore_detects_overlap.mpi PROPERTIES
      LABELS "integration;mpi" TIMEOUT 300 ENVIRONMENT "${dsync_env}" RESOURCE_LOCK mpirun
      PASS_REGULAR_EXPRESSION "cluster_semaphore: VIOLATION max_holders=([2-9]|[1-9][0-9]) limit=1 ")
  endif()
endif()

# The example through hilorun and the tcp backend, and a holder killed with SIGKILL: the ranks
# queued behind it must get hilo::PeerLost, not hang.
if(TARGET hilorun)
  if(HILO_BUILD_EXAMPLES)
    add_test(NAME integration.dsync.cluster_semaphore.tcp
             COMMAND $<TARGET_FILE:hilorun> -n 4 $<TARGET_FILE:cluster_semaphore> 2 40 2)
    set_tests_properties(integration.dsync.cluster_semaphore.tcp PROPERTIES
      LABELS "integration;tcp" TIMEOUT 300 ENVIRONMENT "${dsync_env}"
      PASS_REGULAR_EXPRESSION "cluster_semaphore: OK max_holders=[12] limit=2 ranks=4 acquisitions=320")
  endif()
  add_test(NAME integration.dsync.kill_holder.tcp
           COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/dsync/kill_holder.py
                   $<TARGET_FILE:hilorun> $<TARGET_FILE:dsync_check>)
  # The coordinator stays alive (busy) through the kill: the waiters must notice on their own.
  add_test(NAME integration.dsync.kill_holder_busy_coordinator.tcp
           COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/dsync/kill_holder.py
                   $<TARGET_FILE:hilorun> $<TARGET_FILE:dsync_check> busy_coordinator)
  set_tests_properties(integration.dsync.kill_holder.tcp
                       integration.dsync.kill_holder_busy_coordinator.tcp PROPERTIES
    LABELS "integration;tcp" TIMEOUT 120)
endif()

# Across three network-namespace hosts (tests/integration/cluster.cmake's test bed), with both
# launchers: the licences are really shared between hosts.
if(HILO_BUILD_EXAMPLES AND COMMAND cluster_netns_test)
  cluster_netns_test(cluster_semaphore.mpirun "^cluster_semaphore: OK max_holders=[1-3] limit=3 ranks=6 acquisitions=300$"
                     ${HILO_NETNS_MPIRUN} -n 6 $<TARGET_FILE:cluster_semaphore> 3 25 2)
  if(HILO_NETNS_HILORUN AND TARGET hilorun)
    cluster_netns_test(cluster_semaphore.hilorun "^cluster_semaphore: OK max_holders=[1-3] limit=3 ranks=6 acquisitions=300$"
                       ${HILO_NETNS_HILORUN} -n 6 $<TARGET_FILE:cluster_semaphore> 3 25 2)
  endif()
endif()
