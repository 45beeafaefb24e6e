// The notice a rank sends a peer it found in a different collective call, and the peer's answer
// (both on the collective channel, tag detail::collective_notice_tag): what each rank needs to
// name the other's call in hilo::CollectiveMismatch.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "hilo/comm/detail/collective_call.hpp"

namespace hilo::detail {

struct CollectiveNotice {
  bool answer = false;  // false: "you are out of step" (the peer answers); true: the answer
  // In a notice: the stamp of the receiver's message that the sender found out of step, so the
  // receiver describes that call of its own. 0 in an answer.
  std::uint32_t your_stamp = 0;
  // The sender's call; its strings own their text (operation, file).
  std::string operation;
  std::string file;
  CollectiveCallView call;  // its operation and file are empty: view() fills them in

  // The sender's call, viewing this notice's strings (valid while the notice lives, unmoved).
  CollectiveCallView view() const {
    CollectiveCallView v = call;
    v.operation = operation;
    v.file = file;
    return v;
  }
};

std::vector<std::byte> encode_notice(bool answer, std::uint32_t your_stamp,
                                     const CollectiveCallView& call);
// std::nullopt if `bytes` is not a notice this version wrote.
std::optional<CollectiveNotice> decode_notice(const std::vector<std::byte>& bytes);

}  // namespace hilo::detail
