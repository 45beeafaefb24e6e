// Private helper for the ipc layer: where a process-shared object sits inside a segment.
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>

#include "hilo/ipc/shared_memory.hpp"

namespace hilo::ipc::detail {

// The address of `bytes` bytes at `offset` in `segment`, checked to fit and to be aligned for
// an object of `alignment`; `what` names the caller in the message.
inline std::byte* place_in(SharedMemory& segment, std::size_t offset, std::size_t bytes,
                           std::size_t alignment, const char* what) {
  if (offset % alignment != 0) {
    throw std::invalid_argument(std::string(what) + ": offset " + std::to_string(offset) +
                                " is not a multiple of " + std::to_string(alignment) +
                                " (the object's alignment)");
  }
  if (offset > segment.size() || segment.size() - offset < bytes) {
    throw std::invalid_argument(std::string(what) + ": " + std::to_string(bytes) +
                                " bytes at offset " + std::to_string(offset) +
                                " do not fit in segment \"" + segment.name() + "\" of " +
                                std::to_string(segment.size()) + " bytes");
  }
  return segment.bytes().data() + offset;
}

}  // namespace hilo::ipc::detail
