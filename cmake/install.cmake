# Installs headers, the library, hilorun (runtime/tools/hilorun), a CMake package and a
# pkg-config file, so that an outside project can
#   find_package(hilo REQUIRED)  and  target_link_libraries(app PRIVATE hilo::hilo)
# or build with `pkg-config --cflags --libs hilo`.
include(CMakePackageConfigHelpers)

install(TARGETS hilo EXPORT hiloTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/runtime/include/hilo
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
        PATTERN "*.in" EXCLUDE)
install(FILES ${PROJECT_BINARY_DIR}/runtime/include/hilo/version.hpp
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/hilo)
install(EXPORT hiloTargets NAMESPACE hilo:: FILE hiloTargets.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/hilo)

configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/hiloConfig.cmake.in
  ${PROJECT_BINARY_DIR}/hiloConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/hilo)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/hiloConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/hiloConfig.cmake ${PROJECT_BINARY_DIR}/hiloConfigVersion.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/hilo)

# hilo.pc carries what hilo::hilo's usage requirements carry, for Makefile users: the public
# headers include Boost.Serialization's headers (and hilo/mpi.hpp <mpi.h>), and libhilo is a
# static library, so consumers need MPI's flags (Open MPI's C bindings: ompi-c), hilo's defines,
# Boost and pthread.
#
# Its prefix is written relative to where hilo.pc lies, so that an installed tree still works
# when moved or unpacked elsewhere (a .deb extracted into a scratch root, a cpack archive).
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}" OR IS_ABSOLUTE "${CMAKE_INSTALL_INCLUDEDIR}")
  set(HILO_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
  set(HILO_PC_LIBDIR "${CMAKE_INSTALL_FULL_LIBDIR}")
  set(HILO_PC_INCLUDEDIR "${CMAKE_INSTALL_FULL_INCLUDEDIR}")
else()
  file(RELATIVE_PATH up "/p/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/p")
  string(REGEX REPLACE "/$" "" up "${up}")
  set(HILO_PC_PREFIX "\${pcfiledir}/${up}")
  set(HILO_PC_LIBDIR "\${prefix}/${CMAKE_INSTALL_LIBDIR}")
  set(HILO_PC_INCLUDEDIR "\${prefix}/${CMAKE_INSTALL_INCLUDEDIR}")
endif()
# The defines are hilo::hilo's own public ones (HILO_WITH_MPI, Open MPI's OMPI_SKIP_MPICXX...).
get_target_property(pc_defines hilo INTERFACE_COMPILE_DEFINITIONS)
if(NOT pc_defines)
  set(pc_defines "")
endif()
list(TRANSFORM pc_defines PREPEND "-D")
list(JOIN pc_defines " " HILO_PC_DEFINES)
set(HILO_PC_REQUIRES "")
if(HILO_WITH_MPI)
  set(HILO_PC_REQUIRES "ompi-c")
endif()
configure_file(${PROJECT_SOURCE_DIR}/cmake/hilo.pc.in ${PROJECT_BINARY_DIR}/hilo.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/hilo.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
