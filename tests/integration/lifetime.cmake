# Requests and communicators that outlive the hilo::Runtime they came from, destroyed after it
# has ended: over every backend the program must end cleanly. (Open MPI aborts the whole job
# when MPI is called after MPI_Finalize, which the mpi backend's operations used to do.)
add_executable(requests_outlive_runtime ${CMAKE_CURRENT_LIST_DIR}/lifetime/requests_outlive_runtime.cpp)
target_link_libraries(requests_outlive_runtime PRIVATE hilo::hilo)
set(lifetime_failure "after MPI_FINALIZE|Segmentation|terminate called")

add_test(NAME integration.lifetime.local COMMAND $<TARGET_FILE:requests_outlive_runtime>)
set_tests_properties(integration.lifetime.local PROPERTIES LABELS integration TIMEOUT 60
                     FAIL_REGULAR_EXPRESSION "${lifetime_failure}")
if(HILO_WITH_MPI)
  find_program(MPIRUN NAMES mpirun REQUIRED)
  foreach(threads multiple single)
    add_test(NAME integration.lifetime.mpi_threads_${threads}
             COMMAND ${MPIRUN} --oversubscribe -n 2 -x HILO_MPI_THREADS
                     $<TARGET_FILE:requests_outlive_runtime>)
    set_tests_properties(integration.lifetime.mpi_threads_${threads} PROPERTIES
                         LABELS "integration;mpi" TIMEOUT 60 RESOURCE_LOCK mpirun
                         FAIL_REGULAR_EXPRESSION "${lifetime_failure}"
                         ENVIRONMENT "OMPI_ALLOW_RUN_AS_ROOT=1;OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1;HILO_MPI_THREADS=${threads}")
  endforeach()
endif()
if(TARGET hilorun)
  add_test(NAME integration.lifetime.tcp
           COMMAND $<TARGET_FILE:hilorun> -n 2 $<TARGET_FILE:requests_outlive_runtime>)
  set_tests_properties(integration.lifetime.tcp PROPERTIES LABELS "integration;tcp" TIMEOUT 60
                       FAIL_REGULAR_EXPRESSION "${lifetime_failure}")
endif()
