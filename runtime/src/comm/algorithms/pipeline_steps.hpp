// The two kinds of step the vector all-reduces are made of: an exchange that combines what it
// receives as it arrives (the reduce-scatter half), and a plain exchange (the all-gather half).
// Sizes are in elements of `type.size` bytes.
#pragma once

#include <algorithm>
#include <cstddef>
#include <memory>
#include <vector>

#include "hilo/comm/detail/algorithms/tags.hpp"
#include "hilo/comm/detail/pipeline_options.hpp"
#include "hilo/comm/detail/transport.hpp"

namespace hilo::detail {

// The segments a pipelined step splits a message of `count` elements into (PipelineOptions): a
// quarter of it, and at least options.min_segment_bytes. It depends only on the message's length
// and the options, so sender and receiver split it alike.
inline std::size_t segment_elements_for(const PipelineOptions& options, std::size_t count,
                                        std::size_t element_bytes) {
  return std::max<std::size_t>(options.min_segment_bytes, count * element_bytes / 4) /
             element_bytes +
         1;
}

// Sends `send_count` elements from `from` to rank `to` and receives `count` elements from rank
// `source` into `into`, both in segments (options), and calls on_segment(first, last) for each
// received segment [first, last) as soon as it is in. Every receive is posted before the first
// send, so the bytes go straight to `into`, never to an unexpected-message buffer.
template <class OnSegment>
void exchange_step(Transport& t, DataType type, int to, const std::byte* from,
                   std::size_t send_count, int source, std::byte* into, std::size_t count,
                   const PipelineOptions& options, Deadline deadline, OnSegment on_segment) {
  const std::size_t size = type.size;
  const std::size_t in_segment = segment_elements_for(options, count, size);
  const std::size_t out_segment = segment_elements_for(options, send_count, size);
  std::vector<std::unique_ptr<Operation>> receives, sends;
  for (std::size_t at = 0; at < count; at += in_segment)
    receives.push_back(
        t.irecv(source, tags::ring,
                Sink{type, into + at * size, std::min(in_segment, count - at) * size, {}}));
  for (std::size_t at = 0; at < send_count; at += out_segment)
    sends.push_back(t.isend(to, tags::ring, nullptr, from + at * size,
                            std::min(out_segment, send_count - at) * size, type));
  for (std::size_t k = 0; k < receives.size(); ++k) {
    receives[k]->wait(deadline);
    on_segment(k * in_segment, std::min(count, (k + 1) * in_segment));
  }
  for (auto& s : sends) s->wait(deadline);
}

// Sends `send_count` elements from `from` to rank `to` and receives `count` elements from rank
// `source` into `into`, each as one message (the receive posted first, so the bytes go straight
// to `into`). Nothing is combined, so nothing is gained by segments.
inline void gather_step(Transport& t, DataType type, int to, const std::byte* from,
                        std::size_t send_count, int source, std::byte* into, std::size_t count,
                        Deadline deadline) {
  auto received = t.irecv(source, tags::ring, Sink{type, into, count * type.size, {}});
  auto sent = t.isend(to, tags::ring, nullptr, from, send_count * type.size, type);
  received->wait(deadline);
  sent->wait(deadline);
}

// Scratch memory for elements of any trivially copyable type: aligned for the strictest
// fundamental alignment, as operator new[] of the type itself would be.
class ScratchBytes {
 public:
  explicit ScratchBytes(std::size_t bytes)
      : bytes_(bytes == 0 ? nullptr : std::make_unique_for_overwrite<std::byte[]>(bytes)) {}
  std::byte* data() { return bytes_.get(); }

 private:
  std::unique_ptr<std::byte[]> bytes_;
};

}  // namespace hilo::detail
