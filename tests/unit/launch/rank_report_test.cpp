// The ranks' reports to hilorun (runtime/src/launch/rank_report.hpp): their encoding, decoding a
// stream that arrives in pieces, refusing garbage, and following the reports back to the rank
// that failed first.
#include "launch/rank_report.hpp"

#include <map>
#include <set>

#include "catch.hpp"
#include "hilo/errors.hpp"

using hilo::launch::encode_report;
using hilo::launch::RankReport;
using hilo::launch::ReportDecoder;
using hilo::launch::ReportKind;
using hilo::launch::trace_first_failure;

namespace {

RankReport lost(int reporter, int peer, std::string reason = "it closed its connection") {
  return {reporter, ReportKind::peer_lost, peer, std::move(reason), 0, {}};
}

}  // namespace

TEST_CASE("rank report: decoded whole, the reporter taken from the connection") {
  // The rank in the bytes' sender field is not on the wire: whatever a report claims, the
  // decoder of rank 3's connection makes it rank 3's.
  std::string bytes = encode_report(lost(99, 2, "rank 2 exited or was killed"));
  ReportDecoder decoder(3);
  auto reports = decoder.feed(bytes);
  REQUIRE(reports.size() == 1);
  CHECK(reports[0] == lost(3, 2, "rank 2 exited or was killed"));
  CHECK(decoder.pending() == 0);
}

TEST_CASE("rank report: a stream that arrives a byte at a time, several reports in it") {
  std::string bytes = encode_report(lost(1, 0)) + encode_report(lost(1, 2, "")) +
                      encode_report(lost(1, 3, std::string(5000, 'x')));
  ReportDecoder decoder(1);
  std::vector<RankReport> reports;
  for (char byte : bytes) {
    for (auto& report : decoder.feed(std::string_view(&byte, 1))) reports.push_back(report);
  }
  REQUIRE(reports.size() == 3);
  CHECK(reports[0] == lost(1, 0));
  CHECK(reports[1] == lost(1, 2, ""));
  // A reason longer than the limit is cut, not refused.
  CHECK(reports[2].reason == std::string(hilo::launch::max_report_reason, 'x'));
  CHECK(decoder.pending() == 0);
}

TEST_CASE("rank report: a cut-off report is held back, not returned") {
  std::string bytes = encode_report(lost(0, 1));
  ReportDecoder decoder(0);
  CHECK(decoder.feed(bytes.substr(0, bytes.size() - 1)).empty());
  CHECK(decoder.pending() == bytes.size() - 1);
}

TEST_CASE("rank report: a kind this version does not know is skipped whole") {
  std::string unknown = encode_report(lost(0, 1, "abc"));
  unknown[7] = 42;  // kind (bytes 6-7): a later kind, e.g. a wait-for report
  ReportDecoder decoder(0);
  auto reports = decoder.feed(unknown + encode_report(lost(0, 2)));
  REQUIRE(reports.size() == 1);
  CHECK(reports[0] == lost(0, 2));
}

TEST_CASE("rank report: garbage is an Error at its first bad field") {
  const std::string good = encode_report(lost(0, 1));
  auto refused = [](const std::string& bytes, const std::string& words) {
    ReportDecoder decoder(0);
    try {
      decoder.feed(bytes);
      FAIL("accepted: " << words);
    } catch (const hilo::Error& e) {
      CHECK(std::string(e.what()).find(words) != std::string::npos);
    }
  };
  refused("GET / HTTP/1.0\r\n", "bad magic");
  refused("HLRV", "bad magic");  // a registration is not a report
  std::string bad_version = good;
  bad_version[5] = 2;
  refused(bad_version, "version 2");
  std::string absurd_length = good.substr(0, 8) + "\xff\xff";
  refused(absurd_length, "body length 65535");
  std::string long_reason = good;
  long_reason[14] = '\x7f';  // reason length (after magic, version, kind, body length, rank)
  refused(long_reason, "reason length");
  std::string body_too_long = good;
  body_too_long[9] = static_cast<char>(body_too_long[9] + 1);
  refused(body_too_long + "x", "bytes after a peer-lost report");
  std::string negative_rank = encode_report(lost(0, -1));
  refused(negative_rank, "lost rank -1");
}

TEST_CASE("trace_first_failure: follows the losses back to the rank that failed on its own") {
  const std::set<int> failed{0, 1, 2, 3};
  auto is_failed = [&](int r) { return failed.count(r) > 0; };
  // Rank 2 was killed; 0, 1 and 3 lost it and failed; hilorun reaped rank 0 first.
  std::vector<RankReport> reports{lost(0, 2), lost(1, 2), lost(3, 2), lost(0, 1)};
  CHECK(trace_first_failure(0, reports, is_failed) == 2);
  CHECK(trace_first_failure(2, reports, is_failed) == 2);
  // A chain: 0 lost 1, which lost 3 (3 failed first).
  CHECK(trace_first_failure(0, {lost(0, 1), lost(1, 3)}, is_failed) == 3);
  // Only a rank's first loss counts: 0 lost 1 first, 3 only after.
  CHECK(trace_first_failure(0, {lost(0, 1), lost(0, 3)}, is_failed) == 1);
  // No reports: the first failed rank reaped.
  CHECK(trace_first_failure(1, {}, is_failed) == 1);
}

TEST_CASE("trace_first_failure: stops at a rank hilorun stopped, a cycle, an unknown rank") {
  // Rank 2 did not fail on its own (hilorun stopped it): rank 0 is named.
  auto all_but_2 = [](int r) { return r != 2; };
  CHECK(trace_first_failure(0, {lost(0, 2)}, all_but_2) == 0);
  auto all = [](int r) { return r >= 0 && r < 4; };
  // 0 and 1 each report losing the other (they aborted at once): no way round forever.
  CHECK(trace_first_failure(0, {lost(0, 1), lost(1, 0)}, all) == 1);
  CHECK(trace_first_failure(0, {lost(0, 1), lost(1, 2), lost(2, 0)}, all) == 2);
  CHECK(trace_first_failure(0, {lost(0, 17)}, all) == 0);
}

namespace {

hilo::launch::ReportedOperation recv_from(int peer, int tag, std::string call_site) {
  hilo::launch::ReportedOperation op;
  op.operation = "recv";
  op.peer = peer;
  op.role = hilo::launch::WaitRole::source;
  op.tag = tag;
  op.communicator = "world";
  op.waiting_ms = 2000;
  op.call_site = call_site;
  op.text = "recv from rank " + std::to_string(peer) + ", tag " + std::to_string(tag) +
            ", on world, for 2.000 s, at " + call_site;
  return op;
}

RankReport pending(std::uint32_t request, std::vector<hilo::launch::ReportedOperation> ops) {
  RankReport report;
  report.kind = ReportKind::pending;
  report.request = request;
  report.pending = std::move(ops);
  return report;
}

}  // namespace

TEST_CASE("rank report: pending operations and report requests, decoded whole and in pieces") {
  hilo::launch::ReportedOperation barrier;
  barrier.operation = "barrier";
  barrier.communicator = "world.split(3)#0";
  barrier.call_site = "main.cpp:20";
  barrier.text = "barrier, on world.split(3)#0, for 0.500 s, at main.cpp:20";
  const RankReport answer = pending(5, {recv_from(1, 7, "main.cpp:12"), barrier});
  RankReport ask;
  ask.kind = ReportKind::report_request;
  ask.request = 5;
  const std::string bytes =
      encode_report(ask) + encode_report(answer) + encode_report(pending(0, {}));
  ReportDecoder decoder(2);
  std::vector<RankReport> reports;
  for (char byte : bytes) {
    for (auto& report : decoder.feed(std::string_view(&byte, 1))) reports.push_back(report);
  }
  REQUIRE(reports.size() == 3);
  ask.reporter = 2;
  CHECK(reports[0] == ask);
  RankReport expected = answer;
  expected.reporter = 2;
  CHECK(reports[1] == expected);
  CHECK(reports[2].kind == ReportKind::pending);
  CHECK(reports[2].request == 0);
  CHECK(reports[2].pending.empty());
}

TEST_CASE("rank report: a pending report is cut to its limits, never refused for its size") {
  std::vector<hilo::launch::ReportedOperation> many(
      hilo::launch::max_reported_operations + 5,
      recv_from(1, 7, std::string(hilo::launch::max_operation_field + 50, 'c')));
  for (auto& op : many) op.text = std::string(hilo::launch::max_operation_text + 50, 't');
  ReportDecoder decoder(0);
  auto reports = decoder.feed(encode_report(pending(1, many)));
  REQUIRE(reports.size() == 1);
  REQUIRE(reports[0].pending.size() == hilo::launch::max_reported_operations);
  CHECK(reports[0].pending[0].call_site.size() == hilo::launch::max_operation_field);
  CHECK(reports[0].pending[0].text.size() == hilo::launch::max_operation_text);
}

TEST_CASE("rank report: a malformed pending report or request is an Error") {
  auto refused = [](const std::string& bytes, const std::string& words) {
    ReportDecoder decoder(0);
    try {
      decoder.feed(bytes);
      FAIL("accepted: " << words);
    } catch (const hilo::Error& e) {
      CHECK(std::string(e.what()).find(words) != std::string::npos);
    }
  };
  std::string bad_role = encode_report(pending(1, {recv_from(1, 7, "a.cpp:1")}));
  // role: after the header (10), request (4), count (2), operation "recv" (2 + 4), peer (4).
  bad_role[26] = 9;
  refused(bad_role, "role 9");
  std::string trailing = encode_report(pending(1, {}));
  trailing[9] = static_cast<char>(trailing[9] + 1);
  refused(trailing + "x", "bytes after a pending report");
  RankReport ask;
  ask.kind = ReportKind::report_request;
  ask.request = 3;
  std::string long_request = encode_report(ask);
  long_request[9] = static_cast<char>(long_request[9] + 1);
  refused(long_request + "x", "a report request is a u32 request number");
}
