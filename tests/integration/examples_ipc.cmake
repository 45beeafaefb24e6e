# The ipc examples run as users run them: shm_writer with the Python reader, and pipe_log.
# They need the example executables, which sanitizer trees do not build.
if(HILO_BUILD_EXAMPLES AND HILO_SANITIZER STREQUAL "")
  set(ipc_dir ${CMAKE_CURRENT_SOURCE_DIR}/ipc)
  set(examples_dir ${PROJECT_SOURCE_DIR}/examples)

  add_test(NAME integration.ipc.shared_memory_python_reader
           COMMAND ${Python3_EXECUTABLE} ${ipc_dir}/shared_memory_roundtrip.py
                   $<TARGET_FILE:shm_writer> ${examples_dir}/shared_memory/reader.py)
  add_test(NAME integration.ipc.pipe_log
           COMMAND ${Python3_EXECUTABLE} ${ipc_dir}/pipe_log_line.py $<TARGET_FILE:pipe_log>)
  set_tests_properties(integration.ipc.shared_memory_python_reader integration.ipc.pipe_log
                       PROPERTIES LABELS integration TIMEOUT 120)
endif()
