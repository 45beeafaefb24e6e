// The worker that runs a communicator's nonblocking collectives (Communicator::ibarrier, ...)
// when the backend has no native form of them: one thread per communicator, started by the first
// one, that runs them one at a time in the order they were called. Every rank calls collectives
// in the same order, and a blocking collective waits (drain) until the collectives queued before
// it have run, so the order on the wire is the call order on every rank, as MPI requires of
// nonblocking collectives. They progress without the caller polling, on every backend.
//
// Locking: one mutex (Shared::mutex) guards the queue, `stopping` and every Job's `done` and
// `error`; a job's `work` is touched by the worker only, outside the lock, while the job is at
// the front of the queue. The worker is the only thread that pops the queue.
//
// Internal to hilo: the names live in hilo::detail and may change.
#pragma once

#include <condition_variable>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "hilo/comm/detail/transport.hpp"

namespace hilo::detail {

class CollectiveSequencer {
 public:
  CollectiveSequencer();
  // Runs what is queued to its end (each job is bounded by the deadline it was given), then
  // stops the worker: nothing queued is dropped, so no rank is left waiting for this one.
  ~CollectiveSequencer();
  CollectiveSequencer(const CollectiveSequencer&) = delete;
  CollectiveSequencer& operator=(const CollectiveSequencer&) = delete;

  // Queues `work` behind every job submitted before; the Operation completes once it has run,
  // and its test()/wait() rethrow what it threw. `what` names it in a Timeout of wait ("ibarrier
  // on rank 3").
  std::unique_ptr<Operation> submit(std::string what, std::function<void()> work);
  // Returns once every job submitted so far has run.
  void drain();

 private:
  struct Job {
    std::string what;
    std::function<void()> work;
    bool done = false;
    std::exception_ptr error;
  };
  struct Shared {
    std::mutex mutex;
    std::condition_variable changed;
    std::deque<std::shared_ptr<Job>> queue;  // the front one is running (or about to)
    bool stopping = false;
  };
  class JobOperation;

  void run();

  // Shared with the Operations, which may outlive the sequencer (a Request kept after its
  // communicator is gone).
  std::shared_ptr<Shared> shared_;
  std::thread worker_;  // started by the first submit
};

}  // namespace hilo::detail
