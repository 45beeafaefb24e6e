// hilo's exception types: the hierarchy callers rely on (catch hilo::Error for anything hilo
// reports) and the details PeerLost carries.
#include "hilo/errors.hpp"

#include <stdexcept>
#include <string>
#include <type_traits>

#include "catch.hpp"

TEST_CASE("every hilo exception is a hilo::Error and a std::runtime_error") {
  STATIC_REQUIRE(std::is_base_of_v<std::runtime_error, hilo::Error>);
  STATIC_REQUIRE(std::is_base_of_v<hilo::Error, hilo::Timeout>);
  STATIC_REQUIRE(std::is_base_of_v<hilo::Error, hilo::PeerLost>);
}

TEST_CASE("a hilo::Timeout is caught as hilo::Error with its message intact") {
  try {
    throw hilo::Timeout("barrier timed out with 1 of 2 arrived");
  } catch (const hilo::Error& error) {
    CHECK(std::string(error.what()) == "barrier timed out with 1 of 2 arrived");
    CHECK(dynamic_cast<const hilo::Timeout*>(&error) != nullptr);
    CHECK(dynamic_cast<const hilo::PeerLost*>(&error) == nullptr);
  }
}

TEST_CASE("hilo::PeerLost names the rank and host that went away") {
  const hilo::PeerLost lost("rank 3 on node7 closed its connection", 3, "node7");
  CHECK(lost.rank() == 3);
  CHECK(lost.host() == "node7");
  CHECK(std::string(lost.what()) == "rank 3 on node7 closed its connection");

  bool caught_as_runtime_error = false;
  try {
    throw lost;
  } catch (const std::runtime_error& error) {
    caught_as_runtime_error = std::string(error.what()).find("node7") != std::string::npos;
  }
  CHECK(caught_as_runtime_error);
}
