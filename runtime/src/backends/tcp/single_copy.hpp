// Single-copy transfers between ranks on the same host: the sender writes a large payload
// straight into the receiver's buffer with process_vm_writev (Linux's cross-memory attach, as
// Open MPI's vader BTL and UCX do), instead of both kernels' copies through a loopback socket.
//
// Why: loopback TCP copies every byte twice (into the socket buffer, out of it), which caps a
// large transfer for hilo and Open MPI's TCP BTL alike below what one process_vm_writev moves;
// two threads writing a half each move about twice as much again (the sending thread helps the
// one that reads the clear-to-send; the receiver's core is idle while it waits). The connection
// still carries everything else: the envelopes, the order of messages, the failures.
// (benchmarks/analysis.md, "Measurements behind constants in the code", has the rates.)
//
// The protocol (frames in frame.hpp), for a message of at least single_copy_threshold bytes to a
// peer whose memory this rank may write:
//   sender   -> receiver  ready-to-send: the envelope, no payload
//   receiver -> sender    clear-to-send: where the payload goes (the posted receive's buffer, or
//                         one of the mailbox's own for a message nobody waits for yet)
//   sender                process_vm_writev into that address (two threads, a half each: see
//                         OutgoingFrame::write_cleared); the send is complete
//   sender   -> receiver  copied: the delivery is complete
// Both sides answer in the order the requests came on their connection, so no ids are needed.
// The sender keeps the payload until it has written it: a send that times out before the
// clear-to-send takes a copy of its own, as a queued TCP frame does; one that times out while
// the payload is being written waits for that write, which takes memory time, not network time.
// No other message to that peer is written while a transfer is open (control frames aside), so
// the receiver completes the peer's messages in the order they were sent.
//
// Who may write whom: after the mesh is up, each rank offers every peer on the same host (same
// host name in the table) its pid and the address and value of a random 64-bit word of its
// memory. The peer reads that word back with process_vm_readv; only if the value matches (the
// right process, same pid namespace, and the kernel's ptrace rules allow it: same user, and
// Yama's ptrace_scope if any) does it send that rank large payloads this way. Otherwise, or with
// HILO_TCP_SINGLE_COPY=off, everything goes through the socket as before. The same check lets
// the all-reduce read the vectors of ranks of this host directly (peer_memory.hpp).
#pragma once

#include <sys/types.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>

namespace hilo::tcp {

// Payloads from this size on go by single copy where it is available. Below it the round trip
// (ready-to-send, clear-to-send, copied) costs about what the socket's second copy saves, and a
// transfer in flight holds back the next message to that peer, which costs the pipelining the
// socket gives: one way, 256 KiB was no faster by single copy, 1 MiB and more clearly faster; an
// all-reduce of 1 MiB (p = 2) in 256 KiB single-copy segments fell behind MPI over the TCP BTL.
inline constexpr std::size_t single_copy_threshold = 1024 * 1024;
// The same between two ranks that share a ring (shm_channel.hpp), where the alternative is not a
// socket but two memcpys pipelined through shared memory: never. Through the ring as it is now
// (512 KiB, published in 64 KiB pieces) single copy lost below 16 MiB in both patterns; at 16 MiB
// it lost a window of sends in every run (and one message at a time it won by less than two runs
// of the very same path differ); at 64 MiB it lost four of six comparisons, ping-pong and
// window alike (benchmarks/analysis.md, "Shared-memory rings: ring size and pipelining").
inline constexpr std::size_t single_copy_threshold_beside_ring =
    std::numeric_limits<std::size_t>::max();

// HILO_TCP_SINGLE_COPY: on (default) or off. Anything else is a hilo::Error naming the variable.
bool single_copy_from_environment();

// The offer's payload: this process's pid, and the address and value of a word it owns.
struct SingleCopyOffer {
  std::uint64_t pid = 0;
  std::uint64_t probe_address = 0;
  std::uint64_t probe_value = 0;
};
inline constexpr std::size_t offer_size = 24;
std::array<std::byte, offer_size> encode_offer(const SingleCopyOffer& offer);
SingleCopyOffer decode_offer(const std::byte* bytes);

// True when this process can read the offering process's probe word and it holds the value
// offered: then it may also write that process's memory (the same permission check).
bool can_write_into(const SingleCopyOffer& offer);

// An address in the receiver, sent in clear-to-send.
inline constexpr std::size_t address_size = 8;
std::array<std::byte, address_size> encode_address(std::uint64_t address);
std::uint64_t decode_address(const std::byte* bytes);

// Writes `bytes` bytes from `from` to `to` in process `pid`. Returns 0, or the errno that stopped
// it (ESRCH: the process is gone).
int write_into(pid_t pid, const std::byte* from, std::uint64_t to, std::size_t bytes);
// Reads `bytes` bytes from `from` in process `pid` to `to`; returns as write_into does.
int read_from(pid_t pid, std::uint64_t from, std::byte* to, std::size_t bytes);

}  // namespace hilo::tcp
