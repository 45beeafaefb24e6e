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

#include "hilo/comm/detail/all_reduce.hpp"
#include "hilo/comm/detail/codec.hpp"
#include "hilo/comm/detail/combine.hpp"
#include "hilo/comm/detail/transport.hpp"
#include "hilo/detail/error_message.hpp"
#include "hilo/errors.hpp"

namespace hilo::detail {

namespace tags {
inline constexpr int barrier = 1, broadcast = 2, reduce = 3, gather = 4, scatter = 5, ring = 6,
                     exchange = 7, direct = 8;
}

template <class T>
struct is_vector : std::false_type {};
template <class E, class A>
struct is_vector<std::vector<E, A>> : std::true_type {};

// acc = op(acc, in), element-wise for vectors.
template <class T, class Op>
void combine(T& acc, const T& in, Op& op) {
  if constexpr (is_vector<T>::value) {
    if (acc.size() != in.size())
      throw_error<Error>("hilo: reduction of vectors of different lengths (", acc.size(), " and ",
                         in.size(), " elements): every rank must contribute the same length");
    using E = typename T::value_type;
    if constexpr (encoding_of<T>() == Encoding::contiguous) {  // elements in one array
      auto* bytes = reinterpret_cast<std::byte*>(acc.data());
      combiner_for<E>(op)(bytes, reinterpret_cast<const std::byte*>(in.data()), bytes, acc.size());
    } else {
      for (std::size_t i = 0; i < acc.size(); ++i) acc[i] = op(acc[i], in[i]);
    }
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

// The all-reduce of `value` into `out` (which may be `value` itself, for in place), by the
// algorithm choose_all_reduce picks for it (all_reduce.hpp), `requested` where it can run.
template <class T, class Op>
void all_reduce_into(Transport& t, const T& value, T& out, Op op, Deadline deadline,
                     AllReduceAlgorithm requested = AllReduceAlgorithm::automatic) {
  if constexpr (is_vector<T>::value && encoding_of<T>() == Encoding::contiguous) {
    using E = typename T::value_type;
    PeerMemory* memory = t.peer_memory();
    AllReduceShape shape{true, value.size(), sizeof(E), t.size(), memory != nullptr};
    AllReduceAlgorithm algorithm = choose_all_reduce(shape, requested);
    if (t.log().enabled(LogLevel::debug)) log_choice(t.log(), shape, algorithm);
    if (algorithm != AllReduceAlgorithm::recursive_doubling) {
      if (&out != &value) out.resize(value.size());
      const Combiner combine = combiner_for<E>(op);
      const VectorBytes v{reinterpret_cast<const std::byte*>(value.data()),
                          reinterpret_cast<std::byte*>(out.data()), value.size(),
                          data_type_of<E>()};
      if (algorithm == AllReduceAlgorithm::direct) {
        if (direct_all_reduce(t, *memory, v, combine, deadline)) return;
        // Some rank cannot reach another's memory: every rank saw it, and all choose again.
        shape.peer_memory = false;
        algorithm = choose_all_reduce(shape, requested);
        if (t.log().enabled(LogLevel::debug)) log_choice(t.log(), shape, algorithm);
      }
      switch (algorithm) {
        case AllReduceAlgorithm::ring:
          ring_all_reduce(t, v, combine, deadline);
          return;
        case AllReduceAlgorithm::halving_doubling:
          halving_doubling_all_reduce(t, v, combine, deadline);
          return;
        default:
          break;  // recursive doubling, below
      }
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
