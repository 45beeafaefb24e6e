#include "backends/tcp/outgoing_frame.hpp"

#include <cstring>
#include <thread>

#include "backends/tcp/single_copy.hpp"

namespace hilo::tcp {

void OutgoingFrame::complete(std::exception_ptr error) {
  {
    std::lock_guard lock(mutex_);
    error_ = std::move(error);
    state_.store(error_ ? kFailed : kDone, std::memory_order_release);
  }
  changed_.notify_all();
}

bool OutgoingFrame::wait(Deadline deadline) {
  for (int round = 0; round < send_spin_rounds && pending(); ++round)
    if (round > send_spin_rounds / 4) std::this_thread::yield();
  std::unique_lock lock(mutex_);
  while (pending()) {
    if (copy_stage_ == kHalfOffered) {
      lock.unlock();
      write_second_half();
      lock.lock();
      continue;
    }
    if (deadline.is_never())
      changed_.wait(lock);
    else if (changed_.wait_until(lock, deadline.at) == std::cv_status::timeout && pending() &&
             copy_stage_ != kHalfOffered)
      return false;
  }
  if (error_) std::rethrow_exception(error_);
  return true;
}

int OutgoingFrame::write_cleared(pid_t pid, std::uint64_t address) {
  constexpr std::size_t min_half = 128 * 1024;
  constexpr std::size_t page = 4096;
  {
    std::lock_guard copy_lock(copy_mutex);  // from here on, copy_source stays where it is
    std::lock_guard lock(mutex_);
    copy_pid_ = pid;
    destination_ = address;
    split_ = copy_bytes >= 2 * min_half ? copy_bytes / 2 / page * page : copy_bytes;
    copy_stage_ = split_ < copy_bytes ? kHalfOffered : kHalfDone;
  }
  changed_.notify_all();
  const int failure = write_into(pid, copy_source, address, split_);
  write_second_half();  // unless the sending thread took it
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [&] { return copy_stage_ == kHalfDone; });
  return failure != 0 ? failure : second_half_failure_;
}

bool OutgoingFrame::own_remaining_payload() {
  if (keep_alive || owned) return true;
  if (awaits_clearance()) {
    std::lock_guard lock(copy_mutex);
    if (!pending()) return true;
    {
      std::lock_guard stage_lock(mutex_);
      if (copy_stage_ != kNotCleared) return false;
    }
    owned = std::make_unique_for_overwrite<std::byte[]>(copy_bytes);
    std::memcpy(owned.get(), copy_source, copy_bytes);
    copy_source = owned.get();
    return true;
  }
  std::size_t done = sent > frame_header_size ? sent - frame_header_size : 0;
  std::size_t rest = bytes - done;
  owned = std::make_unique_for_overwrite<std::byte[]>(rest);
  if (rest > 0) std::memcpy(owned.get(), data + done, rest);
  // Keep `data + done` pointing at the first unsent byte: data = owned - done.
  data = owned.get() - done;
  return true;
}

void OutgoingFrame::write_second_half() {
  {
    std::lock_guard lock(mutex_);
    if (copy_stage_ != kHalfOffered) return;
    copy_stage_ = kHalfTaken;
  }
  const int failure =
      write_into(copy_pid_, copy_source + split_, destination_ + split_, copy_bytes - split_);
  {
    std::lock_guard lock(mutex_);
    second_half_failure_ = failure;
    copy_stage_ = kHalfDone;
  }
  changed_.notify_all();
}

bool held_back(const OutgoingFrame& frame, int in_flight) {
  return in_flight > 0 && frame.sent == 0 && !frame.control;
}
bool held_back(const std::deque<std::shared_ptr<OutgoingFrame>>& queue, int in_flight) {
  return !queue.empty() && held_back(*queue.front(), in_flight);
}

std::shared_ptr<OutgoingFrame> ready_to_send_frame(const FrameHeader& header, const void* data,
                                                   std::shared_ptr<const void> keep_alive) {
  FrameHeader announce = header;
  announce.flags = frame_flag_ready_to_send;
  auto frame = std::make_shared<OutgoingFrame>(encode_frame_header(announce), nullptr, 0,
                                               std::move(keep_alive));
  frame->copy_source = static_cast<const std::byte*>(data);
  frame->copy_bytes = header.length;
  return frame;
}

}  // namespace hilo::tcp
