// Rendezvous: how the ranks of a job learn each other's listening addresses.
//
// A coordinator (hilorun, on a thread; or rank 0 when there is no hilorun, e.g. under srun) runs a
// RendezvousServer for a job of `size` ranks. Every rank opens a listening socket, then calls
// register_with_coordinator() with its rank, host name, IP and port. Once all `size` ranks have
// registered, the server answers every one of them with the full table, sorted by rank.
//
// Wire format (integers big-endian; every length bounded, so an absurd length is rejected, never
// allocated):
//   registration  u32 magic "HLRV" (0x484c5256), u16 version (1),
//                 u16 token length (1..256), token,
//                 i32 rank, i32 size,
//                 u16 host length (0..255), host, u16 ip length (1..64), ip, u16 port
//   reply         u32 magic, u16 version, u8 status, then
//                 status 0 (ok):        u32 count (= size), count x {i32 rank, u16 host length,
//                                       host, u16 ip length, ip, u16 port}, sorted by rank
//                 status 1 (error), 2 (peer lost), 3 (timeout):
//                                       i32 rank concerned (-1 if none), u16 host length, host,
//                                       u16 message length (..4096), message
//   report        (rank -> hilorun, after an ok reply, on the same connection; any number, each
//                 whole, for the rest of the job; rank_report.hpp)
//                 u32 magic "HLRR" (0x484c5252), u16 version (1), u16 kind,
//                 u16 body length (..60000), body
//                 kind 1 (peer lost): i32 rank lost, u16 reason length (..1024), reason
//                 kind 2 (pending): u32 request answered (0: sent on a hilo::Timeout),
//                   u16 count (..64), count x {u16 length (..64), operation, i32 peer,
//                   u8 role (0 source, 1 dest, 2 root, 3 none), i32 tag, u16 length (..128),
//                   communicator, u32 milliseconds waited, u16 length (..128), call site,
//                   u16 length (..512), the operation as a line for people}
//   report request (hilorun -> rank, on the same connection, at any time after the table):
//                 the report header with kind 3, body u32 request number (> 0); the rank
//                 answers with a kind 2 report carrying that number
//                 A kind the reader does not know is skipped by its length, so new kinds can be
//                 added without a new version. The sender's rank is not in the report: the
//                 connection was registered with the job token as that rank.
//
// Report connections: under hilorun (HILO_LAUNCHER=hilorun) each rank keeps its connection open
// for the life of the job and hilorun reads the reports on it (report_inbox.hpp); under srun
// rank 0's server closes every connection once it has sent the table, and the ranks do too.
// hilorun closes a report connection, drops every report it brought and logs it on stderr once,
// when it sends anything but well-formed reports (bad magic or version, an absurd length, a
// malformed body); a cut-off last report before the connection ends is ignored.
//
// Trust: a connection that sends a wrong token, a wrong magic or version, garbage, an absurd
// length, an out-of-range or duplicate rank, bytes after its registration, or nothing complete
// within the client window (10 s by default) is closed without an answer and logged on stderr at
// most once per peer IP address; it never enters the table and the job carries on. The token
// travels in clear: it keeps out stray and misdirected connections (another job, a port scanner),
// not an eavesdropper on the cluster network.
//
// Failures that end the rendezvous, reported to every registered rank as the reply and thrown by
// serve(): a rank that declares a different job size (hilo::Error), a registered rank whose
// connection drops before the table is sent (hilo::PeerLost naming it: it died), ranks missing at
// the deadline (hilo::Timeout naming them), stop() (hilo::Error).
//
// Scaling: p registrations in, p replies of p entries out: O(p) connections and O(p^2) bytes
// through the one server (an entry is 10 bytes plus host name and IP, ~30 bytes with short
// names: ~2 MB in all at p = 256, ~30 MB at p = 1024). One thread serves every connection with
// poll(), so time grows as about p x (one round trip + the per-connection work) plus the p
// replies. tests/unit/launch/rendezvous_test.cpp prints how long 64 ranks as threads of one
// process take to start, register and all hold the table, and the test
// integration.hilorun.rendezvous_64_ranks runs `hilorun -n 64` of a program that only registers
// (benchmarks/analysis.md, "Measurements behind constants in the code", has what both took on
// the development machine).
// Beyond a few thousand ranks a tree of coordinators would be the next step.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "common/unique_fd.hpp"
#include "hilo/detail/log.hpp"

namespace hilo::launch {

struct PeerAddress {
  int rank = -1;
  std::string host;  // as written in the hostfile (used in error messages)
  std::string ip;    // where the rank listens
  std::uint16_t port = 0;

  friend bool operator==(const PeerAddress&, const PeerAddress&) = default;
};

inline constexpr int rendezvous_max_ranks = 1 << 20;

// Accepts `size` registrations carrying the job token and answers each with the full table.
class RendezvousServer {
 public:
  // Binds and listens on bind_ip:port (port 0 = an ephemeral port; see port()). Bad arguments
  // (size < 1 or too large, empty token) are std::invalid_argument; a failed bind is hilo::Error.
  RendezvousServer(const std::string& bind_ip, std::uint16_t port, int size, std::string token);
  RendezvousServer(const RendezvousServer&) = delete;
  RendezvousServer& operator=(const RendezvousServer&) = delete;
  ~RendezvousServer() = default;

  std::uint16_t port() const { return port_; }

  // How long one connection may take to deliver its registration before it is closed (default
  // 10 s). A silent or half-open client never blocks the others: all are served by one poll().
  void set_client_window(std::chrono::milliseconds window) { client_window_ = window; }

  // Runs the rendezvous until every rank has registered and has been sent the table, which it
  // also returns. `timeout` bounds the whole rendezvous; milliseconds::max() means no limit.
  // Throws hilo::Timeout, hilo::PeerLost or hilo::Error (see the header comment). Call it once:
  // when it returns or throws, the listening socket is closed and later connections are refused.
  std::vector<PeerAddress> serve(std::chrono::milliseconds timeout);

  // Safe from another thread: serve() throws hilo::Error promptly ("stopped").
  void stop();

  // Call before serve(): instead of closing each rank's connection once it has the table, keep
  // it, to read the rank's reports on it (hilorun does; rank 0 under srun does not).
  void keep_connections() { keep_connections_ = true; }
  struct RankConnection {
    int rank;
    common::UniqueFd connection;
  };
  // After serve() returned: the connections kept, each registered (with the job token) as `rank`.
  std::vector<RankConnection> take_kept_connections();

  // Safe from another thread: whether every rank has registered, i.e. some rank may hold the
  // table (and run) while serve() is still sending it to the others.
  bool all_registered() const { return all_registered_; }

 private:
  struct Connection;
  void log_rejection_once(const std::string& peer_ip, const std::string& why);

  std::string bind_ip_;
  int size_;
  std::string token_;
  std::uint16_t port_ = 0;
  std::chrono::milliseconds client_window_{10000};
  common::UniqueFd listener_;
  common::UniqueFd wake_;  // eventfd written by stop()
  std::set<std::string> logged_peers_;
  bool keep_connections_ = false;
  std::atomic<bool> all_registered_{false};
  std::vector<RankConnection> kept_;
};

// Called by every rank: connects to the coordinator at `coord` ("ip:port"; retrying until the
// timeout, since under srun the server may not be up yet), registers `me` as one of `size`
// ranks and returns the table, sorted by rank. Throws hilo::Timeout when the coordinator cannot
// be reached or the table does not arrive in time, hilo::PeerLost when the coordinator reports a
// rank lost during rendezvous, hilo::Error for a refusal (wrong token closes without answer) or a
// malformed reply, std::invalid_argument for bad arguments. With `keep_connection`, the connection
// is handed over there instead of closed, for the rank's reports (report_channel.hpp). Each
// retry of the connection is a debug line in `log`.
std::vector<PeerAddress> register_with_coordinator(const std::string& coord,
                                                   const std::string& token, const PeerAddress& me,
                                                   int size, std::chrono::milliseconds timeout,
                                                   common::UniqueFd* keep_connection = nullptr,
                                                   const detail::Log& log = {});

// The registration message as sent on the wire (exposed for tests that build bad clients).
std::string encode_registration(const std::string& token, const PeerAddress& me, int size);

}  // namespace hilo::launch
