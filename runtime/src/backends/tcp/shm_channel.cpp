#include "backends/tcp/shm_channel.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <random>

#include "backends/tcp/mesh_setup.hpp"
#include "common/byte_order.hpp"
#include "common/deadline.hpp"
#include "common/system_error.hpp"
#include "hilo/detail/error_message.hpp"
#include "hilo/errors.hpp"

namespace hilo::tcp {

namespace {

// Segment layout: the header (magic, nonce, ring capacity) in its own cache line, then the
// lower rank's outgoing ring, then the higher rank's.
constexpr std::uint64_t segment_magic = 0x484c53484d454d32;  // "HLSHMEM2" (RingControl's layout)
constexpr std::size_t segment_header = 64;
constexpr std::size_t min_capacity = std::size_t{64} << 10;
constexpr std::size_t max_capacity = std::size_t{512} << 10;
constexpr std::size_t host_budget = std::size_t{256} << 20;
std::size_t segment_size(std::size_t capacity) {
  return segment_header + 2 * ShmRing::footprint(capacity);
}

// The set-up messages (raw bytes on the socket, before the first frame).
constexpr std::uint32_t offer_magic = 0x484c534f;   // "HLSO"
constexpr std::uint32_t answer_magic = 0x484c5341;  // "HLSA"
constexpr std::size_t max_name = 112;
constexpr std::size_t offer_bytes = 4 + 4 + 8 + max_name;  // magic, wanted, nonce, name
constexpr std::size_t answer_bytes = 8;                    // magic, accepted

std::uint64_t random_word() {
  std::random_device entropy;
  return (static_cast<std::uint64_t>(entropy()) << 32) ^ entropy();
}

std::string hex(std::uint64_t value, int digits) {
  static constexpr char digit[] = "0123456789abcdef";
  std::string out(static_cast<std::size_t>(digits), '0');
  for (int i = digits - 1; i >= 0; --i, value >>= 4)
    out[static_cast<std::size_t>(i)] = digit[value & 15];
  return out;
}

// FNV-1a: names the job in the segment name without putting the token itself in /dev/shm.
std::uint64_t fnv1a(const std::string& text) {
  std::uint64_t hash = 0xcbf29ce484222325;
  for (unsigned char c : text) hash = (hash ^ c) * 0x100000001b3;
  return hash;
}

// "hilo: shared memory setup on rank R: ", the start of the errors of the pairing below.
detail::OnRank in_setup(int rank) {
  return {"shared memory setup", rank};
}

[[noreturn]] void lost(const launch::PeerAddress& peer, int rank, const std::string& how) {
  throw PeerLost(detail::make_message(in_setup(rank), describe_peer(peer), " ", how), peer.rank,
                 peer.host);
}

void write_all(int fd, const std::byte* bytes, std::size_t size, const launch::PeerAddress& peer,
               int rank, Deadline deadline) {
  while (size > 0) {
    ssize_t n = ::send(fd, bytes, size, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      bytes += n;
      size -= static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
      lost(peer, rank, common::errno_message("broke its connection", errno));
    pollfd ready{fd, POLLOUT, 0};
    if (::poll(&ready, 1, common::poll_timeout(deadline.at)) == 0)
      detail::throw_error<Timeout>(in_setup(rank), "could not send to ", describe_peer(peer),
                                   ": it does not read");
  }
}

void read_all(int fd, std::byte* bytes, std::size_t size, const launch::PeerAddress& peer, int rank,
              Deadline deadline) {
  while (size > 0) {
    ssize_t n = ::recv(fd, bytes, size, MSG_DONTWAIT);
    if (n > 0) {
      bytes += n;
      size -= static_cast<std::size_t>(n);
      continue;
    }
    if (n == 0) lost(peer, rank, "closed its connection (it exited or was killed)");
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK)
      lost(peer, rank, common::errno_message("broke its connection", errno));
    pollfd ready{fd, POLLIN, 0};
    if (::poll(&ready, 1, common::poll_timeout(deadline.at)) == 0)
      detail::throw_error<Timeout>(in_setup(rank), "waited in vain for ", describe_peer(peer),
                                   ": it is alive but does not answer");
  }
}

}  // namespace

std::size_t shm_ring_capacity(int ranks_here) {
  const auto pairs = static_cast<std::size_t>(std::max(1, ranks_here * (ranks_here - 1) / 2));
  return std::clamp(std::bit_floor(host_budget / 2 / pairs), min_capacity, max_capacity);
}

bool shm_from_environment() {
  const char* text = std::getenv("HILO_TCP_SHM");
  if (text == nullptr || *text == '\0') return true;
  const std::string value = text;
  if (value == "on") return true;
  if (value == "off") return false;
  detail::throw_error<Error>("hilo: HILO_TCP_SHM='", value,
                             "' is not 'on' or 'off' (whether ranks on one host exchange "
                             "messages through shared memory)");
}

ShmChannel::ShmChannel(ipc::SharedMemory segment, std::uint64_t nonce, std::size_t capacity,
                       bool lower)
    : segment_(std::move(segment)),
      nonce_(nonce),
      outgoing_(
          segment_.bytes().data() + segment_header + (lower ? 0 : ShmRing::footprint(capacity)),
          capacity),
      incoming_(
          segment_.bytes().data() + segment_header + (lower ? ShmRing::footprint(capacity) : 0),
          capacity) {}

std::unique_ptr<ShmChannel> ShmChannel::create(const std::string& token, int lower, int higher,
                                               std::size_t capacity) {
  const std::uint64_t nonce = random_word();
  const std::string name = "hilo-" + hex(fnv1a(token), 16) + "-" + std::to_string(lower) + "-" +
                           std::to_string(higher) + "-" + hex(random_word(), 16);
  auto segment = ipc::SharedMemory::create(name, segment_size(capacity));
  {
    // tmpfs allocates a page when it is first written: without this, a /dev/shm that fills up
    // later would kill the writer with SIGBUS in the middle of a message.
    common::UniqueFd fd(::open(("/dev/shm/" + name).c_str(), O_RDWR | O_CLOEXEC));
    const int failure =
        fd ? ::posix_fallocate(fd.get(), 0, static_cast<off_t>(segment.size())) : errno;
    if (failure != 0)
      detail::throw_error<Error>("hilo: tcp: cannot reserve shared memory ", name, ": ",
                                 common::errno_text(failure));
  }
  std::byte* header = segment.bytes().data();
  common::put_le(header, segment_magic);
  common::put_le(header + 8, nonce);
  common::put_le(header + 16, static_cast<std::uint64_t>(capacity));
  return std::unique_ptr<ShmChannel>(
      new ShmChannel(std::move(segment), nonce, capacity, /*lower=*/true));
}

std::unique_ptr<ShmChannel> ShmChannel::open(const std::string& name, std::uint64_t nonce) {
  auto segment = ipc::SharedMemory::open(name);
  const std::byte* header = segment.bytes().data();
  const auto capacity = segment.size() >= segment_header
                            ? static_cast<std::size_t>(common::get_le<std::uint64_t>(header + 16))
                            : 0;
  if (segment.size() < segment_header || common::get_le<std::uint64_t>(header) != segment_magic ||
      common::get_le<std::uint64_t>(header + 8) != nonce || !std::has_single_bit(capacity) ||
      capacity < min_capacity || capacity > max_capacity ||
      segment.size() != segment_size(capacity))
    detail::throw_error<Error>("hilo: tcp: shared memory segment \"", name,
                               "\" is not the one offered (its nonce, ring size or size differ)");
  return std::unique_ptr<ShmChannel>(
      new ShmChannel(std::move(segment), nonce, capacity, /*lower=*/false));
}

void ShmChannel::unlink_name() {
  ipc::SharedMemory::remove(segment_.name());
}

std::vector<std::unique_ptr<ShmChannel>> connect_shared_memory(
    int rank, const std::string& token, const std::vector<launch::PeerAddress>& table,
    const std::vector<common::UniqueFd>& sockets, bool wanted, Deadline deadline,
    const detail::Log& log) {
  const int size = static_cast<int>(table.size());
  std::vector<std::unique_ptr<ShmChannel>> channels(table.size());
  const std::string& my_host = table.at(static_cast<std::size_t>(rank)).host;
  const auto ranks_here = static_cast<int>(std::count_if(
      table.begin(), table.end(), [&](const auto& peer) { return peer.host == my_host; }));
  auto candidate = [&](int r) {
    return r != rank && table[static_cast<std::size_t>(r)].host == my_host;
  };
  auto fd_of = [&](int r) { return sockets.at(static_cast<std::size_t>(r)).get(); };
  const auto& address = [&](int r) -> const launch::PeerAddress& {
    return table[static_cast<std::size_t>(r)];
  };
  // Deadlock-free order: every rank first sends all its offers (small: they fit the socket
  // buffers), then answers the lower ranks' offers, then reads its own answers.
  for (int r = rank + 1; r < size; ++r) {
    if (!candidate(r)) continue;
    std::array<std::byte, offer_bytes> offer{};
    common::put_le(offer.data(), offer_magic);
    if (wanted) {
      try {
        channels[static_cast<std::size_t>(r)] =
            ShmChannel::create(token, rank, r, shm_ring_capacity(ranks_here));
      } catch (const Error& e) {
        // No shared memory here (no /dev/shm, out of space): this pair keeps its socket.
        log.write(detail::LogLevel::warn, "tcp", "no shared memory with ",
                  describe_peer(address(r)), ", which stays on its socket: ", e.what());
      }
    }
    if (const auto& channel = channels[static_cast<std::size_t>(r)]) {
      common::put_le(offer.data() + 4, std::uint32_t{1});
      common::put_le(offer.data() + 8, channel->nonce());
      std::memcpy(offer.data() + 16, channel->name().data(),
                  std::min(channel->name().size(), max_name - 1));
    }
    write_all(fd_of(r), offer.data(), offer.size(), address(r), rank, deadline);
  }
  for (int r = 0; r < rank; ++r) {
    if (!candidate(r)) continue;
    std::array<std::byte, offer_bytes> offer{};
    read_all(fd_of(r), offer.data(), offer.size(), address(r), rank, deadline);
    if (common::get_le<std::uint32_t>(offer.data()) != offer_magic)
      detail::throw_error<Error>(in_setup(rank), describe_peer(address(r)),
                                 " sent something else than a shared-memory offer (a rank of "
                                 "another hilo version?)");
    std::uint32_t accepted = 0;
    if (wanted && common::get_le<std::uint32_t>(offer.data() + 4) == 1) {
      const char* name = reinterpret_cast<const char*>(offer.data() + 16);
      const std::string segment_name(name, ::strnlen(name, max_name));
      try {
        auto channel =
            ShmChannel::open(segment_name, common::get_le<std::uint64_t>(offer.data() + 8));
        channel->unlink_name();  // both ranks have it mapped now
        channels[static_cast<std::size_t>(r)] = std::move(channel);
        accepted = 1;
      } catch (const std::exception& e) {
        // Not the same memory after all (another host or IPC namespace): the socket it is.
        log.write(
            detail::LogLevel::warn, "tcp", "no shared memory with ", describe_peer(address(r)),
            ", which stays on its socket: its segment cannot be opened here (", e.what(), ")");
      }
    }
    std::array<std::byte, answer_bytes> answer{};
    common::put_le(answer.data(), answer_magic);
    common::put_le(answer.data() + 4, accepted);
    write_all(fd_of(r), answer.data(), answer.size(), address(r), rank, deadline);
  }
  for (int r = rank + 1; r < size; ++r) {
    if (!candidate(r)) continue;
    std::array<std::byte, answer_bytes> answer{};
    read_all(fd_of(r), answer.data(), answer.size(), address(r), rank, deadline);
    if (common::get_le<std::uint32_t>(answer.data()) != answer_magic)
      detail::throw_error<Error>(in_setup(rank), describe_peer(address(r)),
                                 " sent something else than a shared-memory answer");
    auto& channel = channels[static_cast<std::size_t>(r)];
    if (!channel) continue;
    channel->unlink_name();
    if (common::get_le<std::uint32_t>(answer.data() + 4) != 1) channel.reset();
  }
  return channels;
}

}  // namespace hilo::tcp
