# cmake --install gives a package an outside project can find_package(hilo) and link.
if(NOT HILO_SANITIZER)
  add_test(NAME integration.install.find_package
           COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/install/check_install.sh ${PROJECT_BINARY_DIR}
                   ${CMAKE_CURRENT_SOURCE_DIR}/install/consumer)
  set_tests_properties(integration.install.find_package PROPERTIES LABELS integration TIMEOUT 300
                       PASS_REGULAR_EXPRESSION "consumer: OK")
endif()
