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
inline constexpr int barrier = 1, broadcast = 2, reduce = 3, gather = 4, scatter = 5, ring = 6;
}

// Messages of at least this size use bandwidth-optimal algorithms (ring all-reduce); below it,
// latency-optimal trees. 64 KiB is where a ring's 2(p-1) steps stop costing more than a tree's
// log p full-size hops on loopback and shared memory.
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

// Ring all-reduce for large vectors of raw elements: a reduce-scatter then an all-gather, each
// p-1 steps moving 1/p of the data, so every link carries 2(p-1)/p of it (bandwidth-optimal).
template <class E, class A, class Op>
void ring_all_reduce(Transport& t, std::vector<E, A>& acc, Op op, Deadline deadline) {
  const int p = t.size(), r = t.rank();
  const std::size_t n = acc.size();
  auto begin = [&](int chunk) { return n * static_cast<std::size_t>(chunk) / p; };
  auto length = [&](int chunk) { return begin(chunk + 1) - begin(chunk); };
  const int right = (r + 1) % p, left = (r - 1 + p) % p;
  const DataType type = data_type_of<E>();
  std::vector<E> incoming(length(0) + 1);

  auto exchange = [&](int send_chunk, int recv_chunk, E* into) {
    auto sent = t.isend(right, tags::ring, nullptr, acc.data() + begin(send_chunk),
                        length(send_chunk) * sizeof(E), type);
    t.recv(left, tags::ring, Sink{type, into, length(recv_chunk) * sizeof(E), {}}, deadline);
    sent->wait(deadline);
  };
  for (int step = 0; step < p - 1; ++step) {
    int send_chunk = (r - step + p) % p, recv_chunk = (r - step - 1 + p) % p;
    exchange(send_chunk, recv_chunk, incoming.data());
    E* a = acc.data() + begin(recv_chunk);
    for (std::size_t i = 0; i < length(recv_chunk); ++i) a[i] = op(a[i], incoming[i]);
  }
  for (int step = 0; step < p - 1; ++step) {
    int send_chunk = (r + 1 - step + p) % p, recv_chunk = (r - step + p) % p;
    exchange(send_chunk, recv_chunk, acc.data() + begin(recv_chunk));
  }
}

template <class T, class Op>
T all_reduce(Transport& t, const T& value, Op op, Deadline deadline) {
  if constexpr (is_vector<T>::value && encoding_of<T>() == Encoding::contiguous) {
    using E = typename T::value_type;
    // Every rank must agree on the algorithm, so the choice may only depend on what all ranks
    // share: the length, which must be equal anyway (checked by the tree path's combine).
    if (value.size() * sizeof(E) >= large_message_bytes &&
        value.size() >= static_cast<std::size_t>(t.size())) {
      T acc = value;
      ring_all_reduce(t, acc, op, deadline);
      return acc;
    }
  }
  std::optional<T> at_root = reduce(t, value, op, 0, deadline);
  T result = at_root ? std::move(*at_root) : T{};
  broadcast(t, result, 0, deadline);
  return result;
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
