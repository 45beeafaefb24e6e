// The knob of the pipelined collective algorithms (the ring and halving-doubling all-reduces, the
// ring reduce-scatter): how small the segments may be that a step's message is split into, so
// that combining one segment overlaps the arrival of the next. The algorithms take it as an
// option; the code that chooses the algorithm fills it from what the transport reports about
// itself (Transport::min_handshake_message_bytes).
//
// Internal to hilo: the names live in hilo::detail and may change.
#pragma once

#include <algorithm>
#include <cstddef>

#include "hilo/comm/detail/transport.hpp"

namespace hilo::detail {

// The segments' floor where no message takes a handshake: few enough segments per step that the
// per-message cost stays small next to the bytes.
inline constexpr std::size_t default_min_segment_bytes = std::size_t{256} * 1024;

struct PipelineOptions {
  // A step of n bytes goes in segments of about max(min_segment_bytes, n / 4) bytes (the last one
  // shorter): a handful per step. Sender and receiver must split alike, so every rank of a
  // collective must pass the same value.
  std::size_t min_segment_bytes = default_min_segment_bytes;
};

// The options for transport `t`: segments of at least default_min_segment_bytes and, where the
// transport gives messages from some size on a per-message handshake (the tcp backend's single
// copy between ranks of one host), of at least that size, so that every segment of a large step
// takes that path and pays the handshake a handful of times per step (smaller segments went
// through the tcp backend's socket, which made a 4 MiB all-reduce on 4 ranks clearly slower:
// benchmarks/analysis.md, "Measurements behind constants in the code"). The same on every rank, as
// the transport's answer is.
inline PipelineOptions pipeline_options_for(const Transport& t) {
  std::size_t segment = default_min_segment_bytes;
  if (const auto handshake = t.min_handshake_message_bytes())
    segment = std::max(segment, *handshake);
  return PipelineOptions{segment};
}

}  // namespace hilo::detail
