// hilorun's rendezvous server on its own thread for the life of the job; once every rank has the
// table, the same thread reads the ranks' reports on their kept connections
// (launch/report_inbox.hpp). No deadline: each rank bounds its own wait (HILO_TIMEOUT), and a
// program that does not use hilo never registers at all.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "launch/rank_report.hpp"
#include "launch/rendezvous.hpp"
#include "launch/report_inbox.hpp"

namespace hilo::hilorun {

class RendezvousThread {
 public:
  RendezvousThread(const std::string& ip, int size, const std::string& token);
  RendezvousThread(const RendezvousThread&) = delete;
  RendezvousThread& operator=(const RendezvousThread&) = delete;
  ~RendezvousThread();

  std::uint16_t port() const { return server_.port(); }

  // Every report received so far, those still waiting in the sockets included. Safe from any
  // thread. If the tables are still being handed out (a rank may already run), waits until the
  // rendezvous thread has adopted every connection; it is quick once the ranks have ended, since
  // a send to an ended rank fails at once.
  std::vector<launch::RankReport> reports();

  // The wait-for report's questions (launch/report_inbox.hpp): each rank's answer within
  // `limit`, and the reports ranks sent on a hilo::Timeout. Safe from any thread; a rank that has
  // not yet been handed its table (still in the rendezvous) gives no answer.
  std::map<int, launch::RankReport> ask_pending(std::chrono::milliseconds limit) {
    return inbox_.ask_pending(limit);
  }
  std::map<int, launch::RankReport> take_timeouts() { return inbox_.take_timeouts(); }

 private:
  void serve();

  launch::RendezvousServer server_;
  launch::ReportInbox inbox_;
  std::atomic<bool> shutting_down_{false};
  std::mutex mutex_;
  std::condition_variable handed_over_changed_;
  bool handed_over_ = false;  // under mutex_: serve() is over, its connections adopted (or not)
  std::thread thread_;        // last: started once everything it uses exists
};

}  // namespace hilo::hilorun
