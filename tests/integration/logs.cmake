# HILO_LOG's integration tests: tests/integration/logs/logs_test.py runs one case per ctest test
# (integration.logs.<case>) with the rank program log_probe, at each level on each backend: with
# no launcher (local), under hilorun (tcp) and under mpirun (mpi); hilo::run_local's threads; a
# bad value; and a lost rank.
add_executable(log_probe ${CMAKE_CURRENT_LIST_DIR}/logs/log_probe.cpp)
target_link_libraries(log_probe PRIVATE hilo::hilo)

set(log_levels error warn info debug default)
set(logs_test ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/logs/logs_test.py
    --probe $<TARGET_FILE:log_probe>)

foreach(level IN LISTS log_levels)
  add_test(NAME integration.logs.local_${level} COMMAND ${logs_test} local_${level})
  set_tests_properties(integration.logs.local_${level} PROPERTIES LABELS integration TIMEOUT 90)
endforeach()
foreach(level IN ITEMS info debug)
  add_test(NAME integration.logs.threads_${level} COMMAND ${logs_test} threads_${level})
  set_tests_properties(integration.logs.threads_${level} PROPERTIES LABELS integration TIMEOUT 90)
endforeach()
add_test(NAME integration.logs.bad_value COMMAND ${logs_test} bad_value)
set_tests_properties(integration.logs.bad_value PROPERTIES LABELS integration TIMEOUT 90)

if(TARGET hilorun)
  foreach(case IN ITEMS tcp_error tcp_warn tcp_info tcp_debug tcp_default tcp_lost_warn
                        tcp_lost_error)
    add_test(NAME integration.logs.${case}
             COMMAND ${logs_test} --hilorun $<TARGET_FILE:hilorun> ${case})
    set_tests_properties(integration.logs.${case} PROPERTIES LABELS integration TIMEOUT 90)
  endforeach()
endif()

if(HILO_WITH_MPI AND NOT HILO_SANITIZER)
  find_program(MPIRUN NAMES mpirun REQUIRED)
  foreach(level IN LISTS log_levels)
    add_test(NAME integration.logs.mpi_${level} COMMAND ${logs_test} --mpirun ${MPIRUN} mpi_${level})
    set_tests_properties(integration.logs.mpi_${level} PROPERTIES
      LABELS "integration;mpi" TIMEOUT 90 RESOURCE_LOCK mpirun
      ENVIRONMENT "OMPI_ALLOW_RUN_AS_ROOT=1;OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1")
  endforeach()
endif()
