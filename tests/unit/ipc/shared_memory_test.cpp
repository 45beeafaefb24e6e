#include "hilo/ipc/shared_memory.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>

#include "catch.hpp"
#include "fork_helpers.hpp"
#include "hilo/errors.hpp"

using hilo::ipc::SharedMemory;
using hilo_test::run_in_child;
using hilo_test::unique_segment_name;

namespace {

bool exists_in_dev_shm(const std::string& name) {
  return std::filesystem::exists("/dev/shm/" + name);
}

std::string message_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const std::exception& error) {
    return error.what();
  }
  return "(no exception)";
}

}  // namespace

TEST_CASE("create makes a zero-filled segment of the requested size under /dev/shm") {
  std::string name = unique_segment_name("create");
  SharedMemory segment = SharedMemory::create(name, 1000);
  CHECK(segment.size() == 1000);
  CHECK(segment.bytes().size() == 1000);
  CHECK(segment.name() == name);
  CHECK(segment.is_creator());
  CHECK(std::all_of(segment.bytes().begin(), segment.bytes().end(),
                    [](std::byte b) { return b == std::byte{0}; }));
  CHECK(exists_in_dev_shm(name));
  CHECK(std::filesystem::file_size("/dev/shm/" + name) == 1000);
}

TEST_CASE("a leading slash is accepted and dropped from name()") {
  std::string name = unique_segment_name("slash");
  SharedMemory segment = SharedMemory::create("/" + name, 64);
  CHECK(segment.name() == name);
  SharedMemory view = SharedMemory::open("/" + name);
  CHECK(view.name() == name);
  CHECK_FALSE(view.is_creator());
}

TEST_CASE("a forked child opens the segment by name and both see each other's writes") {
  std::string name = unique_segment_name("fork");
  SharedMemory segment = SharedMemory::create(name, 4096);
  std::memcpy(segment.bytes().data(), "from parent", 12);

  int child_result = run_in_child([&] {
    SharedMemory view = SharedMemory::open(name);
    if (view.size() != 4096 || view.is_creator()) return 2;
    if (std::memcmp(view.bytes().data(), "from parent", 12) != 0) return 3;
    std::memcpy(view.bytes().data() + 100, "from child", 11);
    return 0;
  });

  REQUIRE(child_result == 0);
  CHECK(std::memcmp(segment.bytes().data() + 100, "from child", 11) == 0);
  // The opener in the child went away without unlinking the name.
  CHECK(exists_in_dev_shm(name));
}

TEST_CASE("only the creator unlinks the name; openers keep their mapping") {
  std::string name = unique_segment_name("unlink");
  std::optional<SharedMemory> creator = SharedMemory::create(name, 128);
  { SharedMemory opener = SharedMemory::open(name); }
  CHECK(exists_in_dev_shm(name));

  SharedMemory survivor = SharedMemory::open(name);
  creator->bytes()[5] = std::byte{42};
  creator.reset();
  CHECK_FALSE(exists_in_dev_shm(name));
  CHECK_THROWS_AS(SharedMemory::open(name), hilo::Error);
  // The memory itself lives until the last mapping goes.
  CHECK(survivor.bytes()[5] == std::byte{42});
}

TEST_CASE("moving a segment transfers the mapping and the duty to unlink") {
  std::string name = unique_segment_name("move");
  SharedMemory first = SharedMemory::create(name, 256);
  std::byte* address = first.bytes().data();
  SharedMemory second = std::move(first);
  CHECK(second.bytes().data() == address);
  CHECK(second.is_creator());
  CHECK(first.size() == 0);  // NOLINT(bugprone-use-after-move): moved-from state is specified
  CHECK_FALSE(first.is_creator());

  SharedMemory other = SharedMemory::create(unique_segment_name("move_target"), 16);
  std::string other_name = other.name();
  other = std::move(second);
  CHECK_FALSE(exists_in_dev_shm(other_name));  // the overwritten creator unlinked its segment
  CHECK(exists_in_dev_shm(name));
  CHECK(other.bytes().data() == address);
}

TEST_CASE("create refuses a name that exists and says how to remove it") {
  std::string name = unique_segment_name("exists");
  SharedMemory segment = SharedMemory::create(name, 64);
  CHECK_THROWS_AS(SharedMemory::create(name, 64), hilo::Error);
  std::string message = message_of([&] { SharedMemory::create(name, 64); });
  CHECK(message.starts_with("hilo: ipc::SharedMemory::create: a segment named \"" + name +
                            "\" already exists"));
  CHECK(message.find("rm /dev/shm/" + name) != std::string::npos);
  // The failed create must not have unlinked the existing segment.
  CHECK(exists_in_dev_shm(name));
}

TEST_CASE("open of a missing name is a hilo::Error naming it") {
  std::string name = unique_segment_name("missing");
  CHECK_THROWS_AS(SharedMemory::open(name), hilo::Error);
  std::string message = message_of([&] { SharedMemory::open(name); });
  CHECK(message.starts_with("hilo: ipc::SharedMemory::open: there is no segment named \"" + name +
                            "\""));
}

TEST_CASE("open of a segment that is still empty is a hilo::Error") {
  std::string name = unique_segment_name("empty");
  int fd = ::shm_open(("/" + name).c_str(), O_CREAT | O_EXCL | O_RDWR, 0600);
  REQUIRE(fd >= 0);
  ::close(fd);
  std::string message = message_of([&] { SharedMemory::open(name); });
  ::shm_unlink(("/" + name).c_str());
  CHECK(message.starts_with("hilo: ipc::SharedMemory::open: segment \"" + name + "\" is empty"));
}

TEST_CASE("bad names and a size of 0 are std::invalid_argument") {
  CHECK_THROWS_AS(SharedMemory::create(unique_segment_name("zero"), 0), std::invalid_argument);
  CHECK_THROWS_AS(SharedMemory::create("a/b", 64), std::invalid_argument);
  CHECK_THROWS_AS(SharedMemory::create("//ab", 64), std::invalid_argument);
  CHECK_THROWS_AS(SharedMemory::open("dir/name"), std::invalid_argument);
  CHECK_THROWS_AS(SharedMemory::create("", 64), std::invalid_argument);
  CHECK_THROWS_AS(SharedMemory::create("/", 64), std::invalid_argument);
  CHECK_THROWS_AS(SharedMemory::create("..", 64), std::invalid_argument);
  CHECK_THROWS_AS(SharedMemory::create(std::string(300, 'x'), 64), std::invalid_argument);
  std::string message = message_of([] { SharedMemory::create("a/b", 64); });
  CHECK(message.starts_with("hilo: ipc::SharedMemory: the name \"a/b\" contains a '/'"));
  std::string too_long = message_of([] { SharedMemory::create(std::string(256, 'x'), 64); });
  CHECK(too_long == "hilo: ipc::SharedMemory: the name is 256 characters long; the limit is 255");
  CHECK(message_of([] { SharedMemory::create("zero_size", 0); }) ==
        "hilo: ipc::SharedMemory::create: segment \"zero_size\": the size is 0; a segment needs "
        "at least one byte");
}

TEST_CASE("a name of exactly 255 characters is accepted") {
  std::string name = unique_segment_name("long");
  name.append(255 - name.size(), 'x');
  SharedMemory segment = SharedMemory::create(name, 64);
  CHECK(exists_in_dev_shm(name));
}

TEST_CASE("remove unlinks a stale segment and reports whether there was one") {
  std::string name = unique_segment_name("remove");
  SharedMemory segment = SharedMemory::create(name, 64);
  CHECK(SharedMemory::remove(name));
  CHECK_FALSE(exists_in_dev_shm(name));
  CHECK_FALSE(SharedMemory::remove(name));
  // The creator's own unlink at destruction finds nothing and stays quiet.
}
