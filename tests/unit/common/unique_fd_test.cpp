// The self-closing file descriptor (runtime/src/common/unique_fd.hpp).
#include "common/unique_fd.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

#include "catch.hpp"

using hilo::common::UniqueFd;

namespace {
bool is_open(int fd) {
  return ::fcntl(fd, F_GETFD) != -1 || errno != EBADF;
}
}  // namespace

TEST_CASE("unique fd: closes its descriptor when it goes, and only then") {
  int ends[2];
  REQUIRE(::pipe(ends) == 0);
  ::close(ends[1]);
  {
    UniqueFd fd(ends[0]);
    CHECK(fd.valid());
    CHECK(fd.get() == ends[0]);
    CHECK(is_open(ends[0]));
  }
  CHECK_FALSE(is_open(ends[0]));
}

TEST_CASE("unique fd: a move hands the descriptor over, release gives it up") {
  int ends[2];
  REQUIRE(::pipe(ends) == 0);
  UniqueFd read_end(ends[0]);
  UniqueFd write_end(ends[1]);
  UniqueFd moved(std::move(read_end));
  CHECK_FALSE(read_end.valid());
  CHECK(moved.get() == ends[0]);
  CHECK(is_open(ends[0]));

  const int raw = write_end.release();
  CHECK_FALSE(write_end);
  CHECK(is_open(raw));
  ::close(raw);

  moved.reset();
  CHECK_FALSE(moved.valid());
  CHECK_FALSE(is_open(ends[0]));
}
