// The operation isend returns (engine.hpp): complete once the socket has taken every byte of its
// frame, or its single-copy payload has been written into the receiver. Dropped while pending,
// it moves the rest of the payload into a buffer of the frame's own (or waits out a single copy
// under way), so the caller's buffer may go.
//
// Locking contract: it takes its connection's send_mutex (peer_connection.hpp) itself; none of
// its functions may be called with it held.
#pragma once

#include <memory>

#include "backends/tcp/outgoing_frame.hpp"
#include "hilo/comm/detail/transport.hpp"

namespace hilo::tcp {

class Engine;
struct PeerConnection;

class SendOperation final : public Operation {
 public:
  SendOperation(Engine& engine, PeerConnection& peer, std::shared_ptr<OutgoingFrame> frame, int tag)
      : engine_(engine), peer_(peer), frame_(std::move(frame)), tag_(tag) {}
  ~SendOperation() override;
  bool test() override;
  Status wait(Deadline deadline) override;

 private:
  Engine& engine_;
  PeerConnection& peer_;
  std::shared_ptr<OutgoingFrame> frame_;
  int tag_;
};

}  // namespace hilo::tcp
