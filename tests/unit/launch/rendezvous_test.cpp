// The rendezvous server and client (runtime/src/launch/rendezvous.hpp): the table, the clients
// it must refuse while the real ranks carry on, every way a rendezvous can fail, and the report
// connections hilorun keeps open after it.
#include "launch/rendezvous.hpp"

#include "launch/rank_report.hpp"
#include "launch/report_channel.hpp"
#include "launch/report_inbox.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <future>
#include <iostream>
#include <thread>
#include <utility>

#include "catch.hpp"
#include "hilo/errors.hpp"
#include "loopback_client.hpp"

using namespace std::chrono_literals;
using hilo::common::UniqueFd;
using hilo::launch::encode_registration;
using hilo::launch::PeerAddress;
using hilo::launch::register_with_coordinator;
using hilo::launch::RendezvousServer;

namespace {

const std::string token(64, 'a');

std::string coord_of(const RendezvousServer& server) {
  return "127.0.0.1:" + std::to_string(server.port());
}

PeerAddress address_of(int rank) {
  return {rank, "host" + std::to_string(rank), "127.0.0.1",
          static_cast<std::uint16_t>(5000 + rank)};
}

std::vector<PeerAddress> expected_table(int size) {
  std::vector<PeerAddress> table;
  for (int r = 0; r < size; ++r) table.push_back(address_of(r));
  return table;
}

// Starts rank `rank` of `size` registering on a thread.
std::future<std::vector<PeerAddress>> register_async(const std::string& coord, int rank, int size,
                                                     std::string job_token = token,
                                                     std::chrono::milliseconds timeout = 10s) {
  return std::async(std::launch::async, [=] {
    return register_with_coordinator(coord, job_token, address_of(rank), size, timeout);
  });
}

void raw_send(const UniqueFd& fd, const std::string& bytes) {
  REQUIRE(::send(fd.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL) ==
          static_cast<ssize_t>(bytes.size()));
}

// What the server did with a raw connection within `limit`: "closed" (EOF or reset without a
// byte), "answered" (some bytes came), or "open" (nothing happened).
std::string fate_of(const UniqueFd& fd, std::chrono::milliseconds limit = 5s) {
  pollfd p{fd.get(), POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(limit.count())) <= 0) return "open";
  char byte = 0;
  ssize_t got = ::recv(fd.get(), &byte, 1, 0);
  return got > 0 ? "answered" : "closed";
}

}  // namespace

TEST_CASE("rendezvous: every rank gets the full table sorted by rank") {
  const int size = 5;
  RendezvousServer server("127.0.0.1", 0, size, token);
  REQUIRE(server.port() != 0);
  auto served = std::async(std::launch::async, [&] { return server.serve(10s); });
  std::vector<std::future<std::vector<PeerAddress>>> ranks;
  for (int r = size - 1; r >= 0; --r) ranks.push_back(register_async(coord_of(server), r, size));
  for (auto& rank : ranks) CHECK(rank.get() == expected_table(size));
  CHECK(served.get() == expected_table(size));
}

TEST_CASE("rendezvous: bad clients are refused while the real registrations complete") {
  const int size = 3;
  RendezvousServer server("127.0.0.1", 0, size, token);
  server.set_client_window(300ms);
  auto served = std::async(std::launch::async, [&] { return server.serve(20s); });

  auto garbage = raw_connect(server.port());
  raw_send(garbage, "GET / HTTP/1.0\r\n\r\n");
  auto wrong_version = raw_connect(server.port());
  std::string bytes = encode_registration(token, address_of(1), size);
  bytes[5] = 9;
  raw_send(wrong_version, bytes);
  auto absurd_length = raw_connect(server.port());
  raw_send(absurd_length, std::string("HLRV\x00\x01\xff\xff", 8));
  auto absurd_host = raw_connect(server.port());
  bytes = encode_registration(token, address_of(1), size);
  std::size_t host_length_at = 4 + 2 + 2 + token.size() + 8;
  bytes[host_length_at] = '\x7f';
  raw_send(absurd_host, bytes);
  auto out_of_range = raw_connect(server.port());
  raw_send(out_of_range, encode_registration(token, address_of(7), size));
  auto negative_rank = raw_connect(server.port());
  raw_send(negative_rank, encode_registration(token, address_of(-1), size));
  auto trailing_bytes = raw_connect(server.port());
  raw_send(trailing_bytes, encode_registration(token, address_of(2), size) + "extra");
  auto silent = raw_connect(server.port());
  auto half = raw_connect(server.port());
  raw_send(half, encode_registration(token, address_of(1), size).substr(0, 20));

  // The real client with a wrong token is refused without an answer.
  auto intruder = register_async(coord_of(server), 1, size, std::string(64, 'b'));
  CHECK_THROWS_AS(intruder.get(), hilo::Error);

  // Two connections claim rank 0: one gets the table, the other is closed.
  auto first_zero = raw_connect(server.port());
  raw_send(first_zero, encode_registration(token, address_of(0), size));
  auto second_zero = raw_connect(server.port());
  raw_send(second_zero, encode_registration(token, address_of(0), size));

  for (auto* fd : {&garbage, &wrong_version, &absurd_length, &absurd_host, &out_of_range,
                   &negative_rank, &trailing_bytes, &silent, &half}) {
    CHECK(fate_of(*fd) == "closed");
  }

  auto rank1 = register_async(coord_of(server), 1, size);
  auto rank2 = register_async(coord_of(server), 2, size);
  CHECK(rank1.get() == expected_table(size));
  CHECK(rank2.get() == expected_table(size));
  CHECK(served.get() == expected_table(size));
  std::string fates = fate_of(first_zero) + "," + fate_of(second_zero);
  CHECK((fates == "answered,closed" || fates == "closed,answered"));
}

TEST_CASE("rendezvous: a rank that never registers is a Timeout naming it, for everyone") {
  RendezvousServer server("127.0.0.1", 0, 3, token);
  auto served = std::async(std::launch::async, [&] { return server.serve(500ms); });
  auto rank0 = register_async(coord_of(server), 0, 3);
  auto rank2 = register_async(coord_of(server), 2, 3);
  try {
    served.get();
    FAIL("serve() returned");
  } catch (const hilo::Timeout& e) {
    CHECK(std::string(e.what()).find("rank(s) 1 of 3 never registered") != std::string::npos);
  }
  // Each rank's error names the step and the rank (hilo/errors.hpp's prefix).
  for (auto [rank, result] : {std::pair{0, &rank0}, std::pair{2, &rank2}}) {
    try {
      result->get();
      FAIL("a rank got a table");
    } catch (const hilo::Timeout& e) {
      CHECK(std::string(e.what()).starts_with("hilo: rendezvous on rank " + std::to_string(rank) +
                                              ": "));
    }
  }
}

TEST_CASE("rendezvous: a rank declaring another job size is an error for everyone") {
  RendezvousServer server("127.0.0.1", 0, 3, token);
  auto served = std::async(std::launch::async, [&] { return server.serve(10s); });
  auto rank0 = register_async(coord_of(server), 0, 3);
  std::this_thread::sleep_for(200ms);  // rank 0 registers first, so it is told too
  auto confused = register_async(coord_of(server), 1, 4);
  try {
    served.get();
    FAIL("serve() returned");
  } catch (const hilo::Error& e) {
    CHECK(std::string(e.what()).find("job of 4 ranks, but the coordinator expects 3") !=
          std::string::npos);
  }
  for (auto* rank : {&confused, &rank0}) {
    try {
      rank->get();
      FAIL("a rank got a table");
    } catch (const hilo::Timeout&) {
      FAIL("the error must reach the ranks, not leave them to time out");
    } catch (const hilo::Error& e) {
      CHECK(std::string(e.what()).find("do not agree on the job size") != std::string::npos);
    }
  }
}

TEST_CASE("rendezvous: a registered rank that dies is PeerLost naming it") {
  RendezvousServer server("127.0.0.1", 0, 3, token);
  auto served = std::async(std::launch::async, [&] { return server.serve(10s); });
  auto rank0 = register_async(coord_of(server), 0, 3);
  {
    auto doomed = raw_connect(server.port());
    raw_send(doomed, encode_registration(token, address_of(1), 3));
    std::this_thread::sleep_for(200ms);  // let the server register it before it goes away
  }
  try {
    served.get();
    FAIL("serve() returned");
  } catch (const hilo::PeerLost& e) {
    CHECK(e.rank() == 1);
    CHECK(e.host() == "host1");
  }
  try {
    rank0.get();
    FAIL("rank 0 got a table");
  } catch (const hilo::PeerLost& e) {
    CHECK(e.rank() == 1);
    CHECK(e.host() == "host1");
    CHECK(std::string(e.what()).starts_with("hilo: rendezvous on rank 0: "));
    CHECK(std::string(e.what()).find("rank 1 on host host1") != std::string::npos);
  }
}

TEST_CASE("rendezvous: after serve() ends, late clients are refused, not left waiting") {
  RendezvousServer server("127.0.0.1", 0, 1, token);
  auto served = std::async(std::launch::async, [&] { return server.serve(10s); });
  CHECK(register_with_coordinator(coord_of(server), token, address_of(0), 1, 5s) ==
        expected_table(1));
  CHECK(served.get() == expected_table(1));
  CHECK_THROWS_AS(register_with_coordinator(coord_of(server), token, address_of(0), 1, 300ms),
                  hilo::Timeout);
  CHECK_THROWS_AS(server.serve(1s), hilo::Error);
}

TEST_CASE("rendezvous: stop() from another thread ends serve() promptly") {
  RendezvousServer server("127.0.0.1", 0, 2, token);
  auto served = std::async(std::launch::async, [&] { return server.serve(60s); });
  std::this_thread::sleep_for(50ms);
  server.stop();
  REQUIRE(served.wait_for(5s) == std::future_status::ready);
  CHECK_THROWS_AS(served.get(), hilo::Error);
}

TEST_CASE("rendezvous client: no coordinator is a Timeout that does not fire early") {
  std::uint16_t port = 0;
  {
    RendezvousServer closed("127.0.0.1", 0, 1, token);  // a port that then has no listener
    port = closed.port();
  }
  auto start = std::chrono::steady_clock::now();
  CHECK_THROWS_AS(register_with_coordinator("127.0.0.1:" + std::to_string(port), token,
                                            address_of(0), 1, 400ms),
                  hilo::Timeout);
  CHECK(std::chrono::steady_clock::now() - start >= 350ms);
}

TEST_CASE("rendezvous client: retries until the coordinator is up") {
  std::uint16_t port = 0;
  {
    RendezvousServer probe("127.0.0.1", 0, 1, token);
    port = probe.port();
  }
  auto rank0 = std::async(std::launch::async, [&] {
    return register_with_coordinator("127.0.0.1:" + std::to_string(port), token, address_of(0), 1,
                                     10s);
  });
  std::this_thread::sleep_for(300ms);
  RendezvousServer server("127.0.0.1", port, 1, token);
  auto table = server.serve(10s);
  CHECK(table == expected_table(1));
  CHECK(rank0.get() == expected_table(1));
}

TEST_CASE("rendezvous client: a malformed or absurd reply is an Error, not an allocation") {
  UniqueFd listener(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(listener.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  REQUIRE(::listen(listener.get(), 4) == 0);
  socklen_t length = sizeof address;
  ::getsockname(listener.get(), reinterpret_cast<sockaddr*>(&address), &length);
  std::string coord = "127.0.0.1:" + std::to_string(ntohs(address.sin_port));

  auto reply = GENERATE(std::string("HLRV\x00\x01\x00\xff\xff\xff\xff", 11),  // 4 G entries
                        std::string("HLRV\x00\x01\x00\x00\x00\x00\x02"        // 2 entries,
                                    "\x00\x00\x00\x00\xff\xff",               // host 64 KiB
                                    17),
                        std::string("XXXX\x00\x01\x00", 7));
  auto client = std::async(std::launch::async, [&] {
    return register_with_coordinator(coord, token, address_of(0), 2, 5s);
  });
  UniqueFd peer(::accept(listener.get(), nullptr, nullptr));
  char buffer[1024];
  REQUIRE(::recv(peer.get(), buffer, sizeof buffer, 0) > 0);
  raw_send(peer, reply);
  try {
    client.get();
    FAIL("the client accepted a malformed reply");
  } catch (const hilo::Timeout&) {
    FAIL("a malformed reply must be reported as such, not as a timeout");
  } catch (const hilo::Error& e) {
    CHECK(std::string(e.what()).find("malformed reply") != std::string::npos);
  }
}

TEST_CASE("rendezvous: 64 ranks at once") {
  const int size = 64;
  RendezvousServer server("127.0.0.1", 0, size, token);
  auto start = std::chrono::steady_clock::now();
  auto served = std::async(std::launch::async, [&] { return server.serve(60s); });
  std::vector<std::future<std::vector<PeerAddress>>> ranks;
  for (int r = 0; r < size; ++r) ranks.push_back(register_async(coord_of(server), r, size));
  for (auto& rank : ranks) CHECK(rank.get() == expected_table(size));
  CHECK(served.get() == expected_table(size));
  auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - start);
  std::cout << "rendezvous of " << size << " ranks (threads, loopback): " << elapsed.count()
            << " ms\n";
}

// ---- report connections (rank_report.hpp, report_channel.hpp, report_inbox.hpp)

namespace {

using hilo::launch::RankReport;
using hilo::launch::ReportChannel;
using hilo::launch::ReportInbox;
using hilo::launch::ReportKind;

RankReport loss(int reporter, int peer) {
  return {reporter, ReportKind::peer_lost, peer, "rank " + std::to_string(peer) + " is gone", 0,
          {}};
}

// Registers every rank of a `size`-rank job keeping its connection; returns them by rank, and
// the server's kept connections.
struct KeptJob {
  std::vector<UniqueFd> rank_ends;
  std::vector<RendezvousServer::RankConnection> server_ends;
};
KeptJob register_keeping(int size, bool server_keeps) {
  RendezvousServer server("127.0.0.1", 0, size, token);
  if (server_keeps) server.keep_connections();
  auto served = std::async(std::launch::async, [&] { return server.serve(10s); });
  // Each rank's thread returns its table and checks nothing itself: Catch2's assertions are not
  // thread-safe (ThreadSanitizer reports their counters), so the main thread checks.
  std::vector<std::future<std::pair<std::vector<PeerAddress>, UniqueFd>>> ranks;
  for (int r = 0; r < size; ++r) {
    ranks.push_back(std::async(std::launch::async, [&server, r, size] {
      UniqueFd kept;
      auto table =
          register_with_coordinator(coord_of(server), token, address_of(r), size, 10s, &kept);
      return std::make_pair(std::move(table), std::move(kept));
    }));
  }
  KeptJob job;
  for (auto& rank : ranks) {
    auto [table, kept] = rank.get();
    REQUIRE(table == expected_table(size));
    job.rank_ends.push_back(std::move(kept));
  }
  CHECK(served.get() == expected_table(size));
  job.server_ends = server.take_kept_connections();
  return job;
}

// drain() until it holds `count` reports (bounded), for reports still crossing loopback.
std::vector<RankReport> drain_until(ReportInbox& inbox, std::size_t count) {
  auto give_up = std::chrono::steady_clock::now() + 5s;
  auto reports = inbox.drain();
  while (reports.size() < count && std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(10ms);
    reports = inbox.drain();
  }
  return reports;
}

}  // namespace

TEST_CASE("reports: kept connections carry each rank's reports, named by its registration") {
  KeptJob job = register_keeping(3, true);
  REQUIRE(job.server_ends.size() == 3);
  for (const auto& end : job.rank_ends) REQUIRE(end.valid());
  ReportInbox inbox;
  for (auto& [rank, connection] : job.server_ends) inbox.adopt(rank, std::move(connection));
  std::thread reader([&] { inbox.run(); });

  ReportChannel rank0(std::move(job.rank_ends[0]));
  ReportChannel rank2(std::move(job.rank_ends[2]));
  rank2.send(loss(2, 1));
  // Whatever a report says about its sender, the connection's registration decides.
  rank0.send(loss(2, 1));
  rank0.send(loss(0, 2));
  auto reports = drain_until(inbox, 3);
  std::sort(reports.begin(), reports.end(),
            [](const RankReport& a, const RankReport& b) { return a.reporter < b.reporter; });
  CHECK(reports == std::vector<RankReport>{loss(0, 1), loss(0, 2), loss(2, 1)});

  // Garbage on rank 1's connection: none of its reports is trusted, the others are kept.
  raw_send(job.rank_ends[1], hilo::launch::encode_report(loss(1, 0)));
  CHECK(drain_until(inbox, 4).size() == 4);
  raw_send(job.rank_ends[1], "GET / HTTP/1.0\r\n\r\n");
  auto give_up = std::chrono::steady_clock::now() + 5s;
  while (inbox.drain().size() != 3 && std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(10ms);
  }
  CHECK(inbox.drain().size() == 3);
  CHECK(fate_of(job.rank_ends[1]) == "closed");  // closed by the reader thread

  inbox.stop();
  reader.join();
}

TEST_CASE("reports: reports sent before a rank's connection ends are all read") {
  KeptJob job = register_keeping(2, true);
  ReportInbox inbox;
  for (auto& [rank, connection] : job.server_ends) inbox.adopt(rank, std::move(connection));
  {
    ReportChannel rank1(std::move(job.rank_ends[1]));
    rank1.send(loss(1, 0));
  }  // rank 1 exits; hilorun drains after reaping it, with no reader thread running yet
  CHECK(inbox.drain() == std::vector<RankReport>{loss(1, 0)});
  inbox.stop();
  inbox.run();  // returns at once: stopped
}

TEST_CASE("reports: a server that does not keep connections (srun's rank 0) closes them") {
  KeptJob job = register_keeping(2, false);
  CHECK(job.server_ends.empty());
  for (const auto& end : job.rank_ends) CHECK(fate_of(end) == "closed");
}

TEST_CASE("reports: a channel whose reader does not read never blocks the rank") {
  int ends[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, ends) == 0);
  UniqueFd reader_end(ends[0]);
  const int writes = 100000;  // far more than the socket buffer holds
  {
    ReportChannel channel{UniqueFd(ends[1])};
    for (int i = 0; i < writes; ++i) channel.send(loss(0, i % 4));
  }
  // What got through is whole reports, then at most one cut off before the end.
  hilo::launch::ReportDecoder decoder(0);
  std::size_t decoded = 0;
  char buffer[65536];
  ssize_t got;
  while ((got = ::recv(reader_end.get(), buffer, sizeof buffer, MSG_DONTWAIT)) > 0) {
    decoded += decoder.feed({buffer, static_cast<std::size_t>(got)}).size();
  }
  CHECK(decoded > 0);
  CHECK(decoded < static_cast<std::size_t>(writes));
}
