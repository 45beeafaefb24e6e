// A std::vector of user structs (a std::string and two numbers) sent between two ranks:
// hilo (its compile-time binary archive running the same Boost serialize member, one message, over
// the launcher's backend) vs Boost.MPI (its packed archive), 1 ... 10^6 elements by powers of 10.
// Ping-pong; the value is the one-way time (us).
//
// The CSV's size_bytes is the payload the user sees: elements x record_payload_bytes (a 16-char
// name, a double and an int64), not the archive's size.
//
//   --system hilo    under mpirun -> hilo-mpi, under hilorun -> hilo-tcp
//   --system boost   Boost.MPI (the anchor)
#include <boost/mpi/communicator.hpp>
#include <boost/mpi/environment.hpp>
#include <boost/serialization/string.hpp>
#include <boost/serialization/vector.hpp>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "bench_common.hpp"
#include "hilo/hilo.hpp"

namespace {

struct Record {
  std::string name;
  double value = 0;
  std::int64_t id = 0;

  template <class Archive>
  void serialize(Archive& archive, unsigned /*version*/) {
    archive& name& value& id;
  }
};

constexpr std::uint64_t record_payload_bytes = 16 + sizeof(double) + sizeof(std::int64_t);
constexpr int tag = 3;
constexpr int agree_tag = 4;

std::vector<Record> make_records(std::uint64_t count) {
  std::vector<Record> records(count);
  for (std::uint64_t i = 0; i < count; ++i)
    records[i] = Record{"record-" + std::to_string(1000000000 + i).substr(1), 0.5 * double(i),
                        std::int64_t(i)};
  return records;
}

void check(const std::vector<Record>& got, std::uint64_t count, const std::string& system) {
  if (got.size() != count ||
      (count > 0 && (got.back().id != std::int64_t(count - 1) || got.back().name.size() != 16)))
    throw hilo::Error(system + ": the vector of " + std::to_string(count) +
                      " records came back with " + std::to_string(got.size()) +
                      " elements or wrong contents");
}

// send(to, records) and recv(from) -> records, over whichever system.
template <class Send, class Recv, class Barrier, class Agree>
void run(int rank, int ranks, const bench::Options& o, const std::string& system, Send send,
         Recv recv, Barrier barrier, Agree agree) {
  if (ranks != 2)
    throw std::invalid_argument("bench_serialized measures a pair: start it with 2 ranks, not " +
                                std::to_string(ranks));
  if (rank == 0) bench::print_header();
  const std::uint64_t max_count = o.max_bytes / record_payload_bytes;
  for (std::uint64_t count = 1; count <= std::max<std::uint64_t>(1, max_count); count *= 10) {
    const std::vector<Record> records = make_records(count);
    auto ping_pong = [&] {
      if (rank == 0) {
        send(1, records);
        check(recv(1), count, system);
      } else {
        std::vector<Record> got = recv(0);
        check(got, count, system);
        send(0, got);
      }
    };
    const double seconds =
        bench::seconds_per_step(o, ping_pong, barrier, agree, count >= 100000 ? 1 : 5, 5000);
    const double us = seconds * 1e6 / 2.0;
    if (rank == 0)
      bench::print_row("serialized", system, o.transport, count * record_payload_bytes, 2,
                       o.repetition, us, "us");
  }
}

}  // namespace

int main(int argc, char** argv) {
  return bench::guarded_main("bench_serialized", argc, argv, [&](const bench::Options& o) {
    if (o.system == "hilo") {
      hilo::Runtime rt(argc, argv);
      auto& w = rt.world();
      run(
          w.rank(), w.size(), o, "hilo-" + std::string(rt.backend_name()),
          [&](int to, const std::vector<Record>& r) { w.send(to, tag, r); },
          [&](int from) { return w.recv<std::vector<Record>>(from, tag); }, [&] { w.barrier(); },
          [&](int n) {  // rank 0's step count
            if (w.rank() == 0) w.send(1, agree_tag, n);
            return w.rank() == 0 ? n : w.recv<int>(0, agree_tag);
          });
    } else if (o.system == "boost") {
      boost::mpi::environment env(argc, argv);
      boost::mpi::communicator w;
      run(
          w.rank(), w.size(), o, "boost-mpi",
          [&](int to, const std::vector<Record>& r) { w.send(to, tag, r); },
          [&](int from) {
            std::vector<Record> r;
            w.recv(from, tag, r);
            return r;
          },
          [&] { w.barrier(); },
          [&](int n) {  // rank 0's step count
            if (w.rank() == 0)
              w.send(1, agree_tag, n);
            else
              w.recv(0, agree_tag, n);
            return n;
          });
    } else {
      throw std::invalid_argument("--system must be hilo or boost, not '" + o.system + "'");
    }
  });
}
