#include "backends/tcp/stranger_listener.hpp"

#include <sys/epoll.h>

#include <cerrno>

#include "backends/tcp/handshake.hpp"
#include "common/system_error.hpp"

namespace hilo::tcp {

StrangerListener::StrangerListener(Listener listener, std::unique_ptr<RejectionLog> log,
                                   std::string token, int job_size)
    : listener_(std::move(listener)),
      log_(log ? std::move(log) : std::make_unique<RejectionLog>("listener", detail::Log{})),
      strangers_(*log_),
      token_(std::move(token)),
      job_size_(job_size) {}

void StrangerListener::watch_with(int epoll_fd) {
  epoll_fd_ = epoll_fd;
  strangers_.call_before_closing(
      [this](int fd) { ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr); });
  if (!listener_.fd) return;
  epoll_event event{};
  event.events = EPOLLIN;
  event.data.u64 = listener_tag;
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, listener_.fd.get(), &event) != 0)
    common::throw_errno("hilo: tcp: epoll_ctl");
}

bool StrangerListener::owns(std::uint64_t tag) {
  return tag == listener_tag || (tag >> 32) == (stranger_tag >> 32);
}

void StrangerListener::handle(std::uint64_t tag) {
  if (tag == listener_tag)
    accept_strangers();
  else
    read_stranger(static_cast<int>(tag & 0xffffffffu));
}

std::optional<StrangerListener::Clock::time_point> StrangerListener::next_wakeup() const {
  auto nearest = strangers_.next_expiry();
  if (listener_rests_until_ && (!nearest || *listener_rests_until_ < *nearest))
    nearest = listener_rests_until_;
  return nearest;
}

void StrangerListener::expire(Clock::time_point now) {
  strangers_.expire(now);
  wake_listener_if_rested(now);
}

void StrangerListener::accept_strangers() {
  StrangerPool::Accepted accepted = strangers_.accept_from(listener_.fd.get(), Clock::now());
  for (int fd : accepted.fds) {
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.u64 = stranger_tag | static_cast<std::uint32_t>(fd);
    if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &event) != 0)
      strangers_.refuse(fd, common::errno_message("watching it failed", errno));
    else
      read_stranger(fd);  // a hello may be in already
  }
  if (accepted.out_of_fds && !listener_rests_until_) {
    epoll_event event{};  // no events: stays registered, reports nothing
    event.data.u64 = listener_tag;
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, listener_.fd.get(), &event);
    listener_rests_until_ = Clock::now() + StrangerPool::listener_rest;
  }
}

void StrangerListener::wake_listener_if_rested(Clock::time_point now) {
  if (!listener_rests_until_ || now < *listener_rests_until_) return;
  epoll_event event{};
  event.events = EPOLLIN;
  event.data.u64 = listener_tag;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, listener_.fd.get(), &event);
  listener_rests_until_.reset();
}

void StrangerListener::read_stranger(int fd) {
  StrangerPool::Reading reading = strangers_.read(fd);
  if (reading.state != StrangerPool::Reading::State::hello) return;
  if (auto problem = hello_problem(reading.hello, token_, job_size_))
    return strangers_.refuse(fd, *problem);
  strangers_.refuse(fd,
                    "rank " + std::to_string(reading.hello.rank) +
                        " is already connected (a duplicate rank, or a connection after setup)");
}

}  // namespace hilo::tcp
