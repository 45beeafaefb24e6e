// Reports from a rank to hilorun while the job runs: what a rank saw that hilorun cannot see for
// itself. Under hilorun each rank keeps the connection it registered on (rendezvous.hpp) open
// for the life of the job and writes reports on it (report_channel.hpp); hilorun reads them
// (report_inbox.hpp). The first kind says "I lost rank q": hilorun follows these to name the rank
// that failed first, whatever order the kernel hands it the exit statuses in.
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
  peer_lost = 1,  // the reporter lost `peer`: it died, failed or its connection broke
};

inline constexpr std::size_t max_report_body = 4096;
inline constexpr std::size_t max_report_reason = 1024;

struct RankReport {
  int reporter = -1;  // set by the receiver, from the connection (see above)
  ReportKind kind = ReportKind::peer_lost;
  int peer = -1;       // peer_lost: the rank lost
  std::string reason;  // for people; at most max_report_reason bytes (longer is cut)

  friend bool operator==(const RankReport&, const RankReport&) = default;
};

// The bytes of one report, as a rank writes them.
std::string encode_report(const RankReport& report);

// Reads the reports of one connection from its byte stream, which may arrive in any pieces.
class ReportDecoder {
 public:
  explicit ReportDecoder(int reporter) : reporter_(reporter) {}

  // Takes the next bytes of the stream and returns the reports they complete, with `reporter`
  // set. A report of a kind this version does not know is skipped whole (a newer rank may send
  // more kinds). Throws hilo::Error when the stream can never be valid (wrong magic or version,
  // an absurd length, a malformed body): nothing more from that connection may be trusted.
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
