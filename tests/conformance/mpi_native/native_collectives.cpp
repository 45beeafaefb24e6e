// The mpi backend's native collectives and sendrecv, driven through its transport
// (backends/mpi/mpi_transport.hpp) under mpirun -n 1..4: results for uneven and zero counts, in
// place, with and without a deadline; a receiver getting more than it expects is a hilo::Error
// naming it; a rank that does not take part ends in hilo::Timeout.
// Every rank prints "FAILED: ..." for each failed check; rank 0 prints
// "mpi_native_collectives: OK" when no rank failed.
#include <hilo/hilo.hpp>
#include <hilo/mpi.hpp>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <initializer_list>
#include <memory>
#include <numeric>
#include <string>
#include <vector>

#include "backends/mpi/mpi_transport.hpp"

namespace {

using hilo::DataType;
using hilo::Deadline;
using hilo::ReduceKind;
using hilo::mpi::MpiTransport;

int failures = 0;

void expect(bool ok, int rank, const std::string& what) {
  if (ok) return;
  ++failures;
  std::printf("mpi_native_collectives: rank %d FAILED: %s\n", rank, what.c_str());
  std::fflush(stdout);
}

Deadline soon() {
  return Deadline::after(std::chrono::seconds(30));
}

// Runs `call`, expecting an exception of type E whose message holds every one of `parts`.
template <class E, class Call>
void expect_throws(Call&& call, int rank, const std::string& what,
                   std::initializer_list<std::string> parts) {
  try {
    call();
    expect(false, rank, what + ": no exception");
  } catch (const E& e) {
    const std::string message = e.what();
    for (const auto& part : parts)
      expect(message.find(part) != std::string::npos, rank,
             what + ": the message lacks '" + part + "': " + message);
  } catch (const std::exception& e) {
    expect(false, rank, what + ": another exception: " + e.what());
  }
}

// A type MPI does not know: sent as blocks of its bytes.
struct Triple {
  std::int32_t a, b, c;
  bool operator==(const Triple&) const = default;
};

void all_to_all(MpiTransport& t, Deadline deadline, const char* how) {
  const int rank = t.rank(), n = t.size();
  constexpr std::size_t count = 2;  // elements per pair of ranks
  std::vector<std::int32_t> in(count * n), out(count * n, -1), expected(count * n);
  for (int j = 0; j < n; ++j)
    for (std::size_t k = 0; k < count; ++k) {
      in[j * count + k] = rank * 100 + j * 10 + static_cast<int>(k);
      expected[j * count + k] = j * 100 + rank * 10 + static_cast<int>(k);
    }
  const auto type = hilo::data_type_of<std::int32_t>();
  expect(t.all_to_all(in.data(), out.data(), count, type, deadline) && out == expected, rank,
         std::string("all_to_all ") + how);
  std::vector<std::int32_t> in_place = in;
  expect(
      t.all_to_all(in_place.data(), in_place.data(), count, type, deadline) && in_place == expected,
      rank, std::string("all_to_all in place ") + how);

  std::vector<Triple> triples(n), received(n);
  for (int j = 0; j < n; ++j) triples[j] = {rank, j, rank * j};
  expect(t.all_to_all(triples.data(), received.data(), 1, hilo::data_type_of<Triple>(), deadline),
         rank, std::string("all_to_all of a struct ") + how);
  for (int j = 0; j < n; ++j)
    expect(received[j] == Triple{j, rank, rank * j}, rank,
           std::string("all_to_all of a struct: block ") + std::to_string(j) + " " + how);
}

// Rank r sends (r + j) % 3 elements to rank j: uneven, and zero for some pairs.
int pair_count(int from, int to) {
  return (from + to) % 3;
}

void all_to_all_v(MpiTransport& t, Deadline deadline, const char* how) {
  const int rank = t.rank(), n = t.size();
  std::vector<int> send_counts(n), recv_counts(n), send_displs(n), recv_displs(n);
  for (int j = 0; j < n; ++j) {
    send_counts[j] = pair_count(rank, j);
    recv_counts[j] = pair_count(j, rank);
  }
  std::exclusive_scan(send_counts.begin(), send_counts.end(), send_displs.begin(), 0);
  std::exclusive_scan(recv_counts.begin(), recv_counts.end(), recv_displs.begin(), 0);
  std::vector<double> in, expected;
  for (int j = 0; j < n; ++j)
    for (int k = 0; k < send_counts[j]; ++k) in.push_back(rank * 1000 + j * 10 + k + 0.5);
  for (int j = 0; j < n; ++j)
    for (int k = 0; k < recv_counts[j]; ++k) expected.push_back(j * 1000 + rank * 10 + k + 0.5);
  std::vector<double> out(expected.size(), -1);
  expect(t.all_to_all_v(in.data(), send_counts.data(), send_displs.data(), out.data(),
                        recv_counts.data(), recv_displs.data(), hilo::data_type_of<double>(),
                        deadline) &&
             out == expected,
         rank, std::string("all_to_all_v with uneven and zero counts ") + how);
}

// Rank r contributes r elements (none on rank 0).
void gather_v(MpiTransport& t, Deadline deadline, const char* how) {
  const int rank = t.rank(), n = t.size();
  std::vector<int> counts(n), displs(n);
  std::iota(counts.begin(), counts.end(), 0);
  std::exclusive_scan(counts.begin(), counts.end(), displs.begin(), 0);
  std::vector<std::int64_t> mine(rank, rank), expected;
  for (int j = 0; j < n; ++j) expected.insert(expected.end(), j, j);
  const auto type = hilo::data_type_of<std::int64_t>();
  std::vector<std::int64_t> all(expected.size(), -1);
  expect(t.gather_v(mine.data(), mine.size(), all.data(), counts.data(), displs.data(), type, -1,
                    deadline) &&
             all == expected,
         rank, std::string("all_gather_v ") + how);
  const int root = n - 1;
  std::vector<std::int64_t> at_root(rank == root ? expected.size() : 0, -1);
  expect(t.gather_v(mine.data(), mine.size(), at_root.data(), counts.data(), displs.data(), type,
                    root, deadline) &&
             (rank != root || at_root == expected),
         rank, std::string("gather_v to the last rank ") + how);
}

void scan(MpiTransport& t, Deadline deadline, const char* how) {
  const int rank = t.rank();
  const auto type = hilo::data_type_of<std::int64_t>();
  // Element k of rank r is (r + 1) * (k + 1): the inclusive prefix sum over ranks 0..r is
  // (k + 1) * (r + 1) * (r + 2) / 2.
  std::vector<std::int64_t> in(3), out(3, -1), expected(3), expected_ex(3);
  for (int k = 0; k < 3; ++k) {
    in[k] = (rank + 1) * (k + 1);
    expected[k] = (k + 1) * (rank + 1) * (rank + 2) / 2;
    expected_ex[k] = (k + 1) * rank * (rank + 1) / 2;
  }
  expect(
      t.scan(in.data(), out.data(), 3, type, ReduceKind::sum, false, deadline) && out == expected,
      rank, std::string("scan (sum) ") + how);
  std::vector<std::int64_t> in_place = in;
  expect(t.scan(in_place.data(), in_place.data(), 3, type, ReduceKind::sum, false, deadline) &&
             in_place == expected,
         rank, std::string("scan in place ") + how);
  std::vector<std::int64_t> ex(3, -7);
  const bool done = t.scan(in.data(), ex.data(), 3, type, ReduceKind::sum, true, deadline);
  expect(done && (rank == 0 ? ex == std::vector<std::int64_t>(3, -7) : ex == expected_ex), rank,
         std::string("exscan (sum; rank 0's output untouched) ") + how);
  std::vector<std::int64_t> ex_in_place = in;
  t.scan(ex_in_place.data(), ex_in_place.data(), 3, type, ReduceKind::sum, true, deadline);
  expect(rank == 0 ? ex_in_place == in : ex_in_place == expected_ex, rank,
         std::string("exscan in place ") + how);
  double maximum = 0, value = rank % 2 == 0 ? rank : -rank;
  expect(
      t.scan(&value, &maximum, 1, hilo::data_type_of<double>(), ReduceKind::max, false, deadline) &&
          maximum == (rank == 0 ? 0.0 : 2.0 * (rank / 2)),
      rank, std::string("scan (max of doubles) ") + how);
  expect(!t.scan(&value, &maximum, 1, hilo::data_type_of<double>(), ReduceKind::other, false,
                 deadline),
         rank, "scan with an operation MPI does not have is left to hilo's algorithm");
}

void reduce_scatter(MpiTransport& t, Deadline deadline, const char* how) {
  const int rank = t.rank(), n = t.size();
  constexpr int count = 2;
  // Block i, element k of rank r is r + 10 i + k: summed over ranks, rank i gets
  // n (n - 1) / 2 + n (10 i + k).
  std::vector<std::int32_t> in(count * n), out(count, -1), expected(count);
  for (int i = 0; i < n; ++i)
    for (int k = 0; k < count; ++k) in[i * count + k] = rank + 10 * i + k;
  for (int k = 0; k < count; ++k) expected[k] = n * (n - 1) / 2 + n * (10 * rank + k);
  const auto type = hilo::data_type_of<std::int32_t>();
  expect(t.reduce_scatter(in.data(), out.data(), count, type, ReduceKind::sum, deadline) &&
             out == expected,
         rank, std::string("reduce_scatter (sum) ") + how);
  std::vector<std::int32_t> in_place = in;
  expect(
      t.reduce_scatter(in_place.data(), in_place.data(), count, type, ReduceKind::sum, deadline) &&
          std::equal(expected.begin(), expected.end(), in_place.begin()),
      rank, std::string("reduce_scatter in place ") + how);
}

void nonblocking(MpiTransport& t) {
  const int rank = t.rank(), n = t.size();
  auto barrier = t.ibarrier();
  expect(barrier != nullptr, rank, "ibarrier starts");
  if (barrier) barrier->wait(soon());

  std::vector<std::uint16_t> data(5, rank == n - 1 ? 0 : 9);
  if (rank == n - 1) std::iota(data.begin(), data.end(), std::uint16_t{40});
  auto broadcast =
      t.ibroadcast(data.data(), data.size(), hilo::data_type_of<std::uint16_t>(), n - 1);
  // Completed by test() alone, as a caller that polls would.
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (broadcast && !broadcast->test() && std::chrono::steady_clock::now() < give_up) {
  }
  expect(broadcast && data == std::vector<std::uint16_t>{40, 41, 42, 43, 44}, rank,
         "ibroadcast from the last rank, completed by test()");

  float value = static_cast<float>(rank + 1), sum = 0;
  auto reduced = t.iall_reduce(&value, &sum, 1, hilo::data_type_of<float>(), ReduceKind::sum);
  if (reduced) reduced->wait(soon());
  expect(reduced && sum == static_cast<float>(n * (n + 1) / 2), rank, "iall_reduce (sum)");
  int in_place = rank;
  auto maximum = t.iall_reduce(&in_place, &in_place, 1, hilo::data_type_of<int>(), ReduceKind::max);
  if (maximum) maximum->wait(soon());
  expect(maximum && in_place == n - 1, rank, "iall_reduce (max) in place");

  std::vector<Triple> gathered(n);
  Triple mine{rank, -rank, 7};
  auto gather = t.iall_gather(&mine, gathered.data(), 1, hilo::data_type_of<Triple>());
  if (gather) gather->wait(soon());
  for (int j = 0; j < n; ++j)
    expect(gather && gathered[j] == Triple{j, -j, 7}, rank, "iall_gather of a struct");

  std::vector<std::int64_t> in(n), out(n, -1), expected(n);
  for (int j = 0; j < n; ++j) {
    in[j] = rank * 10 + j;
    expected[j] = j * 10 + rank;
  }
  auto exchange = t.iall_to_all(in.data(), out.data(), 1, hilo::data_type_of<std::int64_t>());
  if (exchange) exchange->wait(soon());
  expect(exchange && out == expected, rank, "iall_to_all");
}

hilo::Sink fixed_sink(void* into, std::size_t bytes, DataType type) {
  return hilo::Sink{type, into, bytes, nullptr};
}

template <class E>
hilo::Sink vector_sink(std::vector<E>& into) {
  return hilo::Sink{hilo::data_type_of<E>(), nullptr, 0, [&into](std::size_t bytes) -> void* {
                      into.resize(bytes / sizeof(E));
                      return into.data();
                    }};
}

// Every rank sends to the next and receives from the previous: a ring, which deadlocks if
// either side waits for the other.
void sendrecv(MpiTransport& t) {
  const int rank = t.rank(), n = t.size();
  const int next = (rank + 1) % n, previous = (rank + n - 1) % n;
  const auto int_type = hilo::data_type_of<int>();
  for (Deadline deadline : {Deadline::never(), soon()}) {
    const char* how = deadline.is_never() ? "(no deadline)" : "(with a deadline)";
    int mine = rank * 3, theirs = -1;
    hilo::Status s = t.sendrecv(next, 11, &mine, sizeof mine, int_type, previous, 11,
                                fixed_sink(&theirs, sizeof theirs, int_type), deadline);
    expect(theirs == previous * 3 && s.source == previous && s.bytes == sizeof(int), rank,
           std::string("sendrecv of an int around the ring ") + how);
    // A vector whose length the receiver does not know, of 1 MiB and more: large enough that MPI
    // sends it by rendezvous, so a sendrecv that sent before it received would deadlock.
    std::vector<double> out((std::size_t{1} << 17) + rank, rank + 0.25), in;
    s = t.sendrecv(next, 12, out.data(), out.size() * sizeof(double), hilo::data_type_of<double>(),
                   previous, 12, vector_sink(in), deadline);
    expect(in.size() == (std::size_t{1} << 17) + previous && in.back() == previous + 0.25 &&
               s.source == previous,
           rank, std::string("sendrecv of a vector of unknown size around the ring ") + how);
  }
  if (n < 2) return;
  // A receiver expecting one int that gets two: an error naming both ranks.
  int two[2] = {1, 2}, one = 0;
  if (rank == 1) {
    expect_throws<hilo::Error>(
        [&] {
          t.sendrecv(0, 13, &one, sizeof one, int_type, 0, 14,
                     fixed_sink(&one, sizeof one, int_type), Deadline::never());
        },
        rank, "sendrecv receiving more than it expects", {"on rank 1", "from rank 0"});
  } else if (rank == 0) {
    t.sendrecv(1, 14, two, sizeof two, int_type, 1, 13, fixed_sink(&one, sizeof one, int_type),
               Deadline::never());
  }
  // A rank whose partner never answers: hilo::Timeout at the deadline.
  if (rank == 0) {
    expect_throws<hilo::Timeout>(
        [&] {
          t.sendrecv(1, 15, &one, sizeof one, int_type, 1, 16,
                     fixed_sink(&one, sizeof one, int_type),
                     Deadline::after(std::chrono::milliseconds(300)));
        },
        rank, "sendrecv without an answer", {"on rank 0", "from rank 1"});
  } else if (rank == 1) {
    t.recv(0, 15, fixed_sink(&one, sizeof one, int_type), soon());
  }
}

// Rank 1 expects one element fewer from rank 0 than rank 0 sends it, and rank 2 (if any) one
// more from rank 0 than it gets (which MPI alone does not report). The counts go first (one
// MPI_Alltoall), so the ranks whose counts disagree receive what was really sent and raise after
// the exchange: every rank completes, in the blocking form (no deadline) as in the nonblocking.
void all_to_all_v_disagreement(MpiTransport& t, Deadline deadline) {
  const int rank = t.rank(), n = t.size();
  std::vector<int> send_counts(n, 0), recv_counts(n, 0), displs(n, 0);
  if (rank == 0) send_counts[1] = 2;
  if (rank == 1) recv_counts[0] = 1;
  if (rank == 2) recv_counts[0] = 1;
  std::vector<double> in(2, 1.0), out(2, 0.0);
  auto call = [&] {
    t.all_to_all_v(in.data(), send_counts.data(), displs.data(), out.data(), recv_counts.data(),
                   displs.data(), hilo::data_type_of<double>(), deadline);
  };
  if (rank == 1)
    expect_throws<hilo::Error>(
        call, rank, "all_to_all_v receiving more than it expects",
        {"hilo: all_to_all_v on rank 1: ", "rank 0 sends 2 elements to rank 1, which expects 1"});
  else if (rank == 2)
    expect_throws<hilo::Error>(
        call, rank, "all_to_all_v receiving less than it expects",
        {"hilo: all_to_all_v on rank 2: ", "rank 0 sends 0 elements to rank 2, which expects 1"});
  else
    call();
}

// The last rank does not take part; the others time out on `t`, which is unusable afterwards.
void timeout(MpiTransport& t, bool nonblocking_form) {
  const int rank = t.rank(), n = t.size();
  if (rank == n - 1) return;
  std::vector<std::int32_t> in(n, rank), out(n);
  const auto type = hilo::data_type_of<std::int32_t>();
  const Deadline deadline = Deadline::after(std::chrono::milliseconds(300));
  if (nonblocking_form) {
    auto exchange = t.iall_to_all(in.data(), out.data(), 1, type);
    if (!exchange) return expect(false, rank, "iall_to_all starts");
    expect_throws<hilo::Timeout>([&] { exchange->wait(deadline); }, rank,
                                 "iall_to_all without the last rank",
                                 {"iall_to_all on rank " + std::to_string(rank), "MPI_Ialltoall"});
    return;  // destroying `exchange` must not wait for the rank that never comes
  }
  expect_throws<hilo::Timeout>([&] { t.all_to_all(in.data(), out.data(), 1, type, deadline); },
                               rank, "all_to_all without the last rank",
                               {"all_to_all on rank " + std::to_string(rank), "MPI_Ialltoall"});
}

}  // namespace

int main(int argc, char** argv) {
  hilo::Runtime rt(argc, argv);
  const MPI_Comm world = hilo::mpi::native_handle(rt.world());
  int rank = 0, size = 0;
  MPI_Comm_rank(world, &rank);
  MPI_Comm_size(world, &size);
  {
    auto progress = std::make_shared<hilo::mpi::MpiProgress>(false);
    // Each transport over a communicator of its own, as MPI_Comm_split would make one.
    auto make = [&] {
      MPI_Comm comm;
      MPI_Comm_dup(world, &comm);
      return std::make_unique<MpiTransport>(comm, true, progress);
    };
    auto t = make();
    for (Deadline deadline : {Deadline::never(), soon()}) {
      const char* how = deadline.is_never() ? "(no deadline)" : "(with a deadline)";
      // First: the calls after it show that every rank completed it, the transport still usable.
      if (size >= 2) all_to_all_v_disagreement(*t, deadline);
      all_to_all(*t, deadline, how);
      all_to_all_v(*t, deadline, how);
      gather_v(*t, deadline, how);
      scan(*t, deadline, how);
      reduce_scatter(*t, deadline, how);
    }
    nonblocking(*t);
    sendrecv(*t);
    if (size >= 2) {
      auto abandoned = make(), abandoned_nonblocking = make();
      timeout(*abandoned, false);
      timeout(*abandoned_nonblocking, true);
    }
    progress->stop();
  }
  int total = 0;
  MPI_Allreduce(&failures, &total, 1, MPI_INT, MPI_SUM, world);
  if (rank == 0)
    std::printf("mpi_native_collectives: %s (%d ranks)\n", total == 0 ? "OK" : "FAILED", size);
  return total == 0 ? 0 : 1;
}
