# hilorun's integration tests: tests/integration/launch/hilorun_test.py runs one case per ctest
# test (integration.hilorun.<case>) against the real hilorun, a probe rank program and a fake
# launch agent that stands in for ssh.
if(NOT TARGET hilorun)
  return()
endif()

add_executable(launch_probe ${CMAKE_CURRENT_LIST_DIR}/launch/launch_probe.cpp)
target_link_libraries(launch_probe PRIVATE hilo::hilo)
target_include_directories(launch_probe PRIVATE ${PROJECT_SOURCE_DIR}/runtime/src)

set(hilorun_cases
  all_ranks_succeed rank_exit_status rank_killed_by_signal stubborn_rank_killed output_forwarding output_tagged
  sigterm_forwarded sigint_forwarded job_timeout hilorun_killed environment_contract rendezvous
  rendezvous_64_ranks rendezvous_rejects_intruders first_failure_named
  bad_hostfile hostfile_text bad_command_line agent_environment agent_rendezvous agent_rank_fails
  agent_sigint_forwarded agent_hilorun_killed
  bind_to_core bind_default bind_within_allowed_cpus agent_binding map_by_and_npernode
  output_filename)
foreach(case IN LISTS hilorun_cases)
  add_test(NAME integration.hilorun.${case}
           COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/launch/hilorun_test.py
                   --hilorun $<TARGET_FILE:hilorun> --probe $<TARGET_FILE:launch_probe>
                   --agent ${CMAKE_CURRENT_LIST_DIR}/launch/fake_agent.sh ${case})
  set_tests_properties(integration.hilorun.${case} PROPERTIES LABELS integration TIMEOUT 90)
endforeach()

# The wait-for report (integration.hilorun.wait_for.<case>): tests/integration/launch/
# wait_for_test.py runs hang_probe jobs that hang in known ways and checks what hilorun says.
add_executable(hang_probe ${CMAKE_CURRENT_LIST_DIR}/launch/hang_probe.cpp)
target_link_libraries(hang_probe PRIVATE hilo::hilo)
set(wait_for_cases cycle2_timeout cycle3_timeout cycle2_sigquit cycle3_sigquit cycle2_rank_timeout
    irecv_cycle2_rank_timeout waits_for_exited)
foreach(case IN LISTS wait_for_cases)
  add_test(NAME integration.hilorun.wait_for.${case}
           COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/launch/wait_for_test.py
                   --hilorun $<TARGET_FILE:hilorun> --probe $<TARGET_FILE:hang_probe> ${case})
  set_tests_properties(integration.hilorun.wait_for.${case} PROPERTIES LABELS integration
                       TIMEOUT 90)
endforeach()
