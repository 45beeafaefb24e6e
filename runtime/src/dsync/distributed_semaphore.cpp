#include "hilo/dsync/distributed_semaphore.hpp"

#include <algorithm>
#include <cstdio>
#include <deque>
#include <exception>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>

#include "hilo/detail/error_message.hpp"
#include "hilo/errors.hpp"
#if defined(HILO_WITH_MPI)
#include "hilo/mpi.hpp"  // MPI_Query_thread: the mpi backend's thread level
#endif

namespace hilo {

namespace {

// The protocol, on the semaphore's own dup() of the user's communicator:
//   client -> coordinator, tag request_tag:  Message{kind, reply_tag}
//   coordinator -> client, tag reply_tag:     Message{answer, reply_tag}   (exactly one answer
//                                              per acquire/try_acquire request)
//   coordinator -> client, tag farewell_tag:  Message{farewell}            (shutdown)
// A reply tag names one waiting request of one rank; the client leases it for the request.
constexpr int request_tag = 0;
constexpr int farewell_tag = 1;
constexpr int first_reply_tag = 2;
// MPI guarantees tags up to 32767 (MPI_TAG_UB): that many threads of one rank may wait at once.
constexpr int last_reply_tag = 32767;

enum Kind : std::int32_t {
  // requests
  acquire_request = 1,  // queue for a unit
  try_request,          // a unit now, or an immediate refusal
  cancel_request,       // withdraw the queued request with this reply tag
  release_request,      // one unit back
  leave_request,        // this rank is done with the semaphore (destructor)
  stop_request,         // the coordinator's own destructor gave up waiting: end now
  // answers
  granted,
  refused,    // to a try_request
  cancelled,  // to a cancel_request that found its request still queued
  farewell,
};

struct Message {
  std::int32_t kind = 0;
  std::int32_t reply_tag = 0;
  std::int64_t reserved = 0;  // keeps the message 16 bytes with no padding bytes on the wire
};

// Waits without limit, whatever the communicator's default timeout: the service thread must
// stay ready for requests however long the program runs between them.
const TimeLimit no_limit = within(std::chrono::nanoseconds::max());

// "hilo: DistributedSemaphore<operation> on rank R: ", the start of every error this rank raises.
detail::OnRank on_rank(const Communicator& comm, std::string_view operation) {
  return {operation, comm.rank()};
}

void check_thread_support(Communicator& comm) {
#if defined(HILO_WITH_MPI)
  if (comm.backend_name() != "mpi") return;
  int provided = MPI_THREAD_SINGLE;
  MPI_Query_thread(&provided);
  if (provided != MPI_THREAD_MULTIPLE)
    detail::throw_error<Error>(
        on_rank(comm, "DistributedSemaphore"),
        "the MPI library runs without MPI_THREAD_MULTIPLE, which the coordinator's "
        "service thread needs; unset HILO_MPI_THREADS (or set it to multiple), and if MPI was "
        "initialised outside hilo, ask MPI_Init_thread for MPI_THREAD_MULTIPLE");
#else
  (void)comm;
#endif
}

}  // namespace

namespace detail {

// The coordinator's service thread: owns the count and the FIFO queue of waiting requests.
// Every change happens on this one thread, so none of its state needs a lock.
class SemaphoreCoordinator {
 public:
  SemaphoreCoordinator(Communicator& service, int limit)
      : service_(service),
        free_units_(limit),
        held_by_rank_(static_cast<std::size_t>(service.size()), 0),
        thread_([this] { serve(); }) {}
  ~SemaphoreCoordinator() { thread_.join(); }

 private:
  struct Waiter {
    int rank;
    int reply_tag;
  };

  void serve() noexcept {
    try {
      while (left_ < service_.size()) {
        Message request;
        Status from = service_.recv(any_source, request_tag, request, no_limit);
        if (request.kind == stop_request) return;
        handle(from.source, request);
      }
      // Every rank has left: let the others (and this rank's destructor) go.
      for (int r = 0; r < service_.size(); ++r) service_.send(r, farewell_tag, Message{farewell});
    } catch (const PeerLost&) {
      // The job lost a rank: every rank's pending receives fail with PeerLost on their own, so
      // there is nobody left to serve and nothing to add.
    } catch (const std::exception& e) {
      std::fprintf(stderr, "hilo: DistributedSemaphore on rank %d: the coordinator stopped: %s\n",
                   service_.rank(), e.what());
    }
  }

  void handle(int rank, const Message& request) {
    switch (request.kind) {
      case acquire_request:
        queue_.push_back({rank, request.reply_tag});
        grant_while_free();
        return;
      case try_request:
        if (free_units_ > 0 && queue_.empty()) {
          grant({rank, request.reply_tag});
        } else {
          answer({rank, request.reply_tag}, refused);
        }
        return;
      case cancel_request:
        // Still queued: withdraw it. Already granted: the grant is on its way and is the
        // answer the client receives, so nothing more is sent.
        for (auto it = queue_.begin(); it != queue_.end(); ++it) {
          if (it->rank == rank && it->reply_tag == request.reply_tag) {
            queue_.erase(it);
            answer({rank, request.reply_tag}, cancelled);
            return;
          }
        }
        return;
      case release_request:
        if (held_by_rank_[rank] == 0)
          detail::throw_error<Error>("rank ", rank,
                                     " released a unit it does not hold (hilo internal error: "
                                     "the client checks this before sending)");
        --held_by_rank_[rank];
        ++free_units_;
        grant_while_free();
        return;
      case leave_request:
        // Units the rank still holds come back, so that the ranks still working can use them.
        free_units_ += held_by_rank_[rank];
        held_by_rank_[rank] = 0;
        ++left_;
        grant_while_free();
        return;
      default:
        detail::throw_error<Error>("unknown request kind ", request.kind, " from rank ", rank,
                                   " (hilo internal error)");
    }
  }

  // FIFO: the oldest waiter gets the next free unit.
  void grant_while_free() {
    while (free_units_ > 0 && !queue_.empty()) {
      Waiter next = queue_.front();
      queue_.pop_front();
      grant(next);
    }
  }

  void grant(const Waiter& w) {
    --free_units_;
    ++held_by_rank_[w.rank];
    answer(w, granted);
  }

  void answer(const Waiter& w, Kind kind) {
    service_.send(w.rank, w.reply_tag, Message{kind, w.reply_tag});
  }

  Communicator& service_;
  int free_units_;
  std::vector<int> held_by_rank_;
  std::deque<Waiter> queue_;
  int left_ = 0;
  std::thread thread_;  // last: starts once everything it uses is ready
};

}  // namespace detail

DistributedSemaphore::DistributedSemaphore(Communicator& comm, int k, int coordinator)
    : service_(comm.dup()),
      limit_(k),
      coordinator_(coordinator),
      next_reply_tag_(first_reply_tag),
      uncaught_at_construction_(std::uncaught_exceptions()) {
  // Every rank checks the same gathered values, so a mismatch throws on all of them alike.
  struct Settings {
    int k, coordinator;
  };
  std::vector<Settings> all = service_.all_gather(Settings{k, coordinator});
  const auto bad_setting = [&](const Settings& s) -> std::string {
    if (s.k < 1) return detail::make_message("k = ", s.k, "; k must be >= 1");
    if (s.coordinator < 0 || s.coordinator >= service_.size())
      return detail::make_message("coordinator ", s.coordinator,
                                  " is not a rank of this communicator (0..", service_.size() - 1,
                                  ")");
    return {};
  };
  const detail::OnRank here = on_rank(service_, "DistributedSemaphore");
  // This rank's own mistake is a bad argument; another rank's, or a disagreement, is an error
  // about the other ranks (errors.hpp), though every rank sees it and throws.
  const std::string own_mistake = bad_setting(all[static_cast<std::size_t>(service_.rank())]);
  if (!own_mistake.empty()) detail::throw_error<std::invalid_argument>(here, own_mistake);
  for (int r = 0; r < service_.size(); ++r) {
    const Settings& s = all[static_cast<std::size_t>(r)];
    const std::string mistake = bad_setting(s);
    if (!mistake.empty()) detail::throw_error<Error>(here, "rank ", r, " passed ", mistake);
    if (s.k != all[0].k || s.coordinator != all[0].coordinator)
      detail::throw_error<Error>(here, "the ranks disagree: rank 0 passed k = ", all[0].k,
                                 ", coordinator ", all[0].coordinator, "; rank ", r,
                                 " passed k = ", s.k, ", coordinator ", s.coordinator,
                                 "; every rank must pass the same");
  }
  check_thread_support(service_);
  if (service_.rank() == coordinator_)
    service_thread_ = std::make_unique<detail::SemaphoreCoordinator>(service_, limit_);
}

DistributedSemaphore::~DistributedSemaphore() {
  shut_down();
}

void DistributedSemaphore::shut_down() noexcept {
  if (std::uncaught_exceptions() > uncaught_at_construction_) {
    // Destroyed while an exception unwinds this rank: the other ranks may be waiting for this
    // one in some other call and never come to destroy theirs, so do not wait for them. Give
    // back what this rank holds (non-coordinator) or stop serving (coordinator); the backend
    // then reports this rank as lost to whoever still waits on it.
    if (service_thread_) {
      stop_service_thread();
      service_thread_.reset();  // joins the service thread
      return;
    }
    try {
      service_.send(coordinator_, request_tag, Message{leave_request});
    } catch (const std::exception&) {
      // The job has already failed: nobody is left to use the units.
    }
    return;
  }
  try {
    service_.send(coordinator_, request_tag, Message{leave_request});
    Message answer = service_.recv<Message>(coordinator_, farewell_tag);
    if (answer.kind != farewell)
      detail::throw_error<Error>("unexpected answer ", answer.kind, " (hilo internal error)");
  } catch (const Timeout& e) {
    std::fprintf(stderr,
                 "hilo: DistributedSemaphore on rank %d: shutdown gave up waiting for the other "
                 "ranks (every rank must destroy the semaphore): %s\n",
                 service_.rank(), e.what());
    stop_service_thread();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "hilo: DistributedSemaphore on rank %d: shutdown did not complete: %s\n",
                 service_.rank(), e.what());
    stop_service_thread();
  }
  service_thread_.reset();  // joins the service thread
}

void DistributedSemaphore::stop_service_thread() noexcept {
  if (!service_thread_) return;
  // Ends the service thread even though other ranks have not left, so that joining it returns;
  // a message from this rank to itself cannot be lost to a dead peer.
  try {
    service_.send(coordinator_, request_tag, Message{stop_request});
  } catch (const std::exception&) {
    // The backend refused it because the whole job failed: the service thread saw that too.
  }
}

void DistributedSemaphore::acquire() {
  if (!request_unit(acquire_request, TimeLimit{}, "acquire")) {
    const auto limit = service_.default_timeout();
    detail::throw_error<Timeout>(on_rank(service_, "DistributedSemaphore::acquire"),
                                 "no unit within the communicator's default timeout (",
                                 limit ? std::chrono::duration<double>(*limit).count() : 0.0,
                                 " s, HILO_TIMEOUT); all ", limit_,
                                 " units stayed held by others. The request was withdrawn.");
  }
}

bool DistributedSemaphore::try_acquire() {
  return request_unit(try_request, TimeLimit{}, "try_acquire");
}

bool DistributedSemaphore::try_acquire_within(std::chrono::nanoseconds timeout) {
  return request_unit(acquire_request, within(std::max(timeout, std::chrono::nanoseconds(0))),
                      "try_acquire_for");
}

bool DistributedSemaphore::request_unit(int kind, TimeLimit limit, const char* operation) {
  const int tag = lease_reply_tag();
  // The tag goes back for reuse only once its one answer has been received; after a failure an
  // answer may still be on its way, so the tag is retired instead.
  struct ReturnTag {
    DistributedSemaphore& self;
    int tag;
    bool answered = false;
    ~ReturnTag() {
      if (answered) self.return_reply_tag(tag);
    }
  } return_tag{*this, tag};
  try {
    service_.send(coordinator_, request_tag, Message{kind, tag});
    Message answer;
    try {
      service_.recv(coordinator_, tag, answer, limit);
    } catch (const Timeout&) {
      // Withdraw the request. The coordinator answers `cancelled` if it was still queued; if
      // it had already granted it, that grant is the one answer that arrives.
      service_.send(coordinator_, request_tag, Message{cancel_request, tag});
      service_.recv(coordinator_, tag, answer);
    }
    return_tag.answered = true;
    if (answer.kind == granted) {
      held_here_.fetch_add(1, std::memory_order_relaxed);
      return true;
    }
    if (answer.kind == refused || answer.kind == cancelled) return false;
    detail::throw_error<Error>("unexpected answer ", answer.kind,
                               " from the coordinator (hilo internal error)");
  } catch (const Error&) {
    const std::string call = std::string("DistributedSemaphore::") + operation;
    detail::rethrow_on_rank(on_rank(service_, call));
  }
}

void DistributedSemaphore::release() {
  int held = held_here_.load(std::memory_order_relaxed);
  do {
    if (held == 0)
      detail::throw_error<Error>(on_rank(service_, "DistributedSemaphore::release"),
                                 "this rank holds no unit (a release without a matching "
                                 "acquire); nothing was changed");
  } while (!held_here_.compare_exchange_weak(held, held - 1, std::memory_order_relaxed));
  try {
    service_.send(coordinator_, request_tag, Message{release_request});
  } catch (const Error&) {
    detail::rethrow_on_rank(on_rank(service_, "DistributedSemaphore::release"));
  }
}

int DistributedSemaphore::lease_reply_tag() {
  std::lock_guard lock(reply_tags_mutex_);
  if (!free_reply_tags_.empty()) {
    int tag = free_reply_tags_.back();
    free_reply_tags_.pop_back();
    return tag;
  }
  if (next_reply_tag_ > last_reply_tag)
    detail::throw_error<Error>(on_rank(service_, "DistributedSemaphore"), "more than ",
                               last_reply_tag - first_reply_tag + 1,
                               " threads of this rank are waiting at once; that is the most it "
                               "supports");
  return next_reply_tag_++;
}

void DistributedSemaphore::return_reply_tag(int tag) {
  std::lock_guard lock(reply_tags_mutex_);
  free_reply_tags_.push_back(tag);
}

}  // namespace hilo
