#include "backends/tcp/send_operation.hpp"

#include <mutex>
#include <string>

#include "backends/tcp/engine.hpp"
#include "backends/tcp/peer_connection.hpp"
#include "hilo/detail/error_message.hpp"
#include "hilo/errors.hpp"

namespace hilo::tcp {

SendOperation::~SendOperation() {
  // A dropped request must not leave the progress thread reading a buffer that is gone.
  if (!frame_->pending()) return;
  bool moved = true;
  {
    std::lock_guard lock(peer_.send_mutex);
    if (frame_->pending()) moved = frame_->own_remaining_payload();
  }
  if (moved) return;
  try {
    frame_->wait(Deadline::never());  // a single copy under way: it ends in memory time
  } catch (const std::exception&) {
    // Whatever it failed with, the buffer is no longer read.
  }
}
bool SendOperation::test() {
  if (frame_->pending()) return false;
  frame_->wait(Deadline::never());  // rethrows a failure
  return true;
}
Status SendOperation::wait(Deadline deadline) {
  peer_.drive_send(*frame_, deadline);
  if (!frame_->wait(deadline)) {
    // A Request's wait: Communicator::rethrow_in does not see it.
    if (PendingReporter* reporter = engine_.pending_reporter()) reporter->report_timeout();
    detail::throw_error<Timeout>("hilo: isend from rank ", engine_.rank(), " to ",
                                 engine_.describe(peer_.rank), " with tag ", tag_,
                                 ": the peer has not taken the message in time (is it stalled?); "
                                 "the send stays queued");
  }
  return Status{engine_.rank(), tag_, frame_->message_bytes()};
}
}  // namespace hilo::tcp
