# The TCP backend's integration tests: tests/integration/tcp/tcp_test.py runs one case per ctest
# test (integration.tcp.<case>) through the real hilorun with the probe rank program tcp_probe.
if(NOT TARGET hilorun)
  return()
endif()

add_executable(tcp_probe ${CMAKE_CURRENT_LIST_DIR}/tcp/tcp_probe.cpp)
target_link_libraries(tcp_probe PRIVATE hilo::hilo)

set(tcp_cases
  kill_during_recv kill_during_allreduce kill_during_alltoall kill_during_rendezvous stalled_peer
  stalled_large_send_single_copy stalled_large_send_socket bad_input strangers_during_setup soak
  scale srun_mode srun_derived_port single_rank_tcp network_choice pingpong backend_contradicts_hilorun
  shm_private)
foreach(case IN LISTS tcp_cases)
  add_test(NAME integration.tcp.${case}
           COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/tcp/tcp_test.py
                   --hilorun $<TARGET_FILE:hilorun> --probe $<TARGET_FILE:tcp_probe> ${case})
  set_tests_properties(integration.tcp.${case} PROPERTIES LABELS integration TIMEOUT 120)
endforeach()

# The failure cases again with the shared-memory rings off (HILO_TCP_SHM=off), so that ranks of
# one host talk through their sockets as ranks of different hosts do: a killed peer is
# PeerLost, a stopped one Timeout, and the soak's order and contents hold either way.
foreach(case kill_during_recv kill_during_allreduce stalled_peer stalled_large_send_single_copy
             stalled_large_send_socket soak)
  add_test(NAME integration.tcp.shm_off.${case}
           COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/tcp/tcp_test.py
                   --hilorun $<TARGET_FILE:hilorun> --probe $<TARGET_FILE:tcp_probe> ${case})
  set_tests_properties(integration.tcp.shm_off.${case} PROPERTIES LABELS integration TIMEOUT 120
                       ENVIRONMENT "HILO_TCP_SHM=off")
endforeach()

# Mismatched collectives found from the frames' stamps (tcp/collective_mismatch.cpp): both ranks
# raise hilo::CollectiveMismatch with the exact message, at once (each call is limited to 10 s,
# far below HILO_TIMEOUT), with the shared-memory rings on (ranks of one host) and off (sockets).
add_executable(tcp_collective_mismatch ${CMAKE_CURRENT_LIST_DIR}/tcp/collective_mismatch.cpp)
target_link_libraries(tcp_collective_mismatch PRIVATE hilo::hilo)
foreach(scenario operation root type order)
  foreach(rings on off)
    set(name integration.hilorun.collective_mismatch.${scenario})
    if(rings STREQUAL "off")
      set(name integration.hilorun.collective_mismatch.shm_off.${scenario})
    endif()
    add_test(NAME ${name} COMMAND $<TARGET_FILE:hilorun> -n 2
                                  $<TARGET_FILE:tcp_collective_mismatch> ${scenario})
    set_tests_properties(${name} PROPERTIES LABELS integration TIMEOUT 60
      ENVIRONMENT "HILO_TIMEOUT=60;HILO_TCP_SHM=${rings}"
      PASS_REGULAR_EXPRESSION "collective_mismatch ${scenario}: OK"
      FAIL_REGULAR_EXPRESSION "FAILED")
  endforeach()
endforeach()

# HILO_BACKEND=tcp or local under mpirun must fail, naming both, not run one-rank jobs.
if(HILO_WITH_MPI)
  find_program(MPIRUN NAMES mpirun REQUIRED)
  add_test(NAME integration.tcp.backend_contradicts_mpirun
           COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/tcp/tcp_test.py
                   --hilorun $<TARGET_FILE:hilorun> --probe $<TARGET_FILE:tcp_probe>
                   --mpirun ${MPIRUN} backend_contradicts_mpirun)
  set_tests_properties(integration.tcp.backend_contradicts_mpirun PROPERTIES
    LABELS "integration;mpi" TIMEOUT 120 RESOURCE_LOCK mpirun
    ENVIRONMENT "OMPI_ALLOW_RUN_AS_ROOT=1;OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1")
endif()
