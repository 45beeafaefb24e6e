#include "backends/tcp/stranger_pool.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>

namespace hilo::tcp {

StrangerPool::StrangerPool(RejectionLog& log, std::size_t capacity, Clock::duration window)
    : log_(log), capacity_(std::max<std::size_t>(capacity, 1)), window_(window) {}

StrangerPool::Accepted StrangerPool::accept_from(int listener_fd, Clock::time_point now) {
  Accepted accepted;
  const std::uint64_t first_serial = next_serial_;
  for (std::size_t taken = 0; taken < capacity_;) {
    int fd = ::accept4(listener_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) {
      common::UniqueFd owned(fd);
      std::string ip = remote_ip_of(fd);
      admit(std::move(owned), std::move(ip), now);
      ++taken;
      continue;
    }
    if (errno == EINTR || errno == ECONNABORTED) continue;
    if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
      // The listener stays readable; make room, or tell the caller to let it rest.
      if (evict_oldest("this rank ran out of file descriptors for unauthenticated connections"))
        continue;
      accepted.out_of_fds = true;
    }
    break;  // EAGAIN: nothing waits; anything else: the listener is the caller's business
  }
  for (const auto& [fd, s] : strangers_)
    if (s.serial >= first_serial) accepted.fds.push_back(fd);
  return accepted;
}

void StrangerPool::admit(common::UniqueFd fd, std::string remote_ip, Clock::time_point now) {
  if (strangers_.size() >= capacity_)
    evict_oldest("too many unauthenticated connections at once (" + std::to_string(capacity_) +
                 "); the oldest is closed to make room");
  const int key = fd.get();
  strangers_[key] =
      Stranger{std::move(fd), std::move(remote_ip), {}, now + window_, next_serial_++};
}

StrangerPool::Reading StrangerPool::read(int fd) {
  Reading reading;
  auto it = strangers_.find(fd);
  if (it == strangers_.end()) {
    reading.state = Reading::State::closed;
    return reading;
  }
  Stranger& s = it->second;
  // Up to the hello's end, whatever is available now: its header says how long the rest is.
  char buffer[max_hello_size];
  for (std::size_t want; (want = hello_bytes_missing(s.received.data(), s.received.size())) > 0;) {
    ssize_t got = ::recv(fd, buffer, want, MSG_DONTWAIT);
    if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) {
      refuse(fd, "it closed the connection before completing a handshake");
      reading.state = Reading::State::closed;
      return reading;
    }
    s.received.append(buffer, static_cast<std::size_t>(got));
  }
  HelloParse parse = parse_hello(s.received.data(), s.received.size());
  if (parse.result == HelloParse::Result::need_more) return reading;
  if (parse.result == HelloParse::Result::malformed) {
    refuse(fd, parse.why);
    reading.state = Reading::State::closed;
    return reading;
  }
  reading.state = Reading::State::hello;
  reading.hello = std::move(parse.hello);
  return reading;
}

common::UniqueFd StrangerPool::take(int fd) {
  auto it = strangers_.find(fd);
  if (it == strangers_.end()) return {};
  common::UniqueFd taken = std::move(it->second.fd);
  strangers_.erase(it);
  return taken;
}

void StrangerPool::refuse(int fd, const std::string& why) {
  auto it = strangers_.find(fd);
  if (it == strangers_.end()) return;
  log_.reject(it->second.remote_ip, why);
  if (before_closing_) before_closing_(fd);
  strangers_.erase(it);  // closes it
}

void StrangerPool::expire(Clock::time_point now) {
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(window_).count();
  for (auto it = strangers_.begin(); it != strangers_.end();) {
    auto next = std::next(it);
    if (now >= it->second.give_up_at)
      refuse(it->first, "no complete handshake within " + std::to_string(seconds) + " s");
    it = next;
  }
}

std::optional<StrangerPool::Clock::time_point> StrangerPool::next_expiry() const {
  std::optional<Clock::time_point> nearest;
  for (const auto& [fd, s] : strangers_)
    if (!nearest || s.give_up_at < *nearest) nearest = s.give_up_at;
  return nearest;
}

std::vector<int> StrangerPool::fds() const {
  std::vector<int> out;
  out.reserve(strangers_.size());
  for (const auto& [fd, s] : strangers_) out.push_back(fd);
  return out;
}

bool StrangerPool::make_room() {
  return evict_oldest("this rank needs its file descriptor for a connection to a peer");
}

bool StrangerPool::evict_oldest(const std::string& why) {
  auto oldest = std::min_element(
      strangers_.begin(), strangers_.end(),
      [](const auto& a, const auto& b) { return a.second.serial < b.second.serial; });
  if (oldest == strangers_.end()) return false;
  refuse(oldest->first, why);
  return true;
}

}  // namespace hilo::tcp
