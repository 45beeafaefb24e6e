#include "hilo/comm/communicator.hpp"

#include <cstdlib>
#include <limits>
#include <numeric>

#if defined(HILO_WITH_MPI)
#include "hilo/detail/error_message.hpp"
#include "hilo/mpi.hpp"  // MPI_Query_thread: the mpi backend's thread level
#endif

namespace hilo {

namespace {
// HILO_TIMEOUT=seconds (fractions allowed) sets the default limit of every blocking call.
std::optional<std::chrono::nanoseconds> timeout_from_environment() {
  const char* text = std::getenv("HILO_TIMEOUT");
  if (text == nullptr || *text == '\0') return std::nullopt;
  char* end = nullptr;
  double seconds = std::strtod(text, &end);
  if (end == text || *end != '\0' || !(seconds > 0) || seconds > 1e9)
    detail::throw_error<Error>("hilo: HILO_TIMEOUT='", text,
                               "' is not a number of seconds > 0 (e.g. HILO_TIMEOUT=30 or 0.5)");
  return std::chrono::nanoseconds(static_cast<std::int64_t>(seconds * 1e9));
}
}  // namespace

Communicator::Communicator(std::unique_ptr<Transport> transport)
    : Communicator(std::move(transport), std::make_shared<detail::PendingOperations>(), "world") {}

Communicator::Communicator(std::unique_ptr<Transport> transport,
                           std::shared_ptr<detail::PendingOperations> pending, std::string name)
    : transport_(std::move(transport)),
      size_(transport_ ? transport_->size() : 0),
      rank_(transport_ ? transport_->rank() : 0),
      native_(transport_ ? transport_->native_collectives() : nullptr),
      observer_(transport_ ? transport_->call_observer() : nullptr),
      checker_(transport_ ? transport_->collective_checker() : nullptr),
      stamping_(transport_ ? transport_->collective_stamping() : detail::CollectiveStamping{}),
      default_limit_(timeout_from_environment()),
      all_reduce_algorithm_(detail::all_reduce_algorithm_from_environment()),
      all_to_all_algorithm_(detail::all_to_all_algorithm_from_environment()),
      reduce_algorithm_(detail::reduce_algorithm_from_environment()),
      all_gather_algorithm_(detail::all_gather_algorithm_from_environment()),
      scan_algorithm_(detail::scan_algorithm_from_environment()),
      pending_(std::move(pending)),
      name_(pending_->intern(std::move(name))) {
  if (!transport_)
    detail::throw_error<std::invalid_argument>("hilo: Communicator: the transport is null");
  collectives_.name_communicator(name_);
}

Communicator::~Communicator() = default;

Communicator& Communicator::operator=(Communicator&& other) noexcept {
  if (this == &other) return *this;
  // The queued nonblocking collectives use the transport: they run to their end before it goes.
  sequencer_.reset();
  transport_ = std::move(other.transport_);
  size_ = other.size_;
  rank_ = other.rank_;
  native_ = other.native_;
  observer_ = other.observer_;
  checker_ = other.checker_;
  collectives_ = other.collectives_;
  stamping_ = other.stamping_;
  collective_mismatch_ = other.collective_mismatch_;
  default_limit_ = other.default_limit_;
  derived_ = other.derived_;
  all_reduce_algorithm_ = other.all_reduce_algorithm_;
  all_to_all_algorithm_ = other.all_to_all_algorithm_;
  reduce_algorithm_ = other.reduce_algorithm_;
  all_gather_algorithm_ = other.all_gather_algorithm_;
  scan_algorithm_ = other.scan_algorithm_;
  sequencer_ = std::move(other.sequencer_);
  pending_ = std::move(other.pending_);
  name_ = other.name_;
  return *this;
}

void Communicator::set_default_timeout(std::optional<std::chrono::nanoseconds> limit) {
  default_limit_ = limit;
}

Deadline Communicator::limited_deadline(TimeLimit limit) const {
  if (limit.duration.count() >= 0) return Deadline::after(limit.duration);
  return default_limit_ ? Deadline::after(*default_limit_) : Deadline::never();
}

void Communicator::throw_bad_peer(const char* op, int rank, bool wildcard_ok,
                                  const char* what) const {
  detail::throw_error<std::invalid_argument>(detail::OnRank{op, this->rank()}, what, " ", rank,
                                             " is out of range; this communicator has ranks 0..",
                                             size() - 1,
                                             wildcard_ok ? " (or hilo::any_source)" : "");
}

void Communicator::throw_bad_tag(const char* op, int tag, bool wildcard_ok) const {
  detail::throw_error<std::invalid_argument>(detail::OnRank{op, rank()}, "tag ", tag,
                                             " is negative; tags are >= 0",
                                             wildcard_ok ? " (or hilo::any_tag)" : "");
}

void Communicator::rethrow_in(const char* op) const {
  try {
    detail::rethrow_in_collective(op, rank());
  } catch (const Timeout& timeout) {
    // What this rank was blocked in says more about a hang than the one call that gave up.
    transport_->timed_out();
    detail::rethrow_with_pending(timeout, pending_.get(), rank());
  }
}

void detail::rethrow_in_collective(const char* op, int rank) {
  detail::rethrow_on_rank(detail::OnRank{op, rank});
}

void Communicator::throw_not_one_per_rank(const char* op, std::size_t values) const {
  detail::throw_error<std::invalid_argument>(detail::OnRank{op, rank()}, "got ", values,
                                             " values for ", size(),
                                             " ranks; pass exactly one value per rank");
}

void Communicator::check_counts(std::span<const int> counts, std::size_t span_size,
                                const char* which, const char* span_name) const {
  using detail::throw_error;
  const detail::OnRank where{"all_to_all_v", rank()};
  if (counts.size() != static_cast<std::size_t>(size()))
    throw_error<std::invalid_argument>(where, which, " has ", counts.size(), " counts for ", size(),
                                       " ranks; pass exactly one count per rank");
  std::size_t total = 0;
  for (std::size_t q = 0; q < counts.size(); ++q) {
    if (counts[q] < 0)
      throw_error<std::invalid_argument>(where, which, "[", q, "] is ", counts[q],
                                         "; counts are >= 0");
    total += static_cast<std::size_t>(counts[q]);
  }
  if (total > span_size)
    throw_error<std::invalid_argument>(where, "the ", which, " add up to ", total,
                                       " elements but `", span_name, "` holds ", span_size,
                                       "; make the span hold them all");
  if (total > static_cast<std::size_t>(std::numeric_limits<int>::max()))
    throw_error<std::invalid_argument>(where, "the ", which, " add up to ", total,
                                       " elements, more than an int displacement (MPI's) can "
                                       "address");
}

detail::CollectiveSequencer& Communicator::sequencer() {
  if (sequencer_) return *sequencer_;
#if defined(HILO_WITH_MPI)
  // The sequencer's worker calls MPI from a thread of its own.
  if (backend_name() == "mpi") {
    int provided = MPI_THREAD_SINGLE;
    MPI_Query_thread(&provided);
    if (provided != MPI_THREAD_MULTIPLE)
      detail::throw_error<Error>(
          detail::OnRank{"nonblocking collective", rank()},
          "MPI runs without MPI_THREAD_MULTIPLE, and this call has no native MPI form here, so "
          "hilo's worker thread would have to call MPI; unset HILO_MPI_THREADS (or set it to "
          "multiple), or use the blocking collective");
  }
#endif
  sequencer_ = std::make_unique<detail::CollectiveSequencer>();
  return *sequencer_;
}

Request Communicator::ibarrier() {
  if (native_)
    if (auto op = native_->ibarrier())
      return Request(std::move(op), {}, default_limit_, origin("ibarrier"));
  return start_collective("ibarrier", [](Transport& t, Deadline d) { detail::barrier(t, d); });
}

Status Communicator::probe(int source, int tag, TimeLimit limit, std::source_location where) {
  check_peer("probe", source, true);
  check_tag("probe", tag, true);
  return blocking({"probe", source, detail::PeerRole::source, tag}, where,
                  [&] { return transport_->probe(source, tag, deadline(limit)); });
}

std::optional<Status> Communicator::iprobe(int source, int tag) {
  check_peer("iprobe", source, true);
  check_tag("iprobe", tag, true);
  return named("iprobe", [&] { return transport_->iprobe(source, tag); });
}

void Communicator::barrier(TimeLimit limit, std::source_location where) {
  Deadline d = deadline(limit);
  collective({"barrier"}, where, [&] {
    if (native_)
      if (native_->barrier(d)) return;
    detail::barrier(channel(), d);
  });
}

Communicator Communicator::split(int color, int key, TimeLimit limit, std::source_location where) {
  if (color < 0)
    detail::throw_error<std::invalid_argument>(detail::OnRank{"split", rank()}, "color ", color,
                                               " is negative; colors are >= 0");
  // Either way every rank must arrive: one that passed a negative colour raised above and never
  // will, so the others run out of their limit (the generic all_gather's or MPI's).
  std::unique_ptr<Transport> child = collective({"split"}, where, [&] {
    std::unique_ptr<Transport> native = transport_->native_split(color, key, deadline(limit));
    if (native) return native;
    struct Choice {
      int color, key;
    };
    // The algorithm itself, not the member all_gather: split is one call of its own (what a
    // FaultPlan counts), and the generic split only runs where there is no native all_gather.
    std::vector<Choice> all = detail::all_gather(channel(), Choice{color, key}, deadline(limit));
    std::vector<int> members;
    for (int r = 0; r < size(); ++r)
      if (all[r].color == color) members.push_back(r);
    std::stable_sort(members.begin(), members.end(),
                     [&](int a, int b) { return all[a].key < all[b].key; });
    return transport_->derive(
        derive_context(transport_->context(), derived_, static_cast<std::uint64_t>(color)),
        std::move(members));
  });
  Communicator result(
      std::move(child), pending_,
      std::string(name_) + ".split(" + std::to_string(color) + ")#" + std::to_string(derived_));
  ++derived_;
  result.default_limit_ = default_limit_;
  return result;
}

Communicator Communicator::dup(TimeLimit limit, std::source_location where) {
  std::unique_ptr<Transport> child =
      collective({"dup"}, where, [&] { return transport_->native_dup(deadline(limit)); });
  if (!child) {
    std::vector<int> members(size());
    std::iota(members.begin(), members.end(), 0);
    child = transport_->derive(derive_context(transport_->context(), derived_, ~std::uint64_t{0}),
                               std::move(members));
  }
  Communicator result(std::move(child), pending_,
                      std::string(name_) + ".dup#" + std::to_string(derived_));
  ++derived_;
  result.default_limit_ = default_limit_;
  return result;
}

}  // namespace hilo
