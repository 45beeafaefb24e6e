// errno as text and as hilo::Error (runtime/src/common/system_error.hpp): one wording for ipc,
// launch, the tcp backend and hilorun.
#include "common/system_error.hpp"

#include <cerrno>
#include <string>

#include "catch.hpp"
#include "hilo/errors.hpp"

using namespace hilo;

TEST_CASE("system error: errno text gives the words and the number") {
  CHECK(common::errno_text(ENOENT) == "No such file or directory (errno 2)");
  CHECK(common::errno_message("open /nowhere", EACCES) ==
        "open /nowhere: Permission denied (errno 13)");
}

TEST_CASE("system error: throw_errno names the call and the current errno") {
  errno = ECONNREFUSED;
  try {
    common::throw_errno("connect to 127.0.0.1:1");
    FAIL("throw_errno returned");
  } catch (const Error& e) {
    CHECK(std::string(e.what()) == "connect to 127.0.0.1:1: " + common::errno_text(ECONNREFUSED));
  }
}
