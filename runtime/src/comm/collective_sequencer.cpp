#include "hilo/comm/detail/collective_sequencer.hpp"

#include "hilo/detail/error_message.hpp"
#include "hilo/errors.hpp"

namespace hilo::detail {

// Completes when its job has run; holds the job and the lock it is guarded by, never the
// sequencer.
class CollectiveSequencer::JobOperation final : public Operation {
 public:
  JobOperation(std::shared_ptr<Shared> shared, std::shared_ptr<Job> job)
      : shared_(std::move(shared)), job_(std::move(job)) {}

  bool test() override {
    std::lock_guard lock(shared_->mutex);
    if (job_->done && job_->error) std::rethrow_exception(job_->error);
    return job_->done;
  }

  Status wait(Deadline deadline) override {
    std::unique_lock lock(shared_->mutex);
    auto done = [&] { return job_->done; };
    if (deadline.is_never())
      shared_->changed.wait(lock, done);
    else if (!shared_->changed.wait_until(lock, deadline.at, done))
      throw_error<Timeout>("hilo: ", job_->what,
                           ": the nonblocking collective has not completed within the time limit "
                           "(some rank may not have called it yet); it goes on, so wait again or "
                           "raise the limit");
    if (job_->error) std::rethrow_exception(job_->error);
    return Status{};
  }

 private:
  std::shared_ptr<Shared> shared_;
  std::shared_ptr<Job> job_;
};

CollectiveSequencer::CollectiveSequencer() : shared_(std::make_shared<Shared>()) {}

CollectiveSequencer::~CollectiveSequencer() {
  {
    std::lock_guard lock(shared_->mutex);
    shared_->stopping = true;
  }
  shared_->changed.notify_all();
  if (worker_.joinable()) worker_.join();
}

std::unique_ptr<Operation> CollectiveSequencer::submit(std::string what,
                                                       std::function<void()> work) {
  auto job = std::make_shared<Job>();
  job->what = std::move(what);
  job->work = std::move(work);
  {
    std::lock_guard lock(shared_->mutex);
    shared_->queue.push_back(job);
  }
  shared_->changed.notify_all();
  if (!worker_.joinable()) worker_ = std::thread([this] { run(); });
  return std::make_unique<JobOperation>(shared_, std::move(job));
}

void CollectiveSequencer::drain() {
  std::unique_lock lock(shared_->mutex);
  shared_->changed.wait(lock, [&] { return shared_->queue.empty(); });
}

void CollectiveSequencer::run() {
  Shared& shared = *shared_;
  std::unique_lock lock(shared.mutex);
  for (;;) {
    shared.changed.wait(lock, [&] { return shared.stopping || !shared.queue.empty(); });
    if (shared.queue.empty()) return;  // stopping, and everything queued has run
    std::shared_ptr<Job> job = shared.queue.front();
    lock.unlock();
    std::exception_ptr error;
    try {
      job->work();
    } catch (...) {
      error = std::current_exception();
    }
    job->work = nullptr;  // drops the references to the caller's arguments
    lock.lock();
    job->error = error;
    job->done = true;
    shared.queue.pop_front();
    shared.changed.notify_all();
  }
}

}  // namespace hilo::detail
