// Direct all-reduce: ranks read each other's vectors in place (Transport::peer_memory: the tcp
// backend between processes of one host). Rank r combines its share, elements
// [n r/p, n (r+1)/p), reading the other ranks' inputs straight from their memory, then copies
// every other rank's finished share from that rank's output. Each byte is copied once, by the
// kernel, instead of twice through a socket, and no rank waits for a peer to be scheduled to move
// data, which every socket step does when more ranks than cores share a host.
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
// "ready" or "done", so nothing stale is ever returned. In place (`in` == `out`) is safe: a rank
// overwrites another rank's share of its vector only after that rank's "ready", that is after it
// read it. (benchmarks/analysis.md records the variants measured against this one.)
#include <array>
#include <string>

#include "comm/algorithms/pipeline_steps.hpp"
#include "hilo/comm/detail/all_reduce.hpp"
#include "hilo/detail/error_message.hpp"
#include "hilo/errors.hpp"

namespace hilo::detail {

bool direct_all_reduce(Transport& t, PeerMemory& memory, VectorBytes v, const Combiner& combine,
                       Deadline deadline) {
  const int p = t.size(), r = t.rank();
  const std::size_t n = v.count, size = v.type.size;
  const auto q_at = [&](int k) { return (r + k) % p; };  // the k-th other rank, k = 1 .. p-1
  // What a rank tells the others: whether it may reach all their memory, its length and element
  // type (checked, as a receive checks a message), where its `in` and `out` are.
  enum Field { reaches_all, length, element_type, in_at, out_at };
  using Entry = std::array<std::uint64_t, 5>;
  const auto type_code = [](DataType d) {
    return std::uint64_t{static_cast<std::uint8_t>(d.kind)} << 32 | d.size;
  };
  const DataType entry_type = data_type_of<std::uint64_t>();
  Entry mine{1, n, type_code(v.type), reinterpret_cast<std::uintptr_t>(v.in),
             reinterpret_cast<std::uintptr_t>(v.out)};
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
      throw_error<Error>("hilo: all-reduce of vectors of different lengths (rank ", r, ": ", n,
                         " elements, rank ", q, ": ", theirs[length],
                         "): every rank must contribute the same length");
    if (theirs[element_type] != mine[element_type])
      throw_error<Error>("hilo: all-reduce of different element types (rank ", r, ": ",
                         v.type.name(), ", rank ", q, ": ",
                         DataType{static_cast<DataType::Kind>(theirs[element_type] >> 32),
                                  static_cast<std::uint32_t>(theirs[element_type])}
                             .name(),
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
    throw_error<Error>("hilo: rank ", r, " found the vectors of rank ", q,
                       " gone during an all-reduce that rank ", q,
                       " then completed");  // cannot happen: a rank completes only after our "done"
  };

  auto begin = [&](int share) { return n * static_cast<std::size_t>(share) / p; };
  const std::size_t first = begin(r), last = begin(r + 1);
  // A scratch piece small enough to stay in cache between its read and its combining
  // (docs/PERFORMANCE.md has the sizes measured).
  constexpr std::size_t piece_bytes = 64 * 1024;
  const std::size_t piece = std::max<std::size_t>(1, piece_bytes / size);
  ScratchBytes scratch(piece * size);
  for (std::size_t at = first; at < last; at += piece) {
    const std::size_t count = std::min(piece, last - at);
    for (int k = 1; k < p; ++k) {
      const int q = q_at(k);
      read(q, 2, entries[q][in_at] + at * size, scratch.data(), count * size);
      const std::byte* acc = (k == 1 ? v.in : v.out) + at * size;
      combine(acc, scratch.data(), v.out + at * size, count);
    }
  }
  signal_all();  // ready
  for (int k = 1; k < p; ++k) {
    const int q = q_at(k);
    wait_signal(q);
    read(q, 1, entries[q][out_at] + begin(q) * size, v.out + begin(q) * size,
         (begin(q + 1) - begin(q)) * size);
  }
  signal_all();  // done
  for (int k = 1; k < p; ++k) wait_signal(q_at(k));
  for (auto& sent : signals) sent->wait(deadline);
  return true;
}

}  // namespace hilo::detail
