// The generic collective algorithms, written once over any backend's point-to-point. They run
// on a communicator's collective channel, so their messages never meet user traffic. Every rank
// calls the same collectives in the same order (as in MPI); per-pair ordering then keeps each
// algorithm's messages apart without per-call tags.
//
// Reductions assume the operation is associative and commutative, as MPI's built-in ones are.
#pragma once

#include <algorithm>
#include <cstddef>
#include <optional>
#include <vector>

#include "hilo/comm/codec.hpp"
#include "hilo/comm/transport.hpp"
#include "hilo/errors.hpp"

namespace hilo::detail {

namespace tags {
inline constexpr int barrier = 1, broadcast = 2, reduce = 3, gather = 4, scatter = 5, ring = 6,
                     exchange = 7;
}

// All-reduces of at least this size use the bandwidth-optimal ring; below it, recursive doubling.
// With a loopback TCP hop of ~10 us and ~2.5 GB/s, a ring's 2(p-1) hops of n/p bytes cost less
// than recursive doubling's log2 p hops of n bytes from about 200 KB at p = 2 and 120 KB at
// p = 4 (measured: at 64 KiB and p = 4 the ring took 1.6x MPI_Allreduce's time).
inline constexpr std::size_t large_message_bytes = 128 * 1024;

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

// Ring all-reduce of n raw elements: a reduce-scatter then an all-gather, each p-1 steps moving
// 1/p of the data, so every link carries 2(p-1)/p of it (bandwidth-optimal, as Gloo's
// allreduce_ring). `in` and `out` may be the same array (in place).
//
// Nothing is copied up front: step 0 sends from `in`, and every chunk a rank receives during the
// reduce-scatter (each exactly once) is combined as out = op(in, incoming). When `out` is not
// `in`, a chunk's incoming bytes land in `out` itself and are combined there, so no scratch
// memory is needed; in place, they land in a scratch chunk. A step's chunk travels as (up to 4)
// segments whose receives are all posted before the sends start (so the bytes go straight to their
// place, never to an unexpected-message buffer), and combining one segment overlaps the arrival of
// the next.
template <class E, class Op>
void ring_all_reduce(Transport& t, const E* in, E* out, std::size_t n, Op& op, Deadline deadline) {
  const int p = t.size(), r = t.rank();
  // A quarter of a chunk, and at least what the transport asks for: enough segments to overlap
  // combining with arrival, few and large enough that a transport with a per-message handshake
  // (the tcp backend's single copy between ranks of one host) takes it for every segment and
  // pays it a handful of times per step, not 32.
  const std::size_t segment_elements =
      std::max<std::size_t>(t.min_pipeline_segment_bytes(),
                            n * sizeof(E) / static_cast<std::size_t>(p) / 4) /
          sizeof(E) +
      1;
  if (p == 1) {  // no steps at all: the result is the input
    if (in != out) std::copy(in, in + n, out);
    return;
  }
  auto begin = [&](int chunk) { return n * static_cast<std::size_t>(chunk) / p; };
  auto length = [&](int chunk) { return begin(chunk + 1) - begin(chunk); };
  const int right = (r + 1) % p, left = (r - 1 + p) % p;
  const DataType type = data_type_of<E>();
  std::vector<E> scratch(in == out ? length(0) + 1 : 0);
  using Pending = std::unique_ptr<Operation>;

  for (int step = 0; step < p - 1; ++step) {
    const int send_chunk = (r - step + p) % p, recv_chunk = (r - step - 1 + p) % p;
    const E* mine = in + begin(recv_chunk);
    E* into = in == out ? scratch.data() : out + begin(recv_chunk);
    const std::size_t count = length(recv_chunk);
    std::vector<Pending> receives;
    for (std::size_t at = 0; at < count; at += segment_elements)
      receives.push_back(
          t.irecv(left, tags::ring,
                  Sink{type, into + at, std::min(segment_elements, count - at) * sizeof(E), {}}));
    const E* from = (step == 0 ? in : out) + begin(send_chunk);
    std::vector<Pending> sends;
    for (std::size_t at = 0; at < length(send_chunk); at += segment_elements)
      sends.push_back(t.isend(right, tags::ring, nullptr, from + at,
                              std::min(segment_elements, length(send_chunk) - at) * sizeof(E),
                              type));
    E* result = out + begin(recv_chunk);
    for (std::size_t k = 0; k < receives.size(); ++k) {
      receives[k]->wait(deadline);
      const std::size_t first = k * segment_elements;
      const std::size_t last = std::min(count, first + segment_elements);
      for (std::size_t i = first; i < last; ++i) result[i] = op(mine[i], into[i]);
    }
    for (auto& s : sends) s->wait(deadline);
  }
  for (int step = 0; step < p - 1; ++step) {
    const int send_chunk = (r + 1 - step + p) % p, recv_chunk = (r - step + p) % p;
    Pending received = t.irecv(
        left, tags::ring, Sink{type, out + begin(recv_chunk), length(recv_chunk) * sizeof(E), {}});
    Pending sent = t.isend(right, tags::ring, nullptr, out + begin(send_chunk),
                           length(send_chunk) * sizeof(E), type);
    received->wait(deadline);
    sent->wait(deadline);
  }
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
