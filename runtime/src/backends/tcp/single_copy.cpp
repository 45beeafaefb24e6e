#include "backends/tcp/single_copy.hpp"

#include <sys/uio.h>

#include <cerrno>
#include <cstdlib>
#include <string>

#include "common/byte_order.hpp"
#include "hilo/detail/error_message.hpp"
#include "hilo/errors.hpp"

namespace hilo::tcp {

bool single_copy_from_environment() {
  const char* text = std::getenv("HILO_TCP_SINGLE_COPY");
  if (text == nullptr || *text == '\0') return true;
  const std::string value = text;
  if (value == "on") return true;
  if (value == "off") return false;
  detail::throw_error<Error>("hilo: HILO_TCP_SINGLE_COPY='", value,
                             "' is not 'on' or 'off' (whether ranks on one host pass large "
                             "messages by process_vm_writev)");
}

std::array<std::byte, offer_size> encode_offer(const SingleCopyOffer& offer) {
  std::array<std::byte, offer_size> out{};
  common::put_le(out.data(), offer.pid);
  common::put_le(out.data() + 8, offer.probe_address);
  common::put_le(out.data() + 16, offer.probe_value);
  return out;
}

SingleCopyOffer decode_offer(const std::byte* bytes) {
  return {common::get_le<std::uint64_t>(bytes), common::get_le<std::uint64_t>(bytes + 8),
          common::get_le<std::uint64_t>(bytes + 16)};
}

bool can_write_into(const SingleCopyOffer& offer) {
  std::uint64_t seen = 0;
  iovec local{&seen, sizeof seen};
  iovec remote{reinterpret_cast<void*>(offer.probe_address), sizeof seen};
  const ssize_t got = ::process_vm_readv(static_cast<pid_t>(offer.pid), &local, 1, &remote, 1, 0);
  return got == static_cast<ssize_t>(sizeof seen) && seen == offer.probe_value;
}

std::array<std::byte, address_size> encode_address(std::uint64_t address) {
  std::array<std::byte, address_size> out{};
  common::put_le(out.data(), address);
  return out;
}

std::uint64_t decode_address(const std::byte* bytes) {
  return common::get_le<std::uint64_t>(bytes);
}

namespace {

// process_vm_writev or process_vm_readv until every byte moved (they may stop short).
template <class Copy>
int copy_all(Copy copy, pid_t pid, std::byte* local_bytes, std::uint64_t remote_address,
             std::size_t bytes) {
  while (bytes > 0) {
    iovec local{local_bytes, bytes};
    iovec remote{reinterpret_cast<void*>(remote_address), bytes};
    const ssize_t moved = copy(pid, &local, 1, &remote, 1, 0);
    if (moved < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    if (moved == 0) return EFAULT;  // no progress: the remote range is not accessible
    local_bytes += moved;
    remote_address += static_cast<std::uint64_t>(moved);
    bytes -= static_cast<std::size_t>(moved);
  }
  return 0;
}

}  // namespace

int write_into(pid_t pid, const std::byte* from, std::uint64_t to, std::size_t bytes) {
  return copy_all(::process_vm_writev, pid, const_cast<std::byte*>(from), to, bytes);
}

int read_from(pid_t pid, std::uint64_t from, std::byte* to, std::size_t bytes) {
  return copy_all(::process_vm_readv, pid, to, from, bytes);
}

}  // namespace hilo::tcp
