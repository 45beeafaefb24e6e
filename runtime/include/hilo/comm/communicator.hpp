/// \file
/// hilo::Communicator: the typed message-passing API.
#pragma once

#include <chrono>
#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <source_location>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "hilo/comm/detail/algorithms.hpp"
#include "hilo/comm/detail/all_to_all.hpp"
#include "hilo/comm/detail/codec.hpp"
#include "hilo/comm/detail/collective_record.hpp"
#include "hilo/comm/detail/collective_sequencer.hpp"
#include "hilo/comm/detail/pending_operations.hpp"
#include "hilo/comm/detail/scan.hpp"
#include "hilo/comm/detail/transport.hpp"
#include "hilo/comm/reduce_ops.hpp"
#include "hilo/comm/request.hpp"
#include "hilo/comm/serialization.hpp"
#include "hilo/comm/types.hpp"
#include "hilo/detail/error_message.hpp"
#include "hilo/errors.hpp"

namespace hilo {

namespace detail {
struct CommunicatorAccess;
// Rethrows the exception being handled with "hilo: <op> on rank <rank> failed: " in front of its
// message (keeping its type: Timeout, PeerLost, Error); only inside a catch block.
[[noreturn]] void rethrow_in_collective(const char* op, int rank);
}  // namespace detail

/// The typed message-passing API (MPI_Comm, boost::mpi::communicator, mpi4py's Comm). Written
/// once, served by any backend (local threads, MPI, TCP).
///
/// \code
/// world.send(1, 7, std::vector<double>{1, 2, 3});
/// auto v = world.recv<std::vector<double>>(0, 7);
/// double total = world.all_reduce(1.0, std::plus<>{});
/// \endcode
///
/// Values travel three ways, chosen from the type alone: trivially copyable values as their own
/// bytes; std::vector, std::basic_string and std::span of them as their elements' bytes; anything
/// else as one serialized archive (hilo/comm/serialization.hpp). A receive whose type or size does
/// not fit the message throws hilo::Error naming both.
///
/// **Time limits.** Every blocking call takes an optional last argument hilo::within(duration);
/// without it the communicator's default applies (HILO_TIMEOUT seconds, read when the
/// communicator is made, or set_default_timeout; with neither, no limit). Running out throws
/// hilo::Timeout naming the operation, the peer and the tag, then listing every blocking call of
/// this rank still in progress, with its call site (the defaulted last parameter, hilo::CallSite).
///
/// **Errors** (the rule is in hilo/errors.hpp). A rank out of range, a negative tag or another
/// bad argument throws std::invalid_argument before anything is sent. What involves other ranks
/// throws hilo::Error: a message that does not fit the receive, hilo::Timeout, and hilo::PeerLost
/// for a peer that is gone (tcp and local detect it; under MPI a dead rank usually ends the job).
/// Every message starts "hilo: <operation> on rank <R>: ", naming the call and this rank.
///
/// **Threads.** Several threads may use one communicator at once (point to point; on the mpi
/// backend this needs MPI_THREAD_MULTIPLE, which hilo asks for). Collectives are called by every
/// rank in the same order, as in MPI.
///
/// **MPI.** To call MPI directly on a communicator of the mpi backend, or to make one over an
/// MPI_Comm of your own, include hilo/mpi.hpp (hilo::mpi::native_handle, hilo::mpi::from_native).
///
/// Move-only.
class Communicator {
 public:
  /// Wraps a backend's transport. Reads HILO_TIMEOUT for the default time limit. Throws
  /// std::invalid_argument for a null transport, hilo::Error for a malformed HILO_TIMEOUT.
  /// Programs get their communicators from Runtime::world, run_local, split and dup instead.
  explicit Communicator(std::unique_ptr<Transport> transport);
  /// Moves the communicator; `other` may only be destroyed or assigned to.
  Communicator(Communicator&&) noexcept = default;
  /// Moves the communicator; `other` may only be destroyed or assigned to. The nonblocking
  /// collectives still queued on this one are run to their end first (see ~Communicator).
  Communicator& operator=(Communicator&& other) noexcept;
  /// Frees this communicator's resources. Not collective, but waits for the nonblocking
  /// collectives still queued on it to finish (each bounded by the default time limit it was
  /// started under), so no other rank is left waiting for this one.
  ~Communicator();

  /// This rank, 0..size()-1 (MPI_Comm_rank).
  int rank() const { return transport_->rank(); }
  /// How many ranks the communicator has (MPI_Comm_size).
  int size() const { return transport_->size(); }
  /// "local", "mpi" or "tcp".
  std::string_view backend_name() const { return transport_->backend_name(); }
  /// The backend behind this communicator (for backend code and tests).
  Transport& transport() { return *transport_; }

  /// Sets the limit for calls made without hilo::within(...) on this communicator (and on
  /// communicators split or dup'ed from it afterwards); std::nullopt waits without limit (a dead
  /// peer is still reported by backends that can detect it). Not thread-safe against calls in
  /// flight.
  void set_default_timeout(std::optional<std::chrono::nanoseconds> limit);
  /// The limit for calls made without hilo::within(...); std::nullopt for none.
  std::optional<std::chrono::nanoseconds> default_timeout() const { return default_limit_; }

  /// \name Point to point
  /// Per pair of ranks and communicator, messages are received in the order they were sent.
  /// \{

  /// Sends `value` to rank `dest` with `tag` (>= 0) (MPI_Send). Blocks until the value's bytes
  /// may be reused: it may return before the message is received (eager) or only once the
  /// receiver takes it (large messages). Throws std::invalid_argument for a bad rank or
  /// tag, hilo::Timeout after `limit` (or the default), hilo::PeerLost if `dest` is gone.
  template <class T>
  void send(int dest, int tag, const T& value, TimeLimit limit = {},
            CallSite where = CallSite::current()) {
    check_peer("send", dest, false);
    check_tag("send", tag, false);
    blocking({"send", dest, detail::PeerRole::dest, tag}, where,
             [&] { detail::send_value(*transport_, dest, tag, value, deadline(limit)); });
  }

  /// Receives and returns a T from rank `source` with `tag` (either may be a wildcard,
  /// any_source / any_tag) (MPI_Recv). Blocks until a matching message has arrived. Throws
  /// std::invalid_argument for a bad rank or tag, hilo::Error for a message that does not fit T,
  /// hilo::Timeout after `limit` (or the default), hilo::PeerLost if the peer is gone.
  ///
  /// What a receive checks against the message it matches, raising hilo::Error on a mismatch:
  ///  - its size: exactly that of a fixed-size value (int, struct, std::array) or span; a whole
  ///    number of elements for a vector or string; an archive must decode;
  ///  - on local and tcp, also its element type (a vector<double> received as vector<long long>).
  ///    MPI messages carry no type, so the mpi backend checks the size only: a message of the
  ///    same size and another element type arrives with its bits unchanged (8 bytes of double
  ///    read as long long), as in a plain MPI program.
  template <class T>
  T recv(int source, int tag, TimeLimit limit = {}, CallSite where = CallSite::current()) {
    T value{};
    recv(source, tag, value, limit, where);
    return value;
  }

  /// Receives into `out` (a vector or string keeps its capacity) and returns who sent what.
  /// Blocks and throws as recv(source, tag, limit).
  template <class T>
  Status recv(int source, int tag, T& out, TimeLimit limit = {},
              CallSite where = CallSite::current()) {
    check_peer("recv", source, true);
    check_tag("recv", tag, true);
    return blocking({"recv", source, detail::PeerRole::source, tag}, where, [&] {
      return detail::recv_value(*transport_, source, tag, out, deadline(limit));
    });
  }

  /// Receives exactly out.size() elements into memory the caller owns: no allocation, and over
  /// MPI one MPI_Recv into it, as a hand-written MPI program would. A message of another length
  /// is a hilo::Error, and so is one of another element type on local and tcp (see recv above:
  /// the mpi backend checks the size only); local and tcp keep the message queued, MPI has
  /// consumed it. Blocks and throws otherwise as recv(source, tag, limit).
  template <class E, std::size_t N>
  Status recv(int source, int tag, std::span<E, N> out, TimeLimit limit = {},
              CallSite where = CallSite::current()) {
    check_peer("recv", source, true);
    check_tag("recv", tag, true);
    return blocking({"recv", source, detail::PeerRole::source, tag}, where, [&] {
      return detail::recv_value(*transport_, source, tag, out, deadline(limit));
    });
  }

  /// Sends `value` without the caller waiting (MPI_Isend); complete it with Request::wait,
  /// Request::test or wait_all. A serialized value is encoded at once and only its bytes are
  /// kept; a std::span is sent from the memory it views, which must stay alive and unchanged until
  /// the request completes (as with MPI_Isend); any other value is copied (or, for an rvalue,
  /// moved) into the request, which owns it until done. Does not block. Throws
  /// std::invalid_argument for a bad rank or tag; failures of the send itself are thrown by the
  /// request's wait or test.
  template <class T>
  Request isend(int dest, int tag, T&& value);

  /// Receives into `out`, which must stay alive and untouched until the request completes (as
  /// with MPI_Irecv). The bytes arrive without the caller polling (on the mpi backend, unless
  /// HILO_MPI_THREADS asks for less than multiple); a serialized value is decoded into `out` by
  /// wait() or test(). Does not block. Throws std::invalid_argument for a bad rank or tag; a
  /// message that
  /// does not fit, a timeout or a lost peer are thrown by the request's wait or test.
  template <class T>
  Request irecv(int source, int tag, T& out);

  /// Receives exactly out.size() elements into the span's memory (see recv with a span), without
  /// waiting. Does not block; throws as irecv(source, tag, out).
  template <class E, std::size_t N>
  Request irecv(int source, int tag, std::span<E, N> out);

  /// Sends `value` to `dest` with `send_tag` and returns the R received from `source` with
  /// `recv_tag` (MPI_Sendrecv): both happen at once, so a ring of ranks each sending to the next
  /// and receiving from the one before never deadlocks, whatever the order. `source` and
  /// `recv_tag` may be wildcards. Blocks until both are done. Throws hilo::Error for a bad rank or
  /// tag, or a message that does not fit R, hilo::Timeout after `limit` (or the default),
  /// hilo::PeerLost if a peer is gone.
  template <class S, class R = S>
  R sendrecv(int dest, int send_tag, const S& value, int source, int recv_tag, TimeLimit limit = {},
             CallSite where = CallSite::current());

  /// Waits until a message matching `source` and `tag` (wildcards allowed) has arrived and tells
  /// its sender, tag and size without receiving it (MPI_Probe); a recv with the returned source
  /// and tag then takes it. Blocks. Throws std::invalid_argument for a bad rank or tag,
  /// hilo::Timeout after `limit` (or the default), hilo::PeerLost if the peer is gone.
  Status probe(int source, int tag, TimeLimit limit = {}, CallSite where = CallSite::current());
  /// probe without waiting (MPI_Iprobe): the Status of a matching message that has arrived, or
  /// std::nullopt. Throws std::invalid_argument for a bad rank or tag.
  std::optional<Status> iprobe(int source, int tag);

  /// \}

  /// \name Collectives
  /// Every rank calls them, in the same order. Each blocks until this rank's part is done (a
  /// barrier until every rank has arrived), throws hilo::Timeout after `limit` (or the default)
  /// and hilo::PeerLost if a rank it needs is gone; the message names the collective and this
  /// rank.
  /// \{

  /// Waits until every rank has called barrier (MPI_Barrier).
  void barrier(TimeLimit limit = {}, CallSite where = CallSite::current());

  /// Makes `value` on every rank a copy of root's `value` (MPI_Bcast); vectors and strings are
  /// resized to root's length. Throws std::invalid_argument if `root` is not a rank.
  template <class T>
  void broadcast(T& value, int root, TimeLimit limit = {}, CallSite where = CallSite::current());

  /// Combines every rank's `value` with `op` and returns the result on every rank
  /// (MPI_Allreduce). `op` is any associative and commutative function object; std::plus,
  /// std::multiplies, hilo::minimum, hilo::maximum, the std logical and bit operations map to
  /// MPI's own on the mpi backend. Vectors combine element-wise and must have the same length on
  /// every rank (hilo::Error otherwise).
  template <class T, class Op>
  T all_reduce(const T& value, Op op, TimeLimit limit = {}, CallSite where = CallSite::current());

  /// all_reduce into `result`, whose storage is reused (a vector keeps its capacity): a loop that
  /// reduces the same size every iteration allocates nothing, as with MPI_Allreduce into one
  /// buffer. `result` may not be `value` (std::invalid_argument); for that,
  /// all_reduce_in_place.
  template <class T, class Op>
  void all_reduce_into(const T& value, T& result, Op op, TimeLimit limit = {},
                       CallSite where = CallSite::current());

  /// all_reduce in place: `value` becomes the value combined over all ranks (MPI_IN_PLACE), with
  /// no second buffer at all.
  template <class T, class Op>
  void all_reduce_in_place(T& value, Op op, TimeLimit limit = {},
                           CallSite where = CallSite::current());

  /// Combines every rank's `value` with `op` (see all_reduce) and returns the result on `root`,
  /// std::nullopt on every other rank (MPI_Reduce). Throws std::invalid_argument if `root` is
  /// not a rank.
  template <class T, class Op>
  std::optional<T> reduce(const T& value, Op op, int root, TimeLimit limit = {},
                          CallSite where = CallSite::current());

  /// Every rank's value in rank order on `root`; an empty vector elsewhere (MPI_Gather; the
  /// values' sizes may differ between ranks). Throws std::invalid_argument if `root` is not a
  /// rank.
  template <class T>
  std::vector<T> gather(const T& value, int root, TimeLimit limit = {},
                        CallSite where = CallSite::current());

  /// Every rank's value in rank order, on every rank (MPI_Allgather).
  template <class T>
  std::vector<T> all_gather(const T& value, TimeLimit limit = {},
                            CallSite where = CallSite::current());

  /// Root hands values[i] to rank i, and each rank returns its own (MPI_Scatter). `values` is
  /// read on root only and must hold size() values: std::invalid_argument otherwise, and if
  /// `root` is not a rank.
  template <class T>
  T scatter(const std::vector<T>& values, int root, TimeLimit limit = {},
            CallSite where = CallSite::current());

  /// values[j] goes to rank j, and element j of the result came from rank j (MPI_Alltoall).
  /// `values` must hold size() values (std::invalid_argument otherwise, before anything is sent).
  /// T may be a vector, a string or any serialisable type, so each rank may send a different
  /// amount to each; trivially copyable values travel as one block each (MPI_Alltoall on the
  /// mpi backend; pairwise exchange, or Bruck's algorithm for small blocks, elsewhere).
  template <class T>
  std::vector<T> all_to_all(const std::vector<T>& values, TimeLimit limit = {},
                            CallSite where = CallSite::current());
  /// all_to_all into `result`, whose storage is reused: at the same size nothing is allocated
  /// or filled, as with MPI_Alltoall into a buffer the program keeps (the form for a loop).
  /// `result` may not be `values` (std::invalid_argument).
  template <class T>
  void all_to_all_into(const std::vector<T>& values, std::vector<T>& result, TimeLimit limit = {},
                       CallSite where = CallSite::current());

  /// The flat all-to-all into memory the caller owns (MPI_Alltoallv; nothing the size of the
  /// data is allocated, only the displacements): the first send_counts[0] elements of
  /// `send` go to rank 0, the next send_counts[1] to rank 1, ...; recv_counts[j] elements from
  /// rank j land in `recv` after those of ranks 0..j-1 (displacements are the prefix sums of the
  /// counts). E is trivially copyable. Counts that are negative, not size() of them, or sum to
  /// more than the span holds throw std::invalid_argument before anything is sent; rank i
  /// sending k elements to rank j while j expects another count throws hilo::Error on j naming
  /// both ranks (after every block has been exchanged, so no rank is left waiting; on the mpi
  /// backend this check costs one MPI_Alltoall of an int per pair before MPI_Alltoallv). With
  /// std::vector arguments, name E: `all_to_all_v<int>(send, counts, recv, counts)`, or use the
  /// overload below.
  template <class E>
  void all_to_all_v(std::span<const E> send, std::span<const int> send_counts, std::span<E> recv,
                    std::span<const int> recv_counts, TimeLimit limit = {},
                    CallSite where = CallSite::current());
  /// all_to_all_v over vectors; `recv` keeps its size, which must hold the counts.
  template <class E>
  void all_to_all_v(const std::vector<E>& send, const std::vector<int>& send_counts,
                    std::vector<E>& recv, const std::vector<int>& recv_counts, TimeLimit limit = {},
                    CallSite where = CallSite::current());

  /// Every rank's elements concatenated in rank order, on every rank (MPI_Allgatherv); each rank
  /// may contribute a different number, zero included. E is trivially copyable.
  template <class E>
  std::vector<E> all_gather_v(std::span<const E> mine, TimeLimit limit = {},
                              CallSite where = CallSite::current());
  /// all_gather_v of a vector's elements.
  template <class E>
  std::vector<E> all_gather_v(const std::vector<E>& mine, TimeLimit limit = {},
                              CallSite where = CallSite::current());

  /// Every rank's elements concatenated in rank order on `root`, an empty vector elsewhere
  /// (MPI_Gatherv). E is trivially copyable. Throws hilo::Error if `root` is not a rank.
  template <class E>
  std::vector<E> gather_v(std::span<const E> mine, int root, TimeLimit limit = {},
                          CallSite where = CallSite::current());
  /// gather_v of a vector's elements.
  template <class E>
  std::vector<E> gather_v(const std::vector<E>& mine, int root, TimeLimit limit = {},
                          CallSite where = CallSite::current());

  /// The inclusive prefix reduction (MPI_Scan): rank r gets op over the values of ranks 0..r, in
  /// rank order. `op` must be associative (it need not be commutative); the operations that
  /// all_reduce maps to MPI's do so here too; vectors combine element-wise and must have the same
  /// length on every rank. local and tcp (and mpi for what MPI_Scan cannot run) check the lengths
  /// in the scan's own messages: if rank f is the first whose length differs from rank f-1's,
  /// every rank from f on throws hilo::Error naming ranks f-1 and f and their lengths, and ranks
  /// 0..f-1 return their correct result (their prefix does not involve rank f). mpi (MPI_Scan)
  /// checks them only under HILO_CHECK=collectives (hilo::CollectiveMismatch on every rank);
  /// without it, Open MPI gives wrong values or MPI_ERR_TRUNCATE (hilo::Error) on some ranks only
  /// (README).
  template <class T, class Op>
  T scan(const T& value, Op op, TimeLimit limit = {}, CallSite where = CallSite::current());
  /// scan into `result`: on mpi into its storage, nothing allocated or copied at the same size
  /// (MPI_Scan into a kept buffer). std::invalid_argument if `result` is `value`.
  template <class T, class Op>
  void scan_into(const T& value, T& result, Op op, TimeLimit limit = {},
                 CallSite where = CallSite::current());

  /// The exclusive prefix reduction (MPI_Exscan): rank r gets op over the values of ranks
  /// 0..r-1, and rank 0 std::nullopt. Otherwise as scan.
  template <class T, class Op>
  std::optional<T> exscan(const T& value, Op op, TimeLimit limit = {},
                          CallSite where = CallSite::current());
  /// exscan into `result`, reused as by scan_into. Returns false on rank 0, whose `result` is
  /// left as it was (exscan's std::nullopt), and true on every other rank.
  template <class T, class Op>
  bool exscan_into(const T& value, T& result, Op op, TimeLimit limit = {},
                   CallSite where = CallSite::current());

  /// Rank i gets op over every rank's values[i] (MPI_Reduce_scatter_block): an all_reduce of
  /// the whole vector of which each rank keeps only its own element, for about half the
  /// traffic. `values` must hold size() values (std::invalid_argument otherwise); `op` as in
  /// all_reduce; values[i] that are vectors combine element-wise and must have the same length
  /// on every rank.
  template <class T, class Op>
  T reduce_scatter(const std::vector<T>& values, Op op, TimeLimit limit = {},
                   CallSite where = CallSite::current());

  /// \}

  /// \name Nonblocking collectives
  /// Started at once and completed by the returned Request's wait() or test(), or wait_all (as
  /// MPI_Ibarrier, MPI_Ibcast, ...). Every rank calls them in the same order as its other
  /// collectives, blocking ones included; the arguments must stay alive and untouched until the
  /// request completes. A collective the worker runs (below) runs even if its Request is
  /// dropped: its arguments then stay in use until the next blocking collective on the
  /// communicator returns. The request's wait honours
  /// its own limit (or the communicator's default); a collective that runs out goes on.
  ///
  /// **Progress.** Where the backend has a native form (the mpi backend, for trivially
  /// copyable values and MPI's operations) the request holds MPI's own request, and MPI
  /// progresses it as it progresses any request (at least in wait and test). Everywhere else
  /// (local, tcp, and the other values on mpi) a worker thread of the communicator runs them,
  /// one at a time in call order, so they progress without the caller polling; a blocking
  /// collective called meanwhile first waits for those called before it. On the mpi backend that
  /// worker calls MPI from its own thread, which needs MPI_THREAD_MULTIPLE (hilo's default);
  /// with HILO_MPI_THREADS=single or funneled such a call throws hilo::Error at once. Destroying
  /// the communicator waits for the ones still queued to finish, each bounded by the default time
  /// limit it was started under.
  /// \{

  /// A barrier that does not block (MPI_Ibarrier): complete once every rank has called it.
  Request ibarrier();

  /// broadcast without blocking (MPI_Ibcast): `value` on every rank becomes root's once the
  /// request completes. Throws hilo::Error at once if `root` is not a rank.
  template <class T>
  Request ibroadcast(T& value, int root);

  /// all_reduce into `result` without blocking (MPI_Iallreduce); `result` may not be `value`
  /// (std::invalid_argument).
  template <class T, class Op>
  Request iall_reduce(const T& value, T& result, Op op);

  /// all_gather into `result` without blocking (MPI_Iallgather).
  template <class T>
  Request iall_gather(const T& value, std::vector<T>& result);

  /// all_to_all into `result` without blocking (MPI_Ialltoall); `values` must hold size()
  /// values (std::invalid_argument at once otherwise).
  template <class T>
  Request iall_to_all(const std::vector<T>& values, std::vector<T>& result);

  /// \}

  /// \name New communicators
  /// Their messages never mix with this one's. Both are collective: every rank calls them, in
  /// the same order as its other collectives, and they block until the ranks have agreed,
  /// bounded like every blocking call. The new communicator keeps this one's default time limit.
  /// \{

  /// Ranks passing the same color (>= 0) form one communicator, ordered by key, then by rank here
  /// (MPI_Comm_split). A rank that passes a negative color raises std::invalid_argument at once and
  /// never joins, so the others raise hilo::Timeout when `limit` (or the default) runs out, and
  /// wait forever without one; hilo::PeerLost as the collectives do.
  Communicator split(int color, int key, TimeLimit limit = {},
                     CallSite where = CallSite::current());
  /// A communicator of the same ranks in the same order whose messages never mix with this
  /// one's (MPI_Comm_dup): e.g. for a library's own traffic. Throws as split.
  Communicator dup(TimeLimit limit = {}, CallSite where = CallSite::current());

  /// \}

 private:
  // The backend behind a communicator, for interop that needs more than Transport offers
  // (hilo::mpi::native_handle, hilo/mpi.hpp): a friend, so that this header needs no <mpi.h>.
  friend struct detail::CommunicatorAccess;

  // The checks and the deadline run on every message: their usual case is inline (a compare or
  // two), the error text is built out of line.
  Deadline deadline(TimeLimit limit) const {
    if (limit.duration.count() < 0 && !default_limit_) return Deadline::never();
    return limited_deadline(limit);
  }
  Deadline limited_deadline(TimeLimit limit) const;
  Transport& channel() { return transport_->collective_channel(); }
  void check_peer(const char* op, int rank, bool wildcard_ok, const char* what = "rank") const {
    if ((rank >= 0 && rank < size_) || (wildcard_ok && rank == any_source)) [[likely]]
      return;
    throw_bad_peer(op, rank, wildcard_ok, what);
  }
  void check_tag(const char* op, int tag, bool wildcard_ok) const {
    if (tag >= 0 || (wildcard_ok && tag == any_tag)) [[likely]]
      return;
    throw_bad_tag(op, tag, wildcard_ok);
  }
  [[noreturn]] void throw_bad_peer(const char* op, int rank, bool wildcard_ok,
                                   const char* what) const;
  [[noreturn]] void throw_bad_tag(const char* op, int tag, bool wildcard_ok) const;
  // values.size() == size(), else std::invalid_argument naming `op` (communicator_exchange.hpp).
  void check_one_per_rank(const char* op, std::size_t values) const;
  [[noreturn]] void throw_not_one_per_rank(const char* op, std::size_t values) const;
  // The counts of all_to_all_v against the spans; std::invalid_argument when they do not fit.
  void check_counts(std::span<const int> counts, std::size_t span_size, const char* which,
                    const char* span_name) const;
  // Queues `work(channel, deadline)` on the sequencer: the deadline is the default limit from
  // when it starts, and an error it raises names `op` and this rank. `work` may not refer to
  // this Communicator, which may be moved while it waits.
  template <class Work>
  Request start_collective(const char* op, Work work);
  detail::CollectiveSequencer& sequencer();
  // Runs `body`, the work of the call `op`, so that every hilo::Error it raises starts
  // "hilo: <op> on rank <R>: " (detail::rethrow_on_rank), and a hilo::Timeout's message ends
  // with this rank's pending operations. Free on the path that succeeds: a try block costs
  // nothing until something is thrown.
  template <class F>
  auto named(const char* op, F&& body) -> decltype(body());
  // named, for a call that blocks: recorded in the rank's pending operations while it runs.
  template <class F>
  auto blocking(detail::BlockingCall call, const std::source_location& where, F&& body)
      -> decltype(body());
  // A collective's body, named and recorded so. The nonblocking collectives called before it go
  // first, so every rank puts them on the wire in the same order. `shape`: as CollectiveShape.
  template <class F>
  auto collective(detail::BlockingCall call, const std::source_location& where, F&& body,
                  CollectiveShape shape = {}) -> decltype(body());
  // What identifies the collective about to run, in collectives_: plain stores, no check.
  void record_collective(const detail::BlockingCall& call, const std::source_location& where,
                         const CollectiveShape& shape);
  [[noreturn]] void rethrow_in(const char* op) const;
  // A collective found a peer out of step (detail::CollectiveOutOfStep): tells the peer (or
  // answers it) over the collective channel and raises hilo::CollectiveMismatch naming both
  // calls; the same one again on every later collective here.
  [[noreturn]] void raise_collective_mismatch(const detail::CollectiveOutOfStep& out_of_step);
  // A collective's body run with its stamp on a backend whose messages carry one
  // (detail/communicator_stamps.hpp): a peer found out of step raises CollectiveMismatch.
  template <class F>
  auto stamped(F& body) -> decltype(body());
  // Tells the transport's CallObserver (a test's FaultPlan) of the call `op`; null otherwise.
  void observe_call(const char* op);
  // For a Request's wait to be recorded as waiting for the nonblocking call `op`. Inline, with
  // the rank cached: it runs on every isend and irecv.
  detail::RequestOrigin origin(const char* op, int peer = -1,
                               detail::PeerRole role = detail::PeerRole::none, int tag = -1) const;
  // Over `transport`, recording its calls in `pending` as `name`: world makes the registry,
  // split and dup share their parent's.
  Communicator(std::unique_ptr<Transport> transport,
               std::shared_ptr<detail::PendingOperations> pending, std::string name);

  template <class T>
  static constexpr std::size_t count_of() {
    return detail::raw_element<T>::count;
  }
  template <class T>
  static constexpr DataType element_type_of() {
    return data_type_of<typename detail::raw_element<T>::type>();
  }

  template <class T>
  bool native_broadcast(NativeCollectives& native, T& value, int root, Deadline d);
  template <class T, class Op>
  bool native_reduce(NativeCollectives& native, const T& in, T& out, Op&, int root, Deadline d);

  std::unique_ptr<Transport> transport_;
  int size_;  // transport_->size(), which never changes, without a virtual call per check
  int rank_;  // transport_->rank(), likewise, for the origin of every Request
  // transport_->native_collectives(), fixed for the transport's life: the collectives ask for it
  // on every call, and a virtual call each time would be a noticeable part of what hilo adds to
  // a small MPI_Allreduce.
  NativeCollectives* native_;
  CallObserver* observer_;      // transport_->call_observer(), fixed for the transport's life
  CollectiveChecker* checker_;  // transport_->collective_checker(), fixed likewise
  detail::CollectiveRecord collectives_;  // the recent blocking collectives here, their stamps
  // transport_->collective_stamping(), fixed for the transport's life (null pointers on mpi).
  detail::CollectiveStamping stamping_;
  std::exception_ptr collective_mismatch_;  // what raise_collective_mismatch raised, if it did
  std::optional<std::chrono::nanoseconds> default_limit_;
  std::uint64_t derived_ = 0;  // how many split/dup calls made: part of the child's context
  // HILO_ALLREDUCE's algorithm for every all-reduce on this communicator (detail/all_reduce.hpp).
  detail::AllReduceAlgorithm all_reduce_algorithm_;
  // HILO_ALLTOALL's algorithm for every all-to-all of fixed-size blocks (detail/all_to_all.hpp).
  detail::AllToAllAlgorithm all_to_all_algorithm_;
  // HILO_REDUCE's algorithm for every reduce on this communicator (detail/reduce.hpp).
  detail::ReduceAlgorithm reduce_algorithm_;
  // HILO_ALLGATHER's algorithm for every all-gather on this communicator (detail/all_gather.hpp).
  detail::AllGatherAlgorithm all_gather_algorithm_;
  // HILO_SCAN's algorithm for every generic scan and exscan on this communicator (detail/scan.hpp).
  detail::ScanAlgorithm scan_algorithm_;
  // Runs the nonblocking collectives the backend has no native form of; made by the first one.
  // Declared after transport_, so it is destroyed (its queue run to the end) before the
  // transport its jobs use.
  std::unique_ptr<detail::CollectiveSequencer> sequencer_;
  // What this rank's threads are blocked in, shared by world and the communicators made from
  // it; name_ ("world", "world.split(3)#0") is interned there, so a report outlives us.
  std::shared_ptr<detail::PendingOperations> pending_;
  const char* name_;
};

}  // namespace hilo

#include "hilo/comm/detail/communicator_calls.hpp"
#include "hilo/comm/detail/communicator_collectives.hpp"
#include "hilo/comm/detail/communicator_exchange.hpp"
#include "hilo/comm/detail/communicator_native.hpp"
#include "hilo/comm/detail/communicator_nonblocking.hpp"
#include "hilo/comm/detail/communicator_point_to_point.hpp"
#include "hilo/comm/detail/communicator_stamps.hpp"
