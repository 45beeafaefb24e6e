# Installs headers, the library and a CMake package, so that an outside project can
#   find_package(hilo REQUIRED)  and  target_link_libraries(app PRIVATE hilo::hilo)
include(CMakePackageConfigHelpers)

install(TARGETS hilo EXPORT hiloTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/runtime/include/hilo
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT hiloTargets NAMESPACE hilo:: FILE hiloTargets.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/hilo)

configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/hiloConfig.cmake.in
  ${PROJECT_BINARY_DIR}/hiloConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/hilo)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/hiloConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/hiloConfig.cmake ${PROJECT_BINARY_DIR}/hiloConfigVersion.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/hilo)
