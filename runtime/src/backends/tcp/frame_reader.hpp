// Where a frame is parsed: one connection's receive state and the loop that reads its stream of
// frames (frame.hpp). Many small frames come in one read, through a staging buffer; the header of
// each is decoded, then its payload is read into its destination (large payloads straight there,
// without staging). The reader knows the kinds of frame, not what they mean: it hands each one to
// a FrameSink (the engine), which says where a message's payload goes and acts on the others.
// Bytes come from a ByteSource (the connection: its socket, or its shared-memory ring).
//
// Locking contract: a FrameReader has no mutex of its own. It is the receive side of its
// connection (peer_connection.hpp), used only by whoever drives the sockets, with the progress
// mutex held (ProgressLoop::mutex); its source and sink are called with that mutex held too.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <string>

#include "backends/tcp/frame.hpp"
#include "backends/tcp/single_copy.hpp"
#include "comm/mailbox.hpp"

namespace hilo::tcp {

// Where a connection's bytes are read first (many small frames per read).
inline constexpr std::size_t staging_size = 64 * 1024;

// Where a FrameReader's bytes come from.
class ByteSource {
 public:
  // Reads at most `want` bytes into `into`. Returns false once the stream has ended (errno 0: an
  // orderly end, else the error that ended it); else true with `got` bytes (0: none for now).
  // Sets `drained` when the source has given all it had, so asking again now would find nothing.
  virtual bool receive(void* into, std::size_t want, std::size_t& got, bool& drained) = 0;

 protected:
  ~ByteSource() = default;
};

// What a FrameReader hands the frames it read to. A function that throws makes the connection
// untrusted: the exception leaves FrameReader::read, and the connection is closed.
class FrameSink {
 public:
  // A message frame's header was read: its payload goes into a delivery begun in the mailbox
  // returned (throws if the header does not fit the communicator).
  virtual detail::Mailbox& mailbox_for(const FrameHeader& header) = 0;
  // The peer said goodbye: no frame may follow.
  virtual void goodbye() = 0;
  // A single-copy message was announced (ready-to-send; no payload follows).
  virtual void ready_to_send(const FrameHeader& header) = 0;
  // The payload of the oldest single-copy transfer has been written into this rank (copied).
  virtual void copied() = 0;
  // An offer or a clear-to-send arrived, with its payload.
  virtual void control(const FrameHeader& header, const std::byte* payload) = 0;
  // The peer failed and said why (an abort frame).
  virtual void aborted(const std::string& reason) = 0;

 protected:
  ~FrameSink() = default;
};

class FrameReader {
 public:
  // `max_payload`: a longer frame is malformed (frame.hpp).
  explicit FrameReader(std::uint64_t max_payload) : max_payload_(max_payload) {}

  // Reads frames from `source` and hands them to `sink` until the source is drained or this
  // connection had its share of a turn (the other connections get theirs). Adds the bytes read to
  // `bytes_read`. Returns false once the stream has ended (errno as ByteSource::receive sets it).
  // Throws when the stream is malformed.
  bool read(ByteSource& source, FrameSink& sink, std::uint64_t& bytes_read);

  // The connection is over: a message whose payload was half read fails with `error`; an abort
  // reason or control payload half read is dropped (nothing waits for it).
  void cut_off(const std::exception_ptr& error);

  // The header read last (the frame being read, if one is under way).
  const FrameHeader& header() const { return header_; }
  // Whether the peer said goodbye (nothing may follow it).
  bool said_goodbye() const { return said_goodbye_; }

 private:
  const std::uint64_t max_payload_;
  std::unique_ptr<std::byte[]> staging_ = std::make_unique_for_overwrite<std::byte[]>(staging_size);
  std::size_t staged_begin_ = 0;  // the staged bytes not yet used: [staged_begin_, staged_end_)
  std::size_t staged_end_ = 0;
  bool in_payload_ = false;  // header_ is read, its payload (received_ bytes so far) is not
  FrameHeader header_;
  // Where the payload goes: a mailbox's delivery (box_ set), or abort_reason_ or control_ (box_
  // null; delivery_.destination points into them).
  detail::Mailbox* box_ = nullptr;
  detail::Mailbox::Delivery delivery_;
  std::uint64_t received_ = 0;
  bool said_goodbye_ = false;
  std::string abort_reason_;                     // the payload of an abort frame
  std::array<std::byte, offer_size> control_{};  // the payload of an offer or clear-to-send
};

}  // namespace hilo::tcp
