// Single copy between ranks of one host (runtime/src/backends/tcp/single_copy.hpp): the offer
// travels intact, the probe tells the offering process apart from any other, and the write
// lands or says why not.
#include "backends/tcp/single_copy.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "catch.hpp"
#include "hilo/errors.hpp"

using namespace hilo::tcp;

namespace {

// A pid that no process has: a child that has exited and been reaped.
pid_t reaped_pid() {
  const pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  int status = 0;
  ::waitpid(child, &status, 0);
  return child;
}

}  // namespace

TEST_CASE("single copy: an offer and an address round-trip through their encodings") {
  const SingleCopyOffer offer{12345, 0x7fff12345678, 0xdeadbeefcafef00d};
  const auto bytes = encode_offer(offer);
  const SingleCopyOffer back = decode_offer(bytes.data());
  CHECK(back.pid == offer.pid);
  CHECK(back.probe_address == offer.probe_address);
  CHECK(back.probe_value == offer.probe_value);
  CHECK(decode_address(encode_address(0x1122334455667788).data()) == 0x1122334455667788);
}

TEST_CASE("single copy: the probe accepts the offering process and nothing else") {
  const std::uint64_t word = 0x0123456789abcdef;
  const auto here = static_cast<std::uint64_t>(::getpid());
  const auto address = reinterpret_cast<std::uintptr_t>(&word);
  CHECK(can_write_into({here, address, word}));
  CHECK_FALSE(can_write_into({here, address, word + 1}));  // another value: not that process
  CHECK_FALSE(can_write_into({static_cast<std::uint64_t>(reaped_pid()), address, word}));
  CHECK_FALSE(can_write_into({here, 8, word}));  // an address the process does not map
}

TEST_CASE("single copy: write_into lands every byte, or names why it could not") {
  std::vector<std::byte> from(300 * 1024);
  for (std::size_t i = 0; i < from.size(); ++i) from[i] = static_cast<std::byte>(i * 7);
  std::vector<std::byte> to(from.size());
  CHECK(write_into(::getpid(), from.data(), reinterpret_cast<std::uintptr_t>(to.data()),
                   from.size()) == 0);
  CHECK(to == from);
  CHECK(write_into(reaped_pid(), from.data(), reinterpret_cast<std::uintptr_t>(to.data()),
                   from.size()) == ESRCH);
  CHECK(write_into(::getpid(), from.data(), 8, from.size()) == EFAULT);
}

TEST_CASE("single copy: HILO_TCP_SINGLE_COPY is on, off, or an error naming it") {
  ::unsetenv("HILO_TCP_SINGLE_COPY");
  CHECK(single_copy_from_environment());
  ::setenv("HILO_TCP_SINGLE_COPY", "off", 1);
  CHECK_FALSE(single_copy_from_environment());
  ::setenv("HILO_TCP_SINGLE_COPY", "on", 1);
  CHECK(single_copy_from_environment());
  ::setenv("HILO_TCP_SINGLE_COPY", "yes", 1);
  CHECK_THROWS_WITH(single_copy_from_environment(),
                    Catch::Matchers::Contains("HILO_TCP_SINGLE_COPY='yes' is not 'on' or 'off'"));
  ::unsetenv("HILO_TCP_SINGLE_COPY");
}
