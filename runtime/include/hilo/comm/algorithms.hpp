// The generic collective algorithms, written once over any backend's point-to-point. They run
// on a communicator's collective channel, so their messages never meet user traffic. Every rank
// calls the same collectives in the same order (as in MPI); per-pair ordering then keeps each
// algorithm's messages apart without per-call tags.
//
// Reductions assume the operation is associative and commutative, as MPI's built-in ones are.
#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "hilo/comm/codec.hpp"
#include "hilo/comm/transport.hpp"
#include "hilo/errors.hpp"

namespace hilo::detail {

namespace tags {
inline constexpr int barrier = 1, broadcast = 2, reduce = 3, gather = 4, scatter = 5, ring = 6,
                     exchange = 7, direct = 8;
}

// Direct all-reduces (direct_all_reduce) from this size on, where the transport offers them.
inline constexpr std::size_t direct_all_reduce_min_bytes = 256 * 1024;

// All-reduces of at least this size use a bandwidth-optimal algorithm (halving-doubling for p a
// power of two, else the ring); below it, recursive doubling, whose log2 p steps each move the
// whole vector. Measured over loopback TCP (4 ranks on 2 cores) and between thread ranks:
// halving-doubling is faster from 64 KiB (p = 4 tcp: 70 us against 93 us; local: 37 against
// 43 us) and slower at 16 KiB (53 against 30 us).
inline constexpr std::size_t large_message_bytes = 64 * 1024;

template <class T>
struct is_vector : std::false_type {};
template <class E, class A>
struct is_vector<std::vector<E, A>> : std::true_type {};

// acc = op(acc, in), element-wise for vectors.
template <class T, class Op>
void combine(T& acc, const T& in, Op& op) {
  if constexpr (is_vector<T>::value) {
    if (acc.size() != in.size())
      throw Error("hilo: reduction of vectors of different lengths (" + std::to_string(acc.size()) +
                  " and " + std::to_string(in.size()) +
                  " elements): every rank must contribute the same length");
    for (std::size_t i = 0; i < acc.size(); ++i) acc[i] = op(acc[i], in[i]);
  } else {
    acc = op(acc, in);
  }
}

// Dissemination barrier: ceil(log2 p) rounds, every rank sends and receives one empty message per
// round; correct for any p.
inline void barrier(Transport& t, Deadline deadline) {
  const int p = t.size(), r = t.rank();
  for (int k = 1; k < p; k *= 2) {
    auto sent = t.isend((r + k) % p, tags::barrier, nullptr, nullptr, 0, data_type_of<std::byte>());
    std::byte none{};
    t.recv((r - k + p) % p, tags::barrier, Sink{data_type_of<std::byte>(), &none, 0, {}}, deadline);
    sent->wait(deadline);
  }
}

// Binomial-tree broadcast: log2 p steps; a non-root learns the size from the message itself.
template <class T>
void broadcast(Transport& t, T& value, int root, Deadline deadline) {
  const int p = t.size(), vr = (t.rank() - root + p) % p;
  int mask = 1;
  for (; mask < p; mask <<= 1) {
    if (vr & mask) {
      recv_value(t, (vr - mask + root) % p, tags::broadcast, value, deadline);
      break;
    }
  }
  OutgoingBytes out = encode(value);  // encoded once, sent to every child
  std::vector<std::unique_ptr<Operation>> sends;
  for (mask >>= 1; mask > 0; mask >>= 1)
    if (vr + mask < p)
      sends.push_back(
          t.isend((vr + mask + root) % p, tags::broadcast, nullptr, out.data, out.bytes, out.type));
  for (auto& s : sends) s->wait(deadline);
}

// Binomial-tree reduction to root; returns the result on root only.
template <class T, class Op>
std::optional<T> reduce(Transport& t, const T& value, Op op, int root, Deadline deadline) {
  const int p = t.size(), vr = (t.rank() - root + p) % p;
  T acc = value;
  for (int mask = 1; mask < p; mask <<= 1) {
    if (vr & mask) {
      send_value(t, (vr - mask + root) % p, tags::reduce, acc, deadline);
      return std::nullopt;
    }
    if (vr + mask < p) {
      T in{};
      recv_value(t, (vr + mask + root) % p, tags::reduce, in, deadline);
      combine(acc, in, op);
    }
  }
  return acc;
}

// The pieces a pipelined all-reduce splits a message of `count` elements into: a quarter of it,
// and at least what the transport asks for (enough segments to overlap combining with arrival,
// few and large enough that a transport with a per-message handshake, the tcp backend's single
// copy between ranks of one host, takes it for every segment and pays it a handful of times per
// step). It depends only on the message's length, so sender and receiver split it alike.
template <class E>
std::size_t segment_elements_for(const Transport& t, std::size_t count) {
  return std::max<std::size_t>(t.min_pipeline_segment_bytes(), count * sizeof(E) / 4) / sizeof(E) +
         1;
}

// One step of a pipelined all-reduce: sends `send_count` elements from `from` to rank `to` and
// receives `count` elements from rank `source` into `into`, both in segments, and calls
// combine(first, last) for each received segment [first, last) as soon as it is in. Every receive
// is posted before the first send, so the bytes go straight to `into`, never to an
// unexpected-message buffer.
template <class E, class Combine>
void exchange_step(Transport& t, int to, const E* from, std::size_t send_count, int source, E* into,
                   std::size_t count, Deadline deadline, Combine combine) {
  const DataType type = data_type_of<E>();
  const std::size_t in_segment = segment_elements_for<E>(t, count);
  const std::size_t out_segment = segment_elements_for<E>(t, send_count);
  std::vector<std::unique_ptr<Operation>> receives, sends;
  for (std::size_t at = 0; at < count; at += in_segment)
    receives.push_back(
        t.irecv(source, tags::ring,
                Sink{type, into + at, std::min(in_segment, count - at) * sizeof(E), {}}));
  for (std::size_t at = 0; at < send_count; at += out_segment)
    sends.push_back(t.isend(to, tags::ring, nullptr, from + at,
                            std::min(out_segment, send_count - at) * sizeof(E), type));
  for (std::size_t k = 0; k < receives.size(); ++k) {
    receives[k]->wait(deadline);
    combine(k * in_segment, std::min(count, (k + 1) * in_segment));
  }
  for (auto& s : sends) s->wait(deadline);
}

// One step of an all-gather: sends `send_count` elements from `from` to rank `to` and receives
// `count` elements from rank `source` into `into`, each as one message (the receive posted first,
// so the bytes go straight to `into`). Nothing is combined, so nothing is gained by segments.
template <class E>
void gather_step(Transport& t, int to, const E* from, std::size_t send_count, int source, E* into,
                 std::size_t count, Deadline deadline) {
  const DataType type = data_type_of<E>();
  auto received = t.irecv(source, tags::ring, Sink{type, into, count * sizeof(E), {}});
  auto sent = t.isend(to, tags::ring, nullptr, from, send_count * sizeof(E), type);
  received->wait(deadline);
  sent->wait(deadline);
}

// Ring all-reduce of n raw elements: a reduce-scatter then an all-gather, each p-1 steps moving
// 1/p of the data, so every link carries 2(p-1)/p of it (bandwidth-optimal, as Gloo's
// allreduce_ring). `in` and `out` may be the same array (in place).
//
// Nothing is copied up front: step 0 sends from `in`, and every chunk a rank receives during the
// reduce-scatter (each exactly once) is combined as out = op(in, incoming). When `out` is not
// `in`, a chunk's incoming bytes land in `out` itself and are combined there, so no scratch
// memory is needed; in place, they land in a scratch chunk. A step's chunk travels in segments
// (exchange_step), and combining one segment overlaps the arrival of the next.
template <class E, class Op>
void ring_all_reduce(Transport& t, const E* in, E* out, std::size_t n, Op& op, Deadline deadline) {
  const int p = t.size(), r = t.rank();
  if (p == 1) {  // no steps at all: the result is the input
    if (in != out) std::copy(in, in + n, out);
    return;
  }
  auto begin = [&](int chunk) { return n * static_cast<std::size_t>(chunk) / p; };
  auto length = [&](int chunk) { return begin(chunk + 1) - begin(chunk); };
  const int right = (r + 1) % p, left = (r - 1 + p) % p;
  std::vector<E> scratch(in == out ? length(0) + 1 : 0);

  for (int step = 0; step < p - 1; ++step) {
    const int send_chunk = (r - step + p) % p, recv_chunk = (r - step - 1 + p) % p;
    const E* mine = in + begin(recv_chunk);
    E* into = in == out ? scratch.data() : out + begin(recv_chunk);
    E* result = out + begin(recv_chunk);
    const E* from = (step == 0 ? in : out) + begin(send_chunk);
    exchange_step(t, right, from, length(send_chunk), left, into, length(recv_chunk), deadline,
                  [&](std::size_t first, std::size_t last) {
                    for (std::size_t i = first; i < last; ++i) result[i] = op(mine[i], into[i]);
                  });
  }
  for (int step = 0; step < p - 1; ++step) {
    const int send_chunk = (r + 1 - step + p) % p, recv_chunk = (r - step + p) % p;
    gather_step(t, right, out + begin(send_chunk), length(send_chunk), left,
                out + begin(recv_chunk), length(recv_chunk), deadline);
  }
}

// Halving-doubling all-reduce of n raw elements (Rabenseifner's; Gloo's
// allreduce_halving_doubling): a reduce-scatter by recursive halving, then an all-gather by
// recursive doubling. Each rank moves the same 2(p-1)/p of the data as in the ring, in 2 log2 p
// steps instead of 2(p-1): at p = 4, 4 steps instead of 6, which is what counts when ranks share
// cores and every step waits for a peer to be scheduled. p must be a power of two and n >= p.
// `in` and `out` may be the same array (in place).
//
// Step k of the reduce-scatter: partners (ranks differing in bit p/2^(k+1)) share a range of
// elements; the lower one keeps its first half and sends the second, the upper one the reverse,
// and each combines what it receives into the half it keeps. The received half lands in the part
// of `out` given away one step before (free until the all-gather fills it again), so only the first
// step of an in-place call needs scratch memory. The all-gather retraces the steps backwards,
// each partner sending its reduced range and receiving the other's.
template <class E, class Op>
void halving_doubling_all_reduce(Transport& t, const E* in, E* out, std::size_t n, Op& op,
                                 Deadline deadline) {
  const int p = t.size(), r = t.rank();
  if (p == 1) {  // no steps at all: the result is the input
    if (in != out) std::copy(in, in + n, out);
    return;
  }
  struct Step {
    int partner;
    std::size_t given_first, given_count;  // the part of the range sent to the partner
  };
  std::vector<Step> steps;
  std::size_t first = 0, count = n;  // the range this rank is responsible for
  std::vector<E> scratch;
  E* free_part = nullptr;  // a part of `out` not needed until the all-gather
  std::size_t free_count = 0;
  for (int mask = p / 2; mask >= 1; mask /= 2) {
    const int partner = r ^ mask;
    const std::size_t lower = count / 2;
    const bool keep_lower = (r & mask) == 0;
    const std::size_t kept_first = keep_lower ? first : first + lower;
    const std::size_t kept_count = keep_lower ? lower : count - lower;
    const std::size_t given_first = keep_lower ? first + lower : first;
    const std::size_t given_count = count - kept_count;
    const bool first_step = steps.empty();
    // Where the partner's half of what this rank keeps lands, and what it is combined with.
    const E* mine = (first_step ? in : out) + kept_first;
    E* into;
    if (first_step && in != out) {
      into = out + kept_first;  // combined in place: out = op(in, incoming)
    } else if (free_count >= kept_count) {
      into = free_part;
    } else {
      scratch.resize(kept_count);
      into = scratch.data();
    }
    E* result = out + kept_first;
    exchange_step(t, partner, (first_step ? in : out) + given_first, given_count, partner, into,
                  kept_count, deadline, [&](std::size_t a, std::size_t b) {
                    for (std::size_t i = a; i < b; ++i) result[i] = op(mine[i], into[i]);
                  });
    steps.push_back(Step{partner, given_first, given_count});
    free_part = out + given_first;
    free_count = given_count;
    first = kept_first;
    count = kept_count;
  }
  for (auto step = steps.rbegin(); step != steps.rend(); ++step) {
    gather_step(t, step->partner, out + first, count, step->partner, out + step->given_first,
                step->given_count, deadline);
    first = std::min(first, step->given_first);
    count += step->given_count;
  }
}

// All-reduce of n raw elements by reading the other ranks' memory directly
// (Transport::peer_memory: the tcp backend between processes of one host). Rank r combines its
// share, elements [n r/p, n (r+1)/p), reading the other ranks' inputs straight from their
// memory, then copies every other rank's finished share from that rank's output. Each byte is
// copied once, by the kernel, instead of twice through a socket, and no rank waits for a peer to
// be scheduled to move data, which every socket step does when 4 ranks share 2 cores. Measured
// against halving-doubling through loopback sockets (floats, tcp backend): p = 2, 256 KiB
// 82 -> ~47 us, 1 MiB 329 -> ~220 us, 16 MiB 4.7 -> ~3.4 ms; p = 4, 256 KiB 271 -> ~190 us,
// 1 MiB 1.34 -> ~0.7 ms, 16 MiB 24 -> ~14 ms. At 64 KiB it was no faster (p = 4: 100-108 us
// against 81-97 us), hence direct_all_reduce_min_bytes.
//
//   1. Every rank sends every other an entry: whether it may reach all their memory, its
//      length and element type, and where its `in` and `out` are. Unless every entry says it may,
//      every rank returns false (they all saw the same entries) and the caller takes a socket
//      algorithm.
//   2. Rank r combines its share a piece at a time: each other rank's piece is read into a
//      scratch piece that stays in cache, and combined into `out`. Then it tells every other
//      rank "ready".
//   3. For each other rank, once its "ready" is in, it reads that rank's share of `out`.
//   4. It tells every other rank "done", and returns once every other rank's "done" is in:
//      from then on nobody reads its `in` or `out`.
// Ranks only ever read each other's memory, never write it: a rank that leaves early (its
// operation threw, or a peer timed out) cannot have its memory changed by a late peer, which
// reads stale bytes (or finds them unmapped) at worst and then fails waiting for that rank's
// "ready" or "done", so nothing stale is ever returned. (Writing each finished share into the
// others' outputs was faster, p = 2, 1 MiB ~145 us, but then a late writer could change a rank's
// memory after it left; a progress word that peers poll instead of the "ready" messages measured no
// faster.) In place (`in` == `out`) is safe: a rank overwrites another rank's share of its vector
// only after that rank's "ready", that is after it read it.
template <class E, class Op>
bool direct_all_reduce(Transport& t, PeerMemory& memory, const E* in, E* out, std::size_t n, Op& op,
                       Deadline deadline) {
  const int p = t.size(), r = t.rank();
  const auto q_at = [&](int k) { return (r + k) % p; };  // the k-th other rank, k = 1 .. p-1
  // What a rank tells the others: whether it may reach all their memory, its length and element
  // type (checked, as a receive checks a message), where its `in` and `out` are.
  enum Field { reaches_all, length, element_type, in_at, out_at };
  using Entry = std::array<std::uint64_t, 5>;
  const DataType type = data_type_of<E>();
  const auto type_code = [](DataType d) {
    return std::uint64_t{static_cast<std::uint8_t>(d.kind)} << 32 | d.size;
  };
  const DataType entry_type = data_type_of<std::uint64_t>();
  Entry mine{1, n, type_code(type), reinterpret_cast<std::uintptr_t>(in),
             reinterpret_cast<std::uintptr_t>(out)};
  for (int k = 1; k < p; ++k) mine[reaches_all] &= memory.reachable(q_at(k)) ? 1 : 0;
  std::vector<Entry> entries(static_cast<std::size_t>(p));
  {
    std::vector<std::unique_ptr<Operation>> receives, sends;
    for (int k = 1; k < p; ++k)
      receives.push_back(
          t.irecv(q_at(k), tags::direct, Sink{entry_type, &entries[q_at(k)], sizeof(Entry), {}}));
    for (int k = 1; k < p; ++k)
      sends.push_back(t.isend(q_at(k), tags::direct, nullptr, &mine, sizeof mine, entry_type));
    for (auto& received : receives) received->wait(deadline);
    for (auto& sent : sends) sent->wait(deadline);
  }
  entries[static_cast<std::size_t>(r)] = mine;
  for (int q = 0; q < p; ++q) {
    const Entry& theirs = entries[q];
    if (theirs[length] != n)
      throw Error("hilo: all-reduce of vectors of different lengths (rank " + std::to_string(r) +
                  ": " + std::to_string(n) + " elements, rank " + std::to_string(q) + ": " +
                  std::to_string(theirs[length]) + "): every rank must contribute the same length");
    if (theirs[element_type] != mine[element_type])
      throw Error("hilo: all-reduce of different element types (rank " + std::to_string(r) + ": " +
                  type.name() + ", rank " + std::to_string(q) + ": " +
                  DataType{static_cast<DataType::Kind>(theirs[element_type] >> 32),
                           static_cast<std::uint32_t>(theirs[element_type])}
                      .name() +
                  "): every rank must contribute the same type");
  }
  for (const Entry& entry : entries)
    if (entry[reaches_all] == 0) return false;

  // An empty message on the direct tag: "ready" (step 2), then "done" (step 4); per-pair order
  // keeps them apart from each other and from the next call's entry.
  std::vector<std::unique_ptr<Operation>> signals;
  auto signal_all = [&] {
    for (int k = 1; k < p; ++k)
      signals.push_back(t.isend(q_at(k), tags::direct, nullptr, nullptr, 0, entry_type));
  };
  std::uint64_t none = 0;
  auto wait_signal = [&](int q) {
    t.recv(q, tags::direct, Sink{entry_type, &none, 0, {}}, deadline);
  };
  // Reads from rank q's memory, q still owing us `signals_owed` signals. If q's vectors are no
  // longer mapped, q has left this all-reduce (its operation threw, say for a peer lost): the
  // signals it owes will not come, and waiting for them reports why it left, PeerLost if its
  // runtime ended or Timeout if it went on silently, instead of blaming a bad address here.
  auto read = [&](int q, int signals_owed, std::uintptr_t from, void* to, std::size_t bytes) {
    if (memory.read(q, from, to, bytes)) return;
    for (int i = 0; i < signals_owed; ++i) wait_signal(q);
    throw Error("hilo: rank " + std::to_string(r) + " found the vectors of rank " +
                std::to_string(q) + " gone during an all-reduce that rank " + std::to_string(q) +
                " then completed");  // cannot happen: a rank completes only after our "done"
  };

  auto begin = [&](int share) { return n * static_cast<std::size_t>(share) / p; };
  const std::size_t first = begin(r), last = begin(r + 1);
  // A scratch piece small enough to stay in cache between its read and its combining: at p = 4,
  // 16 MiB, pieces of 16 KiB took ~16 ms, 64 and 256 KiB ~13 ms, 1 MiB ~14 ms (noisy).
  constexpr std::size_t piece_bytes = 64 * 1024;
  std::vector<E> scratch(std::max<std::size_t>(1, piece_bytes / sizeof(E)));
  for (std::size_t at = first; at < last; at += scratch.size()) {
    const std::size_t count = std::min(scratch.size(), last - at);
    for (int k = 1; k < p; ++k) {
      const int q = q_at(k);
      read(q, 2, entries[q][in_at] + at * sizeof(E), scratch.data(), count * sizeof(E));
      const E* acc = (k == 1 ? in : out) + at;
      E* result = out + at;
      for (std::size_t i = 0; i < count; ++i) result[i] = op(acc[i], scratch[i]);
    }
  }
  signal_all();  // ready
  for (int k = 1; k < p; ++k) {
    const int q = q_at(k);
    wait_signal(q);
    read(q, 1, entries[q][out_at] + begin(q) * sizeof(E), out + begin(q),
         (begin(q + 1) - begin(q)) * sizeof(E));
  }
  signal_all();  // done
  for (int k = 1; k < p; ++k) wait_signal(q_at(k));
  for (auto& sent : signals) sent->wait(deadline);
  return true;
}

// Recursive-doubling all-reduce into `acc` (which holds this rank's value on entry): log2 p steps
// in which partners swap what they have and both combine, so a small all-reduce costs log2 p
// one-way hops, half of a tree reduce followed by a broadcast (MPI's choice for small messages
// too). Both partners compute op(mine, theirs): the same value, bit for bit, for a commutative
// op. For p not a power of two, the first 2*extra ranks pair up first: each odd one hands its
// value to the even one below, sits out, and gets the result back at the end.
template <class T, class Op>
void recursive_doubling_all_reduce(Transport& t, T& acc, Op& op, Deadline deadline) {
  const int p = t.size(), r = t.rank();
  int pof2 = 1;
  while (pof2 * 2 <= p) pof2 *= 2;
  const int extra = p - pof2;
  int vrank = r - extra;  // this rank's number among the pof2 that exchange
  if (r < 2 * extra) {
    if (r % 2 == 1) {
      send_value(t, r - 1, tags::exchange, acc, deadline);
      recv_value(t, r - 1, tags::exchange, acc, deadline);
      return;
    }
    T theirs{};
    recv_value(t, r + 1, tags::exchange, theirs, deadline);
    combine(acc, theirs, op);
    vrank = r / 2;
  }
  auto real_rank = [&](int v) { return v < extra ? 2 * v : v + extra; };
  for (int mask = 1; mask < pof2; mask <<= 1) {
    const int partner = real_rank(vrank ^ mask);
    OutgoingBytes out = encode(acc);  // acc is not touched until this send is done
    auto sent = t.isend(partner, tags::exchange, nullptr, out.data, out.bytes, out.type);
    T theirs{};
    recv_value(t, partner, tags::exchange, theirs, deadline);
    sent->wait(deadline);
    combine(acc, theirs, op);
  }
  if (r < 2 * extra) send_value(t, r + 1, tags::exchange, acc, deadline);
}

// The all-reduce of `value` into `out` (which may be `value` itself, for in place).
template <class T, class Op>
void all_reduce_into(Transport& t, const T& value, T& out, Op op, Deadline deadline) {
  if constexpr (is_vector<T>::value && encoding_of<T>() == Encoding::contiguous) {
    using E = typename T::value_type;
    // Every rank must agree on the algorithm, so the choice may only depend on what all ranks
    // share: the length, which must be equal anyway (checked by combine on the other path).
    if (value.size() * sizeof(E) >= large_message_bytes &&
        value.size() >= static_cast<std::size_t>(t.size())) {
      out.resize(value.size());
      const int p = t.size();
      if (PeerMemory* memory = t.peer_memory();
          memory != nullptr && p > 1 && value.size() * sizeof(E) >= direct_all_reduce_min_bytes)
        if (direct_all_reduce(t, *memory, value.data(), out.data(), value.size(), op, deadline))
          return;
      if (std::has_single_bit(static_cast<unsigned>(p)))
        halving_doubling_all_reduce(t, value.data(), out.data(), value.size(), op, deadline);
      else
        ring_all_reduce(t, value.data(), out.data(), value.size(), op, deadline);
      return;
    }
  }
  if (&out != &value) out = value;  // a copy assignment keeps out's storage
  recursive_doubling_all_reduce(t, out, op, deadline);
}

// Linear gather: root receives from every rank in rank order.
template <class T>
std::vector<T> gather(Transport& t, const T& value, int root, Deadline deadline) {
  if (t.rank() != root) {
    send_value(t, root, tags::gather, value, deadline);
    return {};
  }
  std::vector<T> all(t.size());
  for (int source = 0; source < t.size(); ++source) {
    if (source == root)
      all[source] = value;
    else
      recv_value(t, source, tags::gather, all[source], deadline);
  }
  return all;
}

template <class T>
std::vector<T> all_gather(Transport& t, const T& value, Deadline deadline) {
  std::vector<T> all = gather(t, value, 0, deadline);
  broadcast(t, all, 0, deadline);
  return all;
}

template <class T>
T scatter(Transport& t, const std::vector<T>& values, int root, Deadline deadline) {
  if (t.rank() == root) {
    for (int dest = 0; dest < t.size(); ++dest)
      if (dest != root) send_value(t, dest, tags::scatter, values[dest], deadline);
    return values[root];
  }
  T mine{};
  recv_value(t, root, tags::scatter, mine, deadline);
  return mine;
}

}  // namespace hilo::detail
