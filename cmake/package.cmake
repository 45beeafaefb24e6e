# `cpack -G DEB` in a build tree makes a Debian package of what cmake/install.cmake installs:
# libhilo, its headers, the CMake package, hilo.pc and hilorun, under /usr.
set(HILO_PACKAGE_CONTACT "hilo maintainers <maintainers@hilo.invalid>"
    CACHE STRING "Maintainer of the packages cpack makes (Debian's Maintainer field)")

set(CPACK_PACKAGE_NAME hilo)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "${HILO_PACKAGE_CONTACT}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${PROJECT_DESCRIPTION}")
set(CPACK_PACKAGE_DESCRIPTION
    "Threads synchronised with mutex, semaphore and barrier; processes and hosts talking
through one typed hilo::Communicator over MPI (Open MPI) or hilo's own TCP sockets;
the hilorun launcher. Use it from CMake with find_package(hilo) or from a Makefile
with `pkg-config --cflags --libs hilo`.")
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)

set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION libdevel)
# The installed headers include <mpi.h> and Boost.Serialization's headers and libhilo.a needs
# their libraries at link time: the -dev packages. dpkg-shlibdeps adds what hilorun itself links
# (libc6, libstdc++6...).
set(CPACK_DEBIAN_PACKAGE_DEPENDS "libboost-serialization-dev")
if(HILO_WITH_MPI)
  string(APPEND CPACK_DEBIAN_PACKAGE_DEPENDS ", libopenmpi-dev")
endif()
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "g++, cmake, pkg-config")

include(CPack)
