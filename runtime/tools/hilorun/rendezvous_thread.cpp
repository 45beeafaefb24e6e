#include "rendezvous_thread.hpp"

#include <unistd.h>

#include <chrono>

#include "common/message_prefix.hpp"
#include "hilo/detail/error_message.hpp"
#include "hilo/errors.hpp"

namespace hilo::hilorun {

RendezvousThread::RendezvousThread(const std::string& ip, int size, const std::string& token)
    : server_(ip, 0, size, token) {
  server_.keep_connections();
  thread_ = std::thread([this] { serve(); });
}

RendezvousThread::~RendezvousThread() {
  shutting_down_ = true;
  server_.stop();
  inbox_.stop();
  thread_.join();
}

std::vector<launch::RankReport> RendezvousThread::reports() {
  if (server_.all_registered()) {
    // Bounded anyway: the server itself gives up sending tables after 10 s.
    std::unique_lock lock(mutex_);
    handed_over_changed_.wait_for(lock, std::chrono::seconds(15), [&] { return handed_over_; });
  }
  return inbox_.drain();
}

void RendezvousThread::serve() {
  auto hand_over_done = [&] {
    std::lock_guard lock(mutex_);
    handed_over_ = true;
    handed_over_changed_.notify_all();
  };
  try {
    server_.serve(std::chrono::milliseconds::max());
    for (auto& [rank, connection] : server_.take_kept_connections()) {
      inbox_.adopt(rank, std::move(connection));
    }
    hand_over_done();
    inbox_.run();
  } catch (const hilo::Error& e) {
    hand_over_done();
    if (shutting_down_) return;  // the stop at the end is not news
    const std::string line =
        detail::make_message("hilorun: rendezvous: ", common::without_hilo_prefix(e.what()), "\n");
    [[maybe_unused]] ssize_t n = ::write(STDERR_FILENO, line.data(), line.size());
  }
}

}  // namespace hilo::hilorun
