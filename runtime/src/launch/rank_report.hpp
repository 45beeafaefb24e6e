// Reports from a rank to hilorun while the job runs: what a rank saw that hilorun cannot see for
// itself. Under hilorun each rank keeps the connection it registered on (rendezvous.hpp) open
// for the life of the job and writes reports on it (report_channel.hpp); hilorun reads them
// (report_inbox.hpp). The first kind says "I lost rank q": hilorun follows these to name the rank
// that failed first, whatever order the kernel hands it the exit statuses in. The second lists the
// rank's pending blocking operations (hilo/comm/detail/pending_operations.hpp), for hilorun's
// wait-for report: a rank sends it when one of its calls raises hilo::Timeout, and in answer to a
// report request, the one message hilorun sends the other way on the same connection.
//
// The wire format is documented with the rest of the protocol in rendezvous.hpp. A report does
// not carry its sender's rank: the connection it arrives on was registered with the job token,
// and that registration says who the sender is.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace hilo::launch {

enum class ReportKind : std::uint16_t {
  peer_lost = 1,       // the reporter lost `peer`: it died, failed or its connection broke
  pending = 2,         // the reporter's pending operations, answering `request` (0: a Timeout)
  report_request = 3,  // hilorun -> rank: send your pending operations, answering `request`
};

// The body length is a u16; a pending report of max_reported_operations operations with every
// string at its limit stays under this.
inline constexpr std::size_t max_report_body = 60000;
inline constexpr std::size_t max_report_reason = 1024;
inline constexpr std::size_t max_reported_operations = 64;
inline constexpr std::size_t max_operation_name = 64;
inline constexpr std::size_t max_operation_field = 128;  // communicator, call site
inline constexpr std::size_t max_operation_text = 512;

// What the peer of a pending operation is to it (as hilo::detail::PeerRole).
enum class WaitRole : std::uint8_t { source = 0, dest = 1, root = 2, none = 3 };

// One pending blocking operation of the reporter.
struct ReportedOperation {
  std::string operation;  // "recv", "barrier", ...
  int peer = -1;          // a rank of `communicator` (-1: none; hilo::any_source: anyone)
  WaitRole role = WaitRole::none;
  int tag = -1;
  std::string communicator;  // "world", "world.split(3)#0", ...
  std::uint32_t waiting_ms = 0;
  std::string call_site;  // "main.cpp:12"
  std::string text;  // the whole operation for people: "recv from rank 1, tag 7, on world, ..."

  friend bool operator==(const ReportedOperation&, const ReportedOperation&) = default;
};

struct RankReport {
  int reporter = -1;  // set by the receiver, from the connection (see above)
  ReportKind kind = ReportKind::peer_lost;
  int peer = -1;       // peer_lost: the rank lost
  std::string reason;  // for people; at most max_report_reason bytes (longer is cut)
  // pending, report_request: the request answered (0: sent by the rank on a Timeout), or made.
  std::uint32_t request = 0;
  // pending: at most max_reported_operations (more are cut), each string cut at its limit.
  std::vector<ReportedOperation> pending;

  friend bool operator==(const RankReport&, const RankReport&) = default;
};

// The bytes of one report, as a rank writes them.
std::string encode_report(const RankReport& report);

// Reads the reports of one connection from its byte stream, which may arrive in any pieces.
class ReportDecoder {
 public:
  explicit ReportDecoder(int reporter) : reporter_(reporter) {}

  // Takes the next bytes of the stream and returns the reports they complete, with `reporter`
  // set (a rank's decoder of hilorun's requests passes any reporter). A report of a kind this
  // version does not know is skipped whole (a newer rank may send more kinds). Throws hilo::Error
  // when the stream can never be valid (wrong magic or version, an absurd length, a malformed
  // body): nothing more from that connection may be trusted.
  std::vector<RankReport> feed(std::string_view bytes);

  // Bytes of an incomplete report held back (a rank that died while writing one leaves some).
  std::size_t pending() const { return pending_.size(); }

 private:
  int reporter_;
  std::string pending_;
};

// The rank that failed first, as the reports tell it. Starts from `first_failed` (the first
// failed rank hilorun reaped); while that rank reported losing a rank that itself failed
// (`failed(rank)`: it ended with an error or a signal of its own, not by hilorun stopping it),
// moves to that rank. Only each rank's first peer_lost report counts: the losses after it are
// its consequences. Stops where the reports go in a circle or name an unknown rank.
int trace_first_failure(int first_failed, const std::vector<RankReport>& reports,
                        const std::function<bool(int)>& failed);

}  // namespace hilo::launch
