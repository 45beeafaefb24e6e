// Pairwise-exchange all-to-all (hilo/comm/detail/all_to_all.hpp): in step k = 1..p-1 rank r
// sends its block for rank r+k and receives the block of rank r-k, one Transport::sendrecv each,
// so every block goes straight to its owner and no two steps wait on each other.
#include <cstring>
#include <string>
#include <vector>

#include "comm/algorithms/pipeline_steps.hpp"
#include "hilo/comm/detail/all_to_all.hpp"
#include "hilo/detail/error_message.hpp"
#include "hilo/errors.hpp"

namespace hilo::detail {

void pairwise_all_to_all(Transport& t, BlocksBytes b, Deadline deadline) {
  const int p = t.size(), r = t.rank();
  const std::size_t block = b.count * b.type.size;
  if (block > 0) std::memcpy(b.out + r * block, b.in + r * block, block);
  for (int k = 1; k < p; ++k) {
    const int to = (r + k) % p, from = (r - k + p) % p;
    t.sendrecv(to, tags::all_to_all, b.in + to * block, block, b.type, from, tags::all_to_all,
               Sink{b.type, b.out + from * block, block, {}}, deadline);
  }
}

void pairwise_all_to_all_v(Transport& t, const std::byte* send, const int* send_counts,
                           const int* send_displs, std::byte* recv, const int* recv_counts,
                           const int* recv_displs, DataType type, Deadline deadline) {
  const int p = t.size(), r = t.rank();
  const std::size_t size = type.size;
  auto disagree = [&](int sender, std::size_t sent, std::size_t expected) {
    return "rank " + std::to_string(sender) + " sends " + std::to_string(sent) +
           " elements to rank " + std::to_string(r) + ", which expects " +
           std::to_string(expected) + " from it (recv_counts[" + std::to_string(sender) +
           "]); the counts must agree between ranks";
  };
  std::string first_disagreement;
  if (send_counts[r] != recv_counts[r])
    first_disagreement = disagree(r, static_cast<std::size_t>(send_counts[r]),
                                  static_cast<std::size_t>(recv_counts[r]));
  else if (send_counts[r] > 0)
    std::memcpy(recv + recv_displs[r] * size, send + send_displs[r] * size, send_counts[r] * size);
  std::vector<std::byte> spill;  // where a block of the wrong size goes, to be dropped
  for (int k = 1; k < p; ++k) {
    const int to = (r + k) % p, from = (r - k + p) % p;
    const std::size_t expected = static_cast<std::size_t>(recv_counts[from]) * size;
    std::byte* into = recv + static_cast<std::size_t>(recv_displs[from]) * size;
    std::size_t arrived = 0;
    // The size is taken from the message, so one of another size is received (into `spill`)
    // instead of failing the step: the sender is then done with this pair, as every other is.
    Sink sink{type, nullptr, 0, [&](std::size_t bytes) -> void* {
                arrived = bytes;
                if (bytes == expected) return into;
                spill.resize(bytes);
                return spill.data();
              }};
    t.sendrecv(to, tags::all_to_all, send + static_cast<std::size_t>(send_displs[to]) * size,
               static_cast<std::size_t>(send_counts[to]) * size, type, from, tags::all_to_all, sink,
               deadline);
    if (arrived != expected && first_disagreement.empty())
      first_disagreement = disagree(from, arrived / size, expected / size);
  }
  if (!first_disagreement.empty()) throw_error<Error>(first_disagreement);
}

}  // namespace hilo::detail
