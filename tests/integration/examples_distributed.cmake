# The distributed examples (parallel_sum, bounded_connections, barrier, sample_sort), run as
# users run them: one process on its own, under mpirun (MPI backend) and under hilorun (TCP
# backend). Each test is integration.examples.<example>[.<variant>].<launcher> and is judged by
# its exit status and output (tests/integration/examples/check_run.py). Their multi-host runs
# are in cluster.cmake and their Slurm jobs in slurm/. They need the release tree's example
# executables.
if(NOT HILO_BUILD_EXAMPLES OR HILO_SANITIZER)
  return()
endif()

set(distributed_examples_dir ${CMAKE_CURRENT_LIST_DIR}/examples)
set(distributed_check_run ${Python3_EXECUTABLE} ${distributed_examples_dir}/check_run.py)
# No hilo call waits forever; mpirun as root needs Open MPI's consent.
set(distributed_examples_env HILO_TIMEOUT=60 OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1)

# distributed_example_test(NAME LAUNCHER CHECK_RUN_ARGS... -- PROGRAM ARGS...) registers
# integration.examples.NAME.LAUNCHER, where LAUNCHER is single (the program alone: one rank),
# mpirun or hilorun (4 ranks each); CHECK_RUN_ARGS are check_run.py's (--expect, --status, ...).
function(distributed_example_test name launcher)
  list(FIND ARGN -- split)
  list(SUBLIST ARGN 0 ${split} checks)
  math(EXPR after "${split} + 1")
  list(SUBLIST ARGN ${after} -1 program)
  set(env ${distributed_examples_env})
  if(launcher STREQUAL "single")
    set(prefix "")
  elseif(launcher STREQUAL "mpirun")
    if(NOT HILO_WITH_MPI)
      return()
    endif()
    find_program(MPIRUN NAMES mpirun REQUIRED)
    set(prefix ${MPIRUN} --oversubscribe -n 4)
    list(APPEND env HILO_BACKEND=mpi)
  elseif(launcher STREQUAL "hilorun")
    if(NOT TARGET hilorun)
      return()
    endif()
    set(prefix $<TARGET_FILE:hilorun> -n 4)
  else()
    message(FATAL_ERROR "distributed_example_test: unknown launcher '${launcher}'")
  endif()
  set(test integration.examples.${name}.${launcher})
  add_test(NAME ${test} COMMAND ${distributed_check_run} ${checks} -- ${prefix} ${program})
  set_tests_properties(${test} PROPERTIES LABELS integration TIMEOUT 180 ENVIRONMENT "${env}")
  if(launcher STREQUAL "mpirun")
    set_tests_properties(${test} PROPERTIES RESOURCE_LOCK mpirun)
  endif()
endfunction()

# --- parallel_sum: exact totals, the seed's list in input order, and bad arguments.
foreach(launcher single mpirun hilorun)
  distributed_example_test(parallel_sum ${launcher}
    --expect "^parallel_sum: OK total=5000000050000000 expected=5000000050000000 n=100000000 "
    -- $<TARGET_FILE:parallel_sum> --n 100000000)
  distributed_example_test(parallel_sum.list ${launcher}
    --expect "^\\[5000050000, 20000100000, 45000150000, 80000200000\\]$"
    --expect "^parallel_sum: OK values=4 "
    -- $<TARGET_FILE:parallel_sum> --list 100000,200000,300000,400000)
endforeach()
# What ./scripts/demo runs: the defaults, on 4 ranks of 2 threads.
distributed_example_test(parallel_sum.default hilorun
  --expect "^parallel_sum: OK total=500000000500000000 expected=500000000500000000 n=1000000000 ranks=4 threads=2 hosts=[^ ]+ seconds="
  -- $<TARGET_FILE:parallel_sum>)
# n(n+1)/2 past 2^64 (from n = 6074001000 on): still exact.
distributed_example_test(parallel_sum.past_64_bits mpirun
  --expect "^parallel_sum: OK total=24500000003500000000 expected=24500000003500000000 n=7000000000 ranks=4 threads=1 "
  -- $<TARGET_FILE:parallel_sum> --n 7000000000 --threads 1)
# More values than ranks: value i goes to rank i % 4, and the order still is the input's.
distributed_example_test(parallel_sum.long_list hilorun
  --expect "^\\[1, 3, 6, 10, 15, 21, 0, 55\\]$"
  -- $<TARGET_FILE:parallel_sum> --list 1,2,3,4,5,6,0,10)
# A bad argument: rank 0 says why before any rank exits (a launcher stops the job at the first
# rank that fails, so without the others waiting, hilorun could cut rank 0 off).
foreach(launcher single mpirun hilorun)
  distributed_example_test(parallel_sum.bad_argument ${launcher} --status 2
    --expect "^parallel_sum: --n needs a whole number from 1 to 1000000000000, not '-5'$"
    --reject "OK"
    -- $<TARGET_FILE:parallel_sum> --n -5)
endforeach()

# --- bounded_connections: never more than K inside; without the semaphore, more.
foreach(launcher single mpirun hilorun)
  distributed_example_test(bounded_connections ${launcher}
    --expect "^bounded_connections: service on 127\\.0\\.0\\.1:[0-9]+, at most 3 at once"
    --expect "^bounded_connections: OK max_concurrent=[1-3] limit=3 served=([0-9]+) requests=\\1 outside=0 rejected=0 dropped=0 "
    -- $<TARGET_FILE:bounded_connections>)
endforeach()
distributed_example_test(bounded_connections.limit_5 hilorun
  --expect "^bounded_connections: OK max_concurrent=[1-5] limit=5 served=64 requests=64 "
  -- $<TARGET_FILE:bounded_connections> --limit 5 --clients 4 --requests 4)
foreach(launcher single hilorun)
  distributed_example_test(bounded_connections.no_limit ${launcher}
    --expect "^bounded_connections: NO LIMIT max_concurrent=([4-9]|[1-9][0-9]+) limit=none "
    -- $<TARGET_FILE:bounded_connections> --no-limit)
endforeach()
# Outside clients in Python: client.py is welcomed; garbage, an over-long line, a mid-request
# disconnect and a silent client cost only their own connections.
add_test(NAME integration.examples.bounded_connections.python_clients.single
         COMMAND ${Python3_EXECUTABLE} ${distributed_examples_dir}/bounded_connections_clients.py
                 $<TARGET_FILE:bounded_connections>
                 ${PROJECT_SOURCE_DIR}/examples/bounded_connections/client.py)
set_tests_properties(integration.examples.bounded_connections.python_clients.single PROPERTIES
  LABELS integration TIMEOUT 120 ENVIRONMENT "${distributed_examples_env}")

# --- barrier: phases in order on every thread of every rank; the checks catch a cheat.
foreach(launcher single mpirun hilorun)
  distributed_example_test(barrier ${launcher}
    --expect "^barrier: OK ranks=[14] threads=4 phases=5 hosts=[^ ]+ clock_checks=4 violations=0$"
    --expect "^barrier: phase 4: all"
    -- $<TARGET_FILE:barrier>)
endforeach()
distributed_example_test(barrier.many_phases hilorun
  --expect "^barrier: OK ranks=4 threads=3 phases=40 "
  -- $<TARGET_FILE:barrier> --threads 3 --phases 40)
# The cheating thread usually starts phase 1 before the others finished phase 0, but on a
# loaded machine it may be scheduled late for that and caught only at a later phase.
foreach(launcher single mpirun)
  distributed_example_test(barrier.cheat ${launcher} --status 1
    --expect "started phase [0-9]+ when only [0-9]+ of its rank's 4 threads had finished phase"
    --expect "^barrier: FAILED "
    --reject "^barrier: OK"
    -- $<TARGET_FILE:barrier> --cheat)
endforeach()

# --- sample_sort: sorted across ranks and checked (count, checksum, boundaries), whatever N.
foreach(launcher single mpirun hilorun)
  distributed_example_test(sample_sort ${launcher}
    --expect "^sample_sort: OK keys=100000 ranks=[14] hosts=[^ ]+ seconds="
    --reject "FAILED"
    -- $<TARGET_FILE:sample_sort> --n 100000)
  # Not divisible by the 4 ranks: shares and buckets of uneven sizes.
  distributed_example_test(sample_sort.uneven ${launcher}
    --expect "^sample_sort: OK keys=1000003 ranks=[14] "
    -- $<TARGET_FILE:sample_sort> --n 1000003 --seed 7)
endforeach()
# Fewer keys than ranks: some ranks make no keys, offer no samples and get empty buckets.
foreach(launcher mpirun hilorun)
  distributed_example_test(sample_sort.fewer_keys_than_ranks ${launcher}
    --expect "^sample_sort: OK keys=3 ranks=4 "
    -- $<TARGET_FILE:sample_sort> --n 3)
endforeach()
# The defaults: 10^7 keys.
distributed_example_test(sample_sort.default hilorun
  --expect "^sample_sort: OK keys=10000000 ranks=4 hosts=[^ ]+ seconds="
  -- $<TARGET_FILE:sample_sort>)
foreach(launcher single mpirun hilorun)
  distributed_example_test(sample_sort.bad_argument ${launcher} --status 2
    --expect "^sample_sort: --seed needs a whole number from 0 to 18446744073709551615, not 'x'$"
    --reject "OK"
    -- $<TARGET_FILE:sample_sort> --seed x)
endforeach()
