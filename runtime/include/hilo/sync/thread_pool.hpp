/// \file
/// hilo::ThreadPool: a fixed set of worker threads that run submitted tasks, with map() in the
/// style of Python's multiprocessing Pool.map (results in input order).
///
/// \code
/// hilo::ThreadPool pool(4);
/// std::vector<long> sums = pool.map(sum_up_to, std::vector<long>{100000, 200000});
/// std::future<int> answer = pool.submit([](int x) { return x * 2; }, 21);
/// \endcode
///
/// - submit(fn, args...) queues fn(args...) and returns a std::future for its result; an
///   exception thrown by fn is stored in the future (a throwing task never kills a worker).
/// - map(fn, inputs) runs fn on every input (concurrently: fn must be safe to call from several
///   threads at once) and returns the results in input order. It returns only after every one of
///   its tasks has finished; if any threw, it then rethrows the exception of the first failing
///   input (in input order).
/// - While map waits, the calling thread runs queued tasks itself (any task in the queue). That
///   is what makes map safe to call from inside a task: a worker that waits in map keeps working,
///   so nested map calls cannot deadlock even with one worker.
/// - Tasks may submit further tasks. Blocking on a submit() future inside a task is the one way
///   to deadlock (every worker could be waiting for a task that no worker is free to run); use map
///   there instead, or return the future to the caller.
/// - ThreadSanitizer with GCC's libstdc++ may report a race when a task's exception reaches its
///   caller through the future: a false positive (libstdc++.so is not instrumented, so TSan
///   cannot see std::exception_ptr's reference count). Suppress it with
///   `race:std::__future_base::_Result_base::_Deleter`, as tests/unit/sync/thread_pool_test.cpp
///   does; map's exceptions do not trigger it.
/// - The destructor drains: it lets the workers finish every queued task (including tasks those
///   tasks submit), then joins them. Submitting from outside after destruction begins is a bug.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <exception>
#include <functional>
#include <future>
#include <initializer_list>
#include <iterator>
#include <latch>
#include <memory>
#include <mutex>
#include <optional>
#include <ranges>
#include <thread>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace hilo {

/// A fixed set of worker threads that run submitted tasks, with map() in the style of Python's
/// Pool.map (see thread_pool.hpp). Not copyable.
class ThreadPool {
 public:
  /// The most workers a pool may have.
  static constexpr int max_threads = 4096;

  /// One worker per hardware thread (at least one).
  ThreadPool();
  /// Throws std::invalid_argument unless 1 <= threads <= max_threads, hilo::Error if the
  /// system cannot start that many threads.
  explicit ThreadPool(int threads);
  /// Finishes every queued task, then joins the workers.
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  /// How many worker threads the pool has.
  std::size_t size() const noexcept { return workers_.size(); }

  template <class Fn, class... Args>
  /// Queues fn(args...) and returns a std::future for its result; never waits. An exception thrown
  /// by fn is stored in the future. Do not block on the future inside a task (use map).
  auto submit(Fn&& fn, Args&&... args)
      -> std::future<std::invoke_result_t<std::decay_t<Fn>, std::decay_t<Args>...>> {
    using Result = std::invoke_result_t<std::decay_t<Fn>, std::decay_t<Args>...>;
    // std::function needs a copyable target and packaged_task is move-only, hence the
    // shared_ptr (std::move_only_function is C++23).
    auto task = std::make_shared<std::packaged_task<Result()>>(
        [fn = std::forward<Fn>(fn), ... args = std::forward<Args>(args)]() mutable -> Result {
          return std::invoke(std::move(fn), std::move(args)...);
        });
    std::future<Result> result = task->get_future();
    enqueue([task] { (*task)(); });
    return result;
  }

  template <std::ranges::forward_range Inputs, class Fn>
  /// Runs fn on every input concurrently and returns the results in input order. Blocks until every
  /// task has finished, running queued tasks on the calling thread meanwhile (so nested map cannot
  /// deadlock); then rethrows the exception of the first failing input, if any.
  auto map(Fn&& fn, const Inputs& inputs) {
    using Input = std::ranges::range_reference_t<const Inputs&>;
    using Result = std::remove_cvref_t<std::invoke_result_t<Fn&, Input>>;
    static_assert(!std::is_void_v<Result>, "ThreadPool::map needs a function that returns a value");

    const auto count = static_cast<std::size_t>(std::ranges::distance(inputs));
    std::vector<std::optional<Result>> results(count);
    std::vector<std::exception_ptr> errors(count);
    std::latch finished(static_cast<std::ptrdiff_t>(count));

    // The tasks refer to fn, the inputs and the slots above by reference: safe, because this
    // function does not return (or throw) before every queued task has counted down.
    auto run_one = [&](std::size_t index, Input input) {
      try {
        results[index].emplace(std::invoke(fn, std::forward<Input>(input)));
      } catch (...) {
        errors[index] = std::current_exception();
      }
      finished.count_down();
    };
    std::size_t queued = 0;
    try {
      for (auto it = std::ranges::begin(inputs); queued < count; ++it, ++queued) {
        if constexpr (std::is_lvalue_reference_v<Input>) {
          enqueue([&run_one, queued, element = &*it] { run_one(queued, *element); });
        } else {  // a range of computed values (a view): each task keeps its own copy
          enqueue([&run_one, queued, element = std::remove_cvref_t<Input>(*it)]() mutable {
            run_one(queued, std::move(element));
          });
        }
      }
    } catch (...) {  // could not queue them all (out of memory): wait for those queued, rethrow
      finished.count_down(static_cast<std::ptrdiff_t>(count - queued));
      help_until(finished);
      throw;
    }
    help_until(finished);

    for (const std::exception_ptr& error : errors) {
      if (error) std::rethrow_exception(error);
    }
    std::vector<Result> ordered;
    ordered.reserve(count);
    for (std::optional<Result>& result : results) ordered.push_back(std::move(*result));
    return ordered;
  }

  /// map over a braced list: pool.map(fn, {1, 2, 3}).
  template <class T, class Fn>
  auto map(Fn&& fn, std::initializer_list<T> inputs) {
    return map(std::forward<Fn>(fn), std::vector<T>(inputs));
  }

 private:
  using Task = std::function<void()>;  // never throws: submit and map catch inside the task

  void enqueue(Task task);
  // Runs queued tasks on the calling thread until `finished` is done; sleeps on it once the
  // queue is empty (then every task it waits for is already running on another thread).
  void help_until(std::latch& finished);
  void work();

  std::mutex mutex_;
  std::condition_variable work_or_stop_;
  std::deque<Task> queue_;  // guarded by mutex_
  bool stopping_ = false;   // guarded by mutex_
  std::vector<std::thread> workers_;
};

}  // namespace hilo
