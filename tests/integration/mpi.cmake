# The mpi backend inside real MPI jobs: interop with a plain C MPI program, and a job-wide abort
# when one rank lets an exception escape.
if(HILO_WITH_MPI AND NOT HILO_SANITIZER)
  find_program(MPIRUN NAMES mpirun REQUIRED)
  set(mpi_test_env "OMPI_ALLOW_RUN_AS_ROOT=1" "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1")

  add_executable(interop_peer mpi/interop_peer.c)
  target_link_libraries(interop_peer PRIVATE MPI::MPI_C)
  add_executable(interop_hilo mpi/interop_hilo.cpp)
  target_link_libraries(interop_hilo PRIVATE hilo::hilo)
  # Until hilo::Communicator has issue 19's calls, interop_hilo drives the mpi backend's
  # transport (an internal header) instead.
  target_include_directories(interop_hilo PRIVATE ${PROJECT_SOURCE_DIR}/runtime/src)
  # Point to point with rank 1, then collectives and sendrecv with both hilo ranks. Every process
  # checks what it received and exits non-zero (or prints FAILED) on a wrong value, so the exit
  # code decides; ctest's TIMEOUT catches a collective a side did not join.
  add_test(NAME integration.mpi.interop_with_c
           COMMAND ${MPIRUN} --oversubscribe -n 1 $<TARGET_FILE:interop_peer> : -n 2 $<TARGET_FILE:interop_hilo>)
  set_tests_properties(integration.mpi.interop_with_c PROPERTIES LABELS "integration;mpi" TIMEOUT 60
    ENVIRONMENT "${mpi_test_env}" RESOURCE_LOCK mpirun
    FAIL_REGULAR_EXPRESSION "FAILED")

  # split and dup with one rank not taking part end in hilo::Timeout on the others under
  # HILO_TIMEOUT, not in a hang inside MPI_Comm_split/MPI_Comm_dup (the ctest TIMEOUT catches one).
  add_executable(collective_timeout mpi/collective_timeout.cpp)
  target_link_libraries(collective_timeout PRIVATE hilo::hilo)
  foreach(mode split dup)
    add_test(NAME integration.mpi.${mode}_times_out_without_a_rank
             COMMAND ${MPIRUN} --oversubscribe -n 3 -x HILO_TIMEOUT
                     $<TARGET_FILE:collective_timeout> ${mode})
    set_tests_properties(integration.mpi.${mode}_times_out_without_a_rank PROPERTIES
      LABELS "integration;mpi" TIMEOUT 60 RESOURCE_LOCK mpirun
      ENVIRONMENT "${mpi_test_env};HILO_TIMEOUT=1"
      PASS_REGULAR_EXPRESSION "collective_timeout ${mode}: OK" FAIL_REGULAR_EXPRESSION "FAILED")
  endforeach()

  # Under mpirun a hilo::Timeout's message lists the rank's pending operations with their call
  # sites: three ranks each waiting to receive from the next (a cycle) all time out and say so.
  add_executable(timeout_report mpi/timeout_report.cpp)
  target_link_libraries(timeout_report PRIVATE hilo::hilo)
  add_test(NAME integration.mpi.timeout_lists_pending_operations
           COMMAND ${MPIRUN} --oversubscribe -n 3 -x HILO_TIMEOUT $<TARGET_FILE:timeout_report>)
  set_tests_properties(integration.mpi.timeout_lists_pending_operations PROPERTIES
    LABELS "integration;mpi" TIMEOUT 60 RESOURCE_LOCK mpirun
    ENVIRONMENT "${mpi_test_env};HILO_TIMEOUT=1"
    PASS_REGULAR_EXPRESSION "timeout_report: OK" FAIL_REGULAR_EXPRESSION "FAILED")

  # HILO_CHECK=collectives: three ranks, rank 2 in another collective than ranks 0 and 1; every
  # rank must raise hilo::CollectiveMismatch with the exact message (naming both calls and their
  # lines), and rank 0 prints OK only if all did. Without the check the same program hangs in
  # MPI or returns wrong values (the scan lengths): HILO_TIMEOUT and the ctest TIMEOUT bound it.
  add_executable(collective_mismatch mpi/collective_mismatch.cpp)
  target_link_libraries(collective_mismatch PRIVATE hilo::hilo)
  foreach(scenario operation root type order scan_length exscan_length)
    add_test(NAME integration.mpi.collective_mismatch.${scenario}
             COMMAND ${MPIRUN} --oversubscribe -n 3 -x HILO_CHECK -x HILO_TIMEOUT
                     $<TARGET_FILE:collective_mismatch> ${scenario})
    set_tests_properties(integration.mpi.collective_mismatch.${scenario} PROPERTIES
      LABELS "integration;mpi" TIMEOUT 60 RESOURCE_LOCK mpirun
      ENVIRONMENT "${mpi_test_env};HILO_CHECK=collectives;HILO_TIMEOUT=20"
      PASS_REGULAR_EXPRESSION "collective_mismatch ${scenario}: OK" FAIL_REGULAR_EXPRESSION "FAILED")
  endforeach()
  # A HILO_CHECK value that is not a check: the Runtime refuses it, naming the variable.
  add_test(NAME integration.mpi.collective_mismatch.bad_check_value
           COMMAND $<TARGET_FILE:collective_mismatch> bad_check)
  set_tests_properties(integration.mpi.collective_mismatch.bad_check_value PROPERTIES
    LABELS "integration;mpi" TIMEOUT 30 ENVIRONMENT "HILO_CHECK=bogus"
    PASS_REGULAR_EXPRESSION "collective_mismatch bad_check: OK" FAIL_REGULAR_EXPRESSION "FAILED")

  add_executable(native_interop mpi/native_interop.cpp)
  target_link_libraries(native_interop PRIVATE hilo::hilo)
  add_test(NAME integration.mpi.native_interop
           COMMAND ${MPIRUN} --oversubscribe -n 3 $<TARGET_FILE:native_interop>)
  set_tests_properties(integration.mpi.native_interop PROPERTIES LABELS "integration;mpi" TIMEOUT 60 RESOURCE_LOCK mpirun
    ENVIRONMENT "${mpi_test_env}"
    FAIL_REGULAR_EXPRESSION "FAILED")

  add_executable(throwing_rank mpi/throwing_rank.cpp)
  target_link_libraries(throwing_rank PRIVATE hilo::hilo)
  add_test(NAME integration.mpi.exception_aborts_job
           COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/mpi/check_abort.sh ${MPIRUN} $<TARGET_FILE:throwing_rank>)
  set_tests_properties(integration.mpi.exception_aborts_job PROPERTIES LABELS "integration;mpi" TIMEOUT 90
    ENVIRONMENT "${mpi_test_env}")
endif()
