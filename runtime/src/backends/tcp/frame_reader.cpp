#include "backends/tcp/frame_reader.hpp"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>

#include "hilo/detail/error_message.hpp"
#include "hilo/errors.hpp"

namespace hilo::tcp {

using detail::Envelope;
using detail::Mailbox;

namespace {

// Payloads at least this large are read straight into their destination, not via staging.
constexpr std::size_t direct_read_threshold = 16 * 1024;
// Bytes one connection may read per turn before the others get theirs (fairness).
constexpr std::size_t read_budget = 8 * 1024 * 1024;

}  // namespace

bool FrameReader::read(ByteSource& source, FrameSink& sink, std::uint64_t& bytes_read) {
  std::size_t budget = read_budget;
  // A read that returns less than asked for has emptied the source (drained): asking again would
  // only cost a syscall to learn EAGAIN. Readiness is level-triggered, so new bytes are reported
  // anew.
  bool drained = false;
  auto receive = [&](void* into, std::size_t want, std::size_t& got) {
    if (!source.receive(into, want, got, drained)) return false;
    budget -= std::min(budget, got);
    bytes_read += got;
    return true;
  };
  for (;;) {
    if (!in_payload_) {
      std::size_t have = staged_end_ - staged_begin_;
      if (have < frame_header_size) {
        if (budget == 0 || drained) return true;
        if (staged_begin_ > 0) {
          std::memmove(staging_.get(), staging_.get() + staged_begin_, have);
          staged_begin_ = 0;
          staged_end_ = have;
        }
        std::size_t got = 0;
        if (!receive(staging_.get() + staged_end_, staging_size - staged_end_, got)) return false;
        if (got == 0) return true;
        staged_end_ += got;
        continue;
      }
      header_ = decode_frame_header(staging_.get() + staged_begin_, max_payload_);
      staged_begin_ += frame_header_size;
      if (header_.flags & frame_flag_goodbye) {
        said_goodbye_ = true;
        sink.goodbye();
        continue;
      }
      if (said_goodbye_) detail::throw_error<Error>("malformed stream: a frame after its goodbye");
      switch (header_.flags) {
        case frame_flag_ready_to_send:
          sink.ready_to_send(header_);
          continue;  // no payload follows
        case frame_flag_copied:
          sink.copied();
          continue;
        case frame_flag_abort:
          // The reason is read like a payload, into a string of our own; no mailbox sees it.
          box_ = nullptr;
          abort_reason_.assign(header_.length, '\0');
          delivery_ = Mailbox::Delivery{};
          delivery_.destination = reinterpret_cast<std::byte*>(abort_reason_.data());
          break;
        case frame_flag_offer:
        case frame_flag_clear_to_send:
          // The engine's own: read into control_ (the decoder checked the length).
          box_ = nullptr;
          delivery_ = Mailbox::Delivery{};
          delivery_.destination = control_.data();
          break;
        default:
          box_ = &sink.mailbox_for(header_);
          delivery_ = box_->begin(Envelope{header_.source, header_.tag, header_.length,
                                           header_.type, 0, header_.stamp});
      }
      received_ = 0;
      in_payload_ = true;
    }
    std::uint64_t remaining = header_.length - received_;
    std::size_t have = staged_end_ - staged_begin_;
    if (have > 0 && remaining > 0) {
      std::size_t take = static_cast<std::size_t>(std::min<std::uint64_t>(have, remaining));
      std::memcpy(delivery_.destination + received_, staging_.get() + staged_begin_, take);
      staged_begin_ += take;
      received_ += take;
      remaining -= take;
    }
    if (remaining == 0) {
      in_payload_ = false;
      if (box_ != nullptr)
        box_->finish(std::move(delivery_));
      else if (header_.flags == frame_flag_abort)
        sink.aborted(abort_reason_);
      else
        sink.control(header_, control_.data());
      continue;
    }
    if (budget == 0 || drained) return true;
    staged_begin_ = staged_end_ = 0;  // staging is empty here
    std::size_t got = 0;
    if (remaining >= direct_read_threshold) {
      std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(remaining, SSIZE_MAX));
      if (!receive(delivery_.destination + received_, want, got)) return false;
      received_ += got;
    } else {
      if (!receive(staging_.get(), staging_size, got)) return false;
      staged_end_ = got;
    }
    if (got == 0) return true;
  }
}

void FrameReader::cut_off(const std::exception_ptr& error) {
  if (!in_payload_) return;
  in_payload_ = false;
  if (box_ != nullptr) box_->abort(std::move(delivery_), error);
}

}  // namespace hilo::tcp
