#include <condition_variable>
#include <list>
#include <mutex>
#include <thread>
#include <vector>

#include "backends/mpi/mpi_call.hpp"
#include "backends/mpi/mpi_transport.hpp"
#include "hilo/errors.hpp"

namespace hilo::mpi {

struct MpiProgress::State {
  bool threads_allowed;
  std::mutex mutex;
  std::condition_variable work;
  std::list<std::shared_ptr<Pending>> pending;
  struct OrphanSend {
    MPI_Request request;
    std::shared_ptr<const void> keep_alive;
  };
  std::list<OrphanSend> orphans;
  // The buffers of sends still unreceived at stop(): MPI may read them until MPI_Finalize.
  std::vector<std::shared_ptr<const void>> kept_until_finalize;
  bool stopping = false;
  std::thread thread;

  // A send nobody received while hilo ran never will be: MPI frees it, and its buffer stays
  // allocated while MPI may still hold pointers into it (until MPI_Finalize, which comes after
  // stop()). After MPI_Finalize neither is needed. The caller holds `mutex`.
  void release(OrphanSend orphan) {
    if (mpi::finalized()) return;
    MPI_Request_free(&orphan.request);
    kept_until_finalize.push_back(std::move(orphan.keep_alive));
  }

  // Moves one receive forward without blocking; the caller holds `mutex`.
  static void advance(Pending& p) {
    if (p.stage == Pending::unmatched) {
      int found = 0;
      MPI_Message message;
      MPI_Status status;
      mpi::check(MPI_Improbe(p.source, p.tag, p.comm, &found, &message, &status), "MPI_Improbe");
      if (!found) return;
      std::size_t bytes = mpi::bytes_of(status);
      p.status = Status{status.MPI_SOURCE, status.MPI_TAG, bytes};
      std::string why = sink_mismatch(p.sink, p.sink.type, bytes);
      if (!why.empty()) {
        // MPI has matched it: it must be received, into a scratch buffer, before failing.
        std::vector<std::byte> scratch(bytes);
        MPI_Mrecv(scratch.data(), static_cast<int>(bytes), MPI_BYTE, &message, MPI_STATUS_IGNORE);
        p.error = std::make_exception_ptr(Error("hilo: nonblocking receive from rank " +
                                                std::to_string(status.MPI_SOURCE) + " with tag " +
                                                std::to_string(status.MPI_TAG) + ": " + why +
                                                " (MPI has consumed the message)"));
        p.stage = Pending::failed;
        return;
      }
      void* into = p.sink.has_fixed_size() ? p.sink.fixed : p.sink.resize(bytes);
      mpi::Count count(p.sink.type, bytes);
      mpi::check(MPI_Imrecv(into, count.count(), count.type(), &message, &p.request), "MPI_Imrecv");
      p.stage = Pending::receiving;
    }
    if (p.stage == Pending::receiving) {
      int done = 0;
      mpi::check(MPI_Test(&p.request, &done, MPI_STATUS_IGNORE), "MPI_Test");
      if (done) p.stage = Pending::done;
    }
  }
};

MpiProgress::MpiProgress(bool threads_allowed) : state_(std::make_unique<State>()) {
  state_->threads_allowed = threads_allowed;
}

MpiProgress::~MpiProgress() {
  stop();
  if (mpi::finalized()) return;  // kept_until_finalize goes with the state
  // MPI outlives hilo here (the program initialised it and finalises it later): it may still
  // read those buffers, so they are never freed.
  for (auto& buffer : state_->kept_until_finalize)
    new std::shared_ptr<const void>(std::move(buffer));
}

void MpiProgress::stop() {
  {
    std::lock_guard lock(state_->mutex);
    state_->stopping = true;
  }
  state_->work.notify_all();
  if (state_->thread.joinable()) state_->thread.join();
  std::lock_guard lock(state_->mutex);
  for (auto& o : state_->orphans) state_->release(std::move(o));
  state_->orphans.clear();
}

std::shared_ptr<MpiProgress::Pending> MpiProgress::add(MPI_Comm comm, int source, int tag,
                                                       Sink sink) {
  auto p = std::make_shared<Pending>();
  p->comm = comm;
  p->source = source == any_source ? MPI_ANY_SOURCE : source;
  p->tag = tag == any_tag ? MPI_ANY_TAG : tag;
  p->sink = std::move(sink);
  std::lock_guard lock(state_->mutex);
  State::advance(*p);
  if (p->stage < Pending::done) {
    state_->pending.push_back(p);
    if (state_->threads_allowed && !state_->thread.joinable())
      state_->thread = std::thread([this] { run(); });
    state_->work.notify_one();
  }
  return p;
}

bool MpiProgress::poll(Pending& p) {
  std::lock_guard lock(state_->mutex);
  if (p.stage < Pending::done) State::advance(p);
  if (p.stage == Pending::failed) std::rethrow_exception(p.error);
  return p.stage == Pending::done;
}

void MpiProgress::remove(const std::shared_ptr<Pending>& p) {
  std::lock_guard lock(state_->mutex);
  state_->pending.remove(p);
  if (p->stage == Pending::receiving && !mpi::finalized()) {
    // Already matched: the bytes are on their way into the user's buffer; let them land.
    MPI_Wait(&p->request, MPI_STATUS_IGNORE);
    p->stage = Pending::done;
  }
}

void MpiProgress::adopt_send(MPI_Request request, std::shared_ptr<const void> keep_alive) {
  std::lock_guard lock(state_->mutex);
  if (state_->stopping) {  // the runtime has ended: no thread may start to watch it
    state_->release({request, std::move(keep_alive)});
    return;
  }
  state_->orphans.push_back({request, std::move(keep_alive)});
  if (state_->threads_allowed && !state_->thread.joinable())
    state_->thread = std::thread([this] { run(); });
  state_->work.notify_one();
}

void MpiProgress::keep_until_finalize(std::shared_ptr<const void> buffers) {
  std::lock_guard lock(state_->mutex);
  state_->kept_until_finalize.push_back(std::move(buffers));
}

void MpiProgress::run() {
  auto pause = std::chrono::microseconds(0);
  std::unique_lock lock(state_->mutex);
  while (!state_->stopping) {
    bool waiting = false;
    for (auto& p : state_->pending) {
      if (p->stage >= Pending::done) continue;
      try {
        State::advance(*p);
      } catch (...) {
        p->error = std::current_exception();
        p->stage = Pending::failed;
      }
      waiting = waiting || p->stage < Pending::done;
    }
    state_->orphans.remove_if([](State::OrphanSend& o) {
      int done = 0;
      return MPI_Test(&o.request, &done, MPI_STATUS_IGNORE) != MPI_SUCCESS || done;
    });
    waiting = waiting || !state_->orphans.empty();
    if (!waiting) {
      state_->work.wait(lock);
      pause = std::chrono::microseconds(0);
      continue;
    }
    // Poll often while messages may be close, then back off so an idle wait costs little CPU.
    lock.unlock();
    if (pause.count() == 0)
      std::this_thread::yield();
    else
      std::this_thread::sleep_for(pause);
    pause = std::min(pause + std::chrono::microseconds(10), std::chrono::microseconds(500));
    lock.lock();
  }
}

}  // namespace hilo::mpi
