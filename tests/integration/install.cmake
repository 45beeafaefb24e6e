# An installed hilo works for outside projects, both with CMake (find_package(hilo), hilo::hilo)
# and with a Makefile (pkg-config --cflags --libs hilo): once installed with `cmake --install`
# into a scratch prefix, and once packaged with `cpack -G DEB` and unpacked into a scratch root.
# Both run a consumer under the installed hilorun. The lock keeps the tests that install from or
# build in this build tree (cpack first brings the tree up to date) from doing so at once.
if(NOT HILO_SANITIZER AND TARGET hilorun)
  add_test(NAME integration.install.cmake_install
           COMMAND ${CMAKE_CURRENT_LIST_DIR}/install/check_install.sh ${PROJECT_BINARY_DIR}
                   ${PROJECT_VERSION})
  set_tests_properties(integration.install.cmake_install PROPERTIES LABELS integration
                       TIMEOUT 300 RESOURCE_LOCK hilo_build_tree)
  if(HILO_WITH_MPI)  # the .deb's Depends names Open MPI
    add_test(NAME integration.install.deb
             COMMAND ${CMAKE_CURRENT_LIST_DIR}/install/check_deb.sh ${PROJECT_BINARY_DIR}
                     ${PROJECT_VERSION})
    set_tests_properties(integration.install.deb PROPERTIES LABELS integration TIMEOUT 300
                         RESOURCE_LOCK hilo_build_tree)
  endif()
endif()
