// hilo's version: the macros of the generated hilo/version.hpp agree with each other and with
// hilo::version(), the version compiled into the library. (integration.install.* check both
// against project(hilo VERSION ...) from outside projects.)
#include "hilo/version.hpp"

#include <string>

#include "catch.hpp"

TEST_CASE("HILO_VERSION_STRING is MAJOR.MINOR.PATCH of the version macros") {
  const std::string expected = std::to_string(HILO_VERSION_MAJOR) + "." +
                               std::to_string(HILO_VERSION_MINOR) + "." +
                               std::to_string(HILO_VERSION_PATCH);
  CHECK(std::string(HILO_VERSION_STRING) == expected);
}

TEST_CASE("hilo::version() is the version of the headers this test was compiled against") {
  CHECK(hilo::version() == HILO_VERSION_STRING);
}
