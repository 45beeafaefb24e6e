// Communicator::raise_collective_mismatch: the exchange that lets both ranks of a mismatch name
// both calls. The rank that found its peer out of step (from a stamp, Mailbox) sends it a notice
// with its own call and waits, bounded, for the peer's answer; the peer, whose channel the notice
// poisoned, raises in its current or next collective and answers. Two ranks that found each other
// at once each take the other's notice for the answer.
#include <algorithm>
#include <chrono>
#include <vector>

#include "comm/collective_notice.hpp"
#include "hilo/comm/communicator.hpp"
#include "hilo/errors.hpp"

namespace hilo {

namespace {

// How long a rank waits for its peer's description before it names the peer's call from the
// stamp alone: the peer answers from its current or next collective, which a correct program
// reaches at once, so a missing answer means the peer is busy elsewhere (or gone).
constexpr auto answer_wait = std::chrono::seconds(2);

std::vector<std::byte> receive_notice(Transport& channel, int peer, Deadline deadline) {
  std::vector<std::byte> bytes;
  Sink sink{data_type_of<std::byte>(), nullptr, 0, [&](std::size_t n) {
              bytes.resize(n);
              return static_cast<void*>(bytes.data());
            }};
  channel.recv(peer, detail::collective_notice_tag, sink, deadline);
  return bytes;
}

void send_notice(Transport& channel, int peer, const std::vector<std::byte>& bytes) {
  channel.send(peer, detail::collective_notice_tag, bytes.data(), bytes.size(),
               data_type_of<std::byte>(), Deadline::after(answer_wait));
}

}  // namespace

void Communicator::raise_collective_mismatch(const detail::CollectiveOutOfStep& out_of_step) {
  if (collective_mismatch_) std::rethrow_exception(collective_mismatch_);
  Transport& ch = channel();
  const int peer = out_of_step.peer;
  const Deadline deadline =
      std::min(Deadline::after(answer_wait), this->deadline({}),
               [](const Deadline& a, const Deadline& b) { return a.at < b.at; });
  std::optional<detail::CollectiveNotice> theirs;
  const CollectiveCall* mine = &collectives_.current();
  try {
    if (!out_of_step.notice) {
      // Found by this rank: describe our call of the same sequence number as the peer's message
      // (the call it should have matched), tell the peer, and wait for its side.
      mine = &collectives_.recent(detail::stamp_sequence(out_of_step.peer_stamp));
      send_notice(ch, peer,
                  detail::encode_notice(false, out_of_step.peer_stamp, detail::view_of(*mine)));
      theirs = detail::decode_notice(receive_notice(ch, peer, deadline));
    } else {
      // Told by the peer: describe the call whose message it found out of step, and answer.
      theirs = detail::decode_notice(receive_notice(ch, peer, deadline));
      if (theirs) mine = &collectives_.recent(detail::stamp_sequence(theirs->your_stamp));
      if (theirs && !theirs->answer)
        send_notice(ch, peer, detail::encode_notice(true, 0, detail::view_of(*mine)));
    }
  } catch (const Error&) {
    // No description came (the peer is busy elsewhere, or gone): say what the stamp says.
  }
  CollectiveCallView their_view;
  if (theirs) {
    their_view = theirs->view();
  } else {
    their_view.sequence = out_of_step.notice ? 0 : detail::stamp_sequence(out_of_step.peer_stamp);
    their_view.operation = out_of_step.notice ? std::string_view("a different collective")
                                              : detail::operation_of_stamp(out_of_step.peer_stamp);
  }
  const CollectiveCallView my_view = detail::view_of(*mine);
  const int me = rank();
  const std::string message =
      me < peer ? detail::collective_mismatch_message(name_, me, my_view, peer, their_view)
                : detail::collective_mismatch_message(name_, peer, their_view, me, my_view);
  collective_mismatch_ = std::make_exception_ptr(CollectiveMismatch(message));
  std::rethrow_exception(collective_mismatch_);
}

}  // namespace hilo
