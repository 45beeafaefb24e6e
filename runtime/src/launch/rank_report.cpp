#include "launch/rank_report.hpp"

#include <algorithm>
#include <map>
#include <set>

#include "hilo/detail/error_message.hpp"
#include "hilo/errors.hpp"
#include "launch/wire.hpp"

namespace hilo::launch {
namespace {

constexpr std::uint32_t report_magic = 0x484c5252;  // "HLRR"
constexpr std::uint16_t report_version = 1;
constexpr std::size_t report_header = 4 + 2 + 2 + 2;  // magic, version, kind, body length

[[noreturn]] void malformed(const std::string& why) {
  detail::throw_error<Error>("hilo: malformed rank report: ", why);
}

RankReport decode_peer_lost(int reporter, std::string_view body) {
  ByteReader in(body);
  RankReport report;
  report.reporter = reporter;
  report.kind = ReportKind::peer_lost;
  std::uint16_t length = 0;
  if (!in.i32(report.peer) || !in.u16(length)) malformed("peer-lost report cut short");
  if (length > max_report_reason) malformed("reason length " + std::to_string(length));
  if (!in.bytes(length, report.reason)) malformed("peer-lost reason cut short");
  if (in.consumed() != body.size()) malformed("bytes after a peer-lost report");
  if (report.peer < 0) malformed("lost rank " + std::to_string(report.peer));
  return report;
}

ReportedOperation decode_operation(ByteReader& in) {
  ReportedOperation op;
  std::uint8_t role = 0;
  auto string = [&](std::size_t limit, std::string& out, const char* what) {
    std::uint16_t length = 0;
    if (!in.u16(length)) malformed("pending report cut short");
    if (length > limit) malformed(std::string(what) + " length " + std::to_string(length));
    if (!in.bytes(length, out)) malformed("pending report cut short");
  };
  string(max_operation_name, op.operation, "operation");
  if (!in.i32(op.peer) || !in.u8(role) || !in.i32(op.tag)) malformed("pending report cut short");
  if (role > static_cast<std::uint8_t>(WaitRole::none)) malformed("role " + std::to_string(role));
  op.role = static_cast<WaitRole>(role);
  string(max_operation_field, op.communicator, "communicator");
  if (!in.u32(op.waiting_ms)) malformed("pending report cut short");
  string(max_operation_field, op.call_site, "call site");
  string(max_operation_text, op.text, "operation text");
  return op;
}

RankReport decode_pending(int reporter, std::string_view body) {
  ByteReader in(body);
  RankReport report;
  report.reporter = reporter;
  report.kind = ReportKind::pending;
  std::uint16_t count = 0;
  if (!in.u32(report.request) || !in.u16(count)) malformed("pending report cut short");
  if (count > max_reported_operations) malformed("operation count " + std::to_string(count));
  for (std::uint16_t i = 0; i < count; ++i) report.pending.push_back(decode_operation(in));
  if (in.consumed() != body.size()) malformed("bytes after a pending report");
  return report;
}

RankReport decode_request(int reporter, std::string_view body) {
  ByteReader in(body);
  RankReport report;
  report.reporter = reporter;
  report.kind = ReportKind::report_request;
  if (!in.u32(report.request) || in.consumed() != body.size())
    malformed("a report request is a u32 request number");
  return report;
}

void encode_pending(ByteWriter& body, const RankReport& report) {
  const std::size_t count = std::min(report.pending.size(), max_reported_operations);
  body.u32(report.request);
  body.u16(static_cast<std::uint16_t>(count));
  for (std::size_t i = 0; i < count; ++i) {
    const ReportedOperation& op = report.pending[i];
    body.str16(op.operation.substr(0, max_operation_name));
    body.i32(op.peer);
    body.u8(static_cast<std::uint8_t>(op.role));
    body.i32(op.tag);
    body.str16(op.communicator.substr(0, max_operation_field));
    body.u32(op.waiting_ms);
    body.str16(op.call_site.substr(0, max_operation_field));
    body.str16(op.text.substr(0, max_operation_text));
  }
}

}  // namespace

std::string encode_report(const RankReport& report) {
  ByteWriter body;
  switch (report.kind) {
    case ReportKind::peer_lost:
      body.i32(report.peer);
      body.str16(report.reason.substr(0, max_report_reason));
      break;
    case ReportKind::pending:
      encode_pending(body, report);
      break;
    case ReportKind::report_request:
      body.u32(report.request);
      break;
  }
  const std::string body_bytes = body.take();
  ByteWriter out;
  out.u32(report_magic);
  out.u16(report_version);
  out.u16(static_cast<std::uint16_t>(report.kind));
  out.u16(static_cast<std::uint16_t>(body_bytes.size()));
  return out.take() + body_bytes;
}

std::vector<RankReport> ReportDecoder::feed(std::string_view bytes) {
  pending_.append(bytes);
  std::vector<RankReport> reports;
  std::size_t start = 0;
  while (true) {
    ByteReader in(std::string_view(pending_).substr(start));
    std::uint32_t magic = 0;
    std::uint16_t version = 0, kind = 0, length = 0;
    // Each field is checked as soon as it is there, so garbage is refused at its first bytes.
    if (!in.u32(magic)) break;
    if (magic != report_magic) malformed("not a hilo rank report (bad magic)");
    if (!in.u16(version)) break;
    if (version != report_version) {
      malformed("version " + std::to_string(version) + ", expected " +
                std::to_string(report_version));
    }
    if (!in.u16(kind) || !in.u16(length)) break;
    if (length > max_report_body) malformed("body length " + std::to_string(length));
    std::string body;
    if (!in.bytes(length, body)) break;
    switch (static_cast<ReportKind>(kind)) {
      case ReportKind::peer_lost:
        reports.push_back(decode_peer_lost(reporter_, body));
        break;
      case ReportKind::pending:
        reports.push_back(decode_pending(reporter_, body));
        break;
      case ReportKind::report_request:
        reports.push_back(decode_request(reporter_, body));
        break;
      default:
        break;  // a later kind: skipped whole
    }
    start += report_header + length;
  }
  pending_.erase(0, start);
  return reports;
}

int trace_first_failure(int first_failed, const std::vector<RankReport>& reports,
                        const std::function<bool(int)>& failed) {
  std::map<int, int> first_loss;  // reporter -> the rank it lost first
  for (const RankReport& report : reports) {
    if (report.kind == ReportKind::peer_lost) first_loss.try_emplace(report.reporter, report.peer);
  }
  int culprit = first_failed;
  std::set<int> visited{culprit};
  while (true) {
    auto loss = first_loss.find(culprit);
    if (loss == first_loss.end()) return culprit;
    const int lost = loss->second;
    if (visited.count(lost) || !failed(lost)) return culprit;
    visited.insert(lost);
    culprit = lost;
  }
}

}  // namespace hilo::launch
