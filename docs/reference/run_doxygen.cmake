# Runs Doxygen on the configured Doxyfile and reports its warnings, each as file:line: text.
#   cmake -DDOXYGEN=<doxygen> -DDOXYFILE=<Doxyfile> -DOUTPUT_DIR=<dir> -DSTRICT=ON|OFF \
#         -P run_doxygen.cmake
# STRICT=ON (the test docs.reference) fails on any warning, and when the HTML lacks its index or
# hilo::Communicator's page; STRICT=OFF (the docs target) prints the warnings and succeeds.
if(NOT DOXYGEN OR NOT EXISTS "${DOXYGEN}")
  message(FATAL_ERROR "docs: doxygen was not found when configuring; install the doxygen package "
                      "(scripts/setup does) and re-run cmake")
endif()
if(NOT DOXYFILE OR NOT OUTPUT_DIR)
  message(FATAL_ERROR "run_doxygen.cmake: pass -DDOXYFILE=... and -DOUTPUT_DIR=...")
endif()

# The Doxyfile sends warnings to this log (WARN_LOGFILE); start from nothing on every run.
set(log ${OUTPUT_DIR}/warnings.log)
file(REMOVE ${log})
file(REMOVE_RECURSE ${OUTPUT_DIR}/html)
execute_process(COMMAND ${DOXYGEN} ${DOXYFILE} WORKING_DIRECTORY ${OUTPUT_DIR}
                RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "docs: doxygen failed (exit ${status}):\n${out}${err}")
endif()

set(warnings "")
if(EXISTS ${log})
  file(READ ${log} warnings)
  string(STRIP "${warnings}" warnings)
endif()
if(NOT warnings STREQUAL "")
  string(REGEX MATCHALL ":[0-9]+: warning:" found "${warnings}")
  list(LENGTH found count)
  # Printed as Doxygen wrote them (message() would re-wrap the lines).
  execute_process(COMMAND ${CMAKE_COMMAND} -E cat ${log})
  set(report "docs: ${count} Doxygen warning(s) above, each at the file:line to document")
  if(STRICT)
    message(FATAL_ERROR "${report}")
  endif()
  message(WARNING "${report}")
endif()

foreach(page index.html classhilo_1_1Communicator.html)
  if(NOT EXISTS ${OUTPUT_DIR}/html/${page})
    message(FATAL_ERROR "docs: doxygen ran but did not write ${OUTPUT_DIR}/html/${page}")
  endif()
endforeach()
message(STATUS "docs: API reference at ${OUTPUT_DIR}/html/index.html")
