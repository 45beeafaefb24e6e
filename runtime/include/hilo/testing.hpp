/// \file
/// Faults on demand for tests of programs that use hilo: hilo::testing::FaultPlan, given to
/// hilo::run_local, makes a rank die, delays messages or reorders them, reproducibly from a seed,
/// without a cluster.
///
/// \code
/// #include <hilo/testing.hpp>
/// hilo::testing::FaultPlan plan;
/// plan.kill(3, 5);                             // rank 3 dies at its 5th communication call
/// plan.delay(std::chrono::microseconds(200));  // random delivery delays up to this
/// plan.reorder();                              // interleave different sources differently
/// plan.seed(7);                                // the same seed, the same decisions
/// hilo::run_local(4, fn, plan);
/// \endcode
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>

#include "hilo/comm/communicator.hpp"
#include "hilo/runtime.hpp"

namespace hilo::testing {

/// What run_local does wrong on purpose. A value: set it up, then pass it to
/// hilo::run_local(n, fn, plan), which copies it. A default FaultPlan injects nothing.
///
/// **Communication calls** (what kill counts): every call of a hilo::Communicator member that
/// communicates, on any communicator of the rank (the world and every split or dup of it),
/// counted from 1 in the order the rank makes them, once each, after its arguments have been
/// checked (a call that throws std::invalid_argument does not count):
/// send, recv, isend, irecv, sendrecv, probe, iprobe; barrier, broadcast, all_reduce,
/// all_reduce_into, all_reduce_in_place, reduce, gather, all_gather, scatter, all_to_all,
/// all_to_all_into, all_to_all_v, all_gather_v, gather_v, scan, scan_into, exscan, exscan_into,
/// reduce_scatter;
/// ibarrier, ibroadcast, iall_reduce, iall_gather, iall_to_all; split and dup. Request::wait,
/// Request::test and wait_all are not calls (the operation was counted when it started). The
/// count is deterministic when the rank makes its calls from one thread (or in an order of its
/// own).
///
/// **kill(rank, nth_call)**: that rank dies at its nth_call-th communication call: the call does
/// not happen, and the rank's function is unwound by an exception internal to hilo, which
/// run_local takes as the rank's death, not as an error: run_local does not rethrow it. The
/// exception derives from nothing a program catches by type (not std::exception, not
/// hilo::Error); only `catch (...)` catches it, and a `catch (...)` that does not rethrow keeps
/// the rank running as if it had survived its own death: every later communication call of that
/// rank throws it again, from any of its threads (a thread of your own that communicates must
/// let it end the thread: escaping a std::thread's function it would call std::terminate). The
/// other ranks see the loss as they would on the tcp backend when a process dies: after every
/// message the rank sent before it died has been delivered, every receive, probe and collective of
/// every other rank that is waiting or comes later fails with hilo::PeerLost whose rank() is the
/// killed rank and whose message reads "hilo: <operation> on rank <R>: ... local rank <K> was lost:
/// ..."; messages already delivered stay receivable, and a send to the killed rank fails with
/// hilo::PeerLost too. Nothing waits for a timeout to notice it.
///
/// **delay(max)**: every message (point to point and the messages of collectives) is delivered
/// after a random delay between 0 and `max`, drawn for that message from the seed. Sends stay
/// eager: they return once the message is copied. Each sender's messages to one receiver on one
/// communicator still arrive in the order they were sent (as MPI guarantees).
///
/// **reorder()**: a receive, probe or iprobe from any_source that could take messages of several
/// sources that have arrived takes the one the plan's seeded order puts first, not the one that
/// arrived first; each source's own messages still come in the order they were sent. It applies
/// to collectives' traffic too (any collective algorithm that receives from any source).
///
/// **seed(n)** (default 0): what is reproducible. Every decision of the plan (which call of a
/// rank dies, the delay of each message, the order among sources) is a function of the seed and
/// of each rank's own sequence of calls and messages only, never of timing. So a program that
/// makes the same calls gets the same decisions with the same seed. What still varies between
/// runs is what depends on thread scheduling: which messages have arrived when a receive looks
/// (with delay(), wall-clock timing), and how far the other ranks had got when a rank died.
/// A test that wants an exact interleaving lets the messages arrive before it receives them
/// (e.g. after a barrier).
class FaultPlan {
 public:
  /// Rank `rank` dies at its `nth_call`-th communication call (see above). A second kill of the
  /// same rank replaces the first. Throws std::invalid_argument if rank < 0 or nth_call < 1;
  /// run_local throws it if rank >= n.
  FaultPlan& kill(int rank, std::uint64_t nth_call);
  /// Every message is delivered after a random delay of up to `max` (see above). Throws
  /// std::invalid_argument if max is negative; zero turns delays off.
  FaultPlan& delay(std::chrono::nanoseconds max);
  /// Receives from any_source interleave the sources in a seeded order (see above).
  FaultPlan& reorder(bool on = true);
  /// The seed of every random decision (default 0).
  FaultPlan& seed(std::uint64_t n);

  /// The kills: rank -> its dying call.
  const std::map<int, std::uint64_t>& kills() const { return kills_; }
  /// The largest delay; zero for none.
  std::chrono::nanoseconds max_delay() const { return max_delay_; }
  /// Whether reorder() is on.
  bool reorders() const { return reorder_; }
  /// The seed.
  std::uint64_t seed_value() const { return seed_; }
  /// True when the plan injects nothing.
  bool empty() const { return kills_.empty() && max_delay_.count() == 0 && !reorder_; }

 private:
  std::map<int, std::uint64_t> kills_;
  std::chrono::nanoseconds max_delay_{0};
  bool reorder_ = false;
  std::uint64_t seed_ = 0;
};

}  // namespace hilo::testing

namespace hilo {

/// run_local(n, fn) with the faults of `plan` (hilo::testing::FaultPlan says what each does).
/// A rank the plan kills is not an error: run_local returns normally if every other rank does,
/// and otherwise rethrows the first exception of a rank that was not killed (a hilo::PeerLost a
/// survivor let escape, say). Throws std::invalid_argument as run_local(n, fn) does, and if the
/// plan kills a rank >= n. With an empty plan this is run_local(n, fn).
void run_local(int n, const std::function<void(Communicator&)>& fn, const testing::FaultPlan& plan);

}  // namespace hilo
