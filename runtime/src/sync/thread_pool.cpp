// hilo::ThreadPool's workers and queue; submit and map are templates in the header.
#include "hilo/sync/thread_pool.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>
#include <system_error>

#include "hilo/detail/error_message.hpp"
#include "hilo/errors.hpp"

namespace hilo {
namespace {

int checked_thread_count(int threads) {
  if (threads < 1 || threads > ThreadPool::max_threads) {
    detail::throw_error<std::invalid_argument>("hilo: ThreadPool: ", threads,
                                               " threads is out of range; ask for between 1 and ",
                                               ThreadPool::max_threads);
  }
  return threads;
}

int hardware_threads() {
  const unsigned reported = std::thread::hardware_concurrency();  // 0 when unknown
  return static_cast<int>(std::clamp(reported, 1u, static_cast<unsigned>(ThreadPool::max_threads)));
}

}  // namespace

ThreadPool::ThreadPool() : ThreadPool(hardware_threads()) {}

ThreadPool::ThreadPool(int threads) {
  const int count = checked_thread_count(threads);
  workers_.reserve(static_cast<std::size_t>(count));
  try {
    for (int i = 0; i < count; ++i) workers_.emplace_back([this] { work(); });
  } catch (const std::system_error& error) {
    const std::size_t started = workers_.size();
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    work_or_stop_.notify_all();
    for (std::thread& worker : workers_) worker.join();
    detail::throw_error<Error>("hilo: ThreadPool: could only start ", started, " of ", count,
                               " worker threads (", error.what(), "); ask for fewer threads");
  }
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  work_or_stop_.notify_all();
  for (std::thread& worker : workers_) worker.join();
}

void ThreadPool::enqueue(Task task) {
  {
    std::lock_guard lock(mutex_);
    queue_.push_back(std::move(task));
  }
  work_or_stop_.notify_one();
}

void ThreadPool::work() {
  for (;;) {
    Task task;
    {
      std::unique_lock lock(mutex_);
      work_or_stop_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      // Stopping, but drain first: leave only once the queue is empty.
      if (queue_.empty()) return;
      task = std::move(queue_.front());
      queue_.pop_front();
    }
    task();
  }
}

void ThreadPool::help_until(std::latch& finished) {
  while (!finished.try_wait()) {
    Task task;
    {
      std::lock_guard lock(mutex_);
      if (queue_.empty()) break;
      task = std::move(queue_.front());
      queue_.pop_front();
    }
    task();
  }
  // Nothing left to take: every unfinished task of this map is running on another thread.
  finished.wait();
}

}  // namespace hilo
