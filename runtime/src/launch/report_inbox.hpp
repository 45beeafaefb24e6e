// hilorun's end of the ranks' report connections (rank_report.hpp): after the rendezvous, the
// registered connections are adopted here and read on hilorun's rendezvous thread while the job
// runs; the supervisor takes the reports when it decides what to say about the job's end, and
// asks the ranks for their pending operations through it (the wait-for report).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "common/unique_fd.hpp"
#include "launch/rank_report.hpp"

namespace hilo::launch {

class ReportInbox {
 public:
  ReportInbox();
  ReportInbox(const ReportInbox&) = delete;
  ReportInbox& operator=(const ReportInbox&) = delete;
  ~ReportInbox();

  // Takes the connection rank `rank` registered on (authenticated by the rendezvous with the job
  // token: only such connections are ever read). Call before run(), from its thread.
  void adopt(int rank, common::UniqueFd connection);

  // Reads reports as they arrive until stop(). Blocks in poll(): an idle connection costs
  // nothing. A connection that sends garbage is closed, logged on stderr once, and every report
  // it sent is dropped; one that ends (its rank exited) is closed.
  void run();

  // Safe from another thread: run() returns promptly.
  void stop();

  // Safe from another thread: reads whatever the connections hold right now (without waiting
  // for more), then returns every trusted report received so far, in arrival order per rank.
  // A rank that has exited has already put its reports in this process's socket buffer.
  std::vector<RankReport> drain();

  // Safe from another thread: asks every rank whose connection is open for its pending
  // operations, then waits until each has answered or its connection has ended, or until
  // `limit` has passed. Returns the answers by rank; a rank not in it did not answer.
  std::map<int, RankReport> ask_pending(std::chrono::milliseconds limit);

  // Safe from another thread: reads whatever the connections hold right now, then returns the
  // first report each rank sent on a hilo::Timeout (its pending operations then), by rank.
  std::map<int, RankReport> take_timeouts();

 private:
  struct Connection;
  // Reads what `c` holds now; the caller holds mutex_. Returns false once `c` is over.
  bool read_available(Connection& c);
  // Wakes run() from its poll (stop(), or a connection to close).
  void wake_reader();

  // Locking: mutex_ guards connections_' buffers and reports_. Only run()'s thread closes a
  // connection's fd (under mutex_), so its poll() never watches a closed or reused descriptor.
  std::mutex mutex_;
  std::vector<Connection> connections_;
  std::vector<RankReport> reports_;     // the peer_lost reports
  std::map<int, RankReport> timeouts_;  // rank -> its first report on a Timeout
  std::map<int, RankReport> answers_;   // rank -> its last answer to a request
  std::uint32_t last_request_ = 0;
  std::condition_variable answered_;  // with mutex_: an answer came or a connection ended
  bool stopping_ = false;             // guarded by mutex_: stop() was called
  // eventfd that wakes run(): written by stop() and whenever a connection ends (whichever thread
  // read its end), so run() closes it now rather than at its next event.
  common::UniqueFd wake_;
};

}  // namespace hilo::launch
