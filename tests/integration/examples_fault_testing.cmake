# The fault_testing example's program (task_farm) run as users run it: alone, under mpirun and
# under hilorun. Its tests against faults are Catch2 tests of its own (examples/fault_testing,
# examples.fault_testing.task_farm). distributed_example_test is examples_distributed.cmake's,
# included before this file (the areas are included in name order).
if(NOT HILO_BUILD_EXAMPLES OR HILO_SANITIZER OR NOT COMMAND distributed_example_test)
  return()
endif()

foreach(launcher single mpirun hilorun)
  distributed_example_test(task_farm ${launcher}
    --expect "^task_farm: OK tasks=2000 sum=2668667000 expected=2668667000 ranks=[14]$"
    -- $<TARGET_FILE:task_farm> --tasks 2000)
endforeach()
distributed_example_test(task_farm.bad_tasks single --status 2
  --expect "--tasks needs a whole number from 1 to 1000000, not '0'"
  -- $<TARGET_FILE:task_farm> --tasks 0)
