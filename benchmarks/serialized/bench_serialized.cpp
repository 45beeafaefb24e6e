// A std::vector of user structs (a std::string and two numbers) sent between two ranks:
// hilo (its compile-time binary archive running the same Boost serialize member, one message, over
// the launcher's backend) vs Boost.MPI (its packed archive), 1 ... 10^6 elements by powers of 10.
// Ping-pong; the value is the one-way time (us). Two ways to receive, each its own rows:
//   serialized       each receive builds a new vector (`auto v = recv<std::vector<Record>>(...)`):
//                    both systems then also pay one malloc and one free per record (the names are
//                    one past the small-string buffer) and fresh pages for the vector;
//   serialized-into  each receive overwrites the vector the previous one filled, as a loop that
//                    keeps its variable does (`recv(from, tag, v)`, Boost.MPI's only form): both
//                    systems reuse the elements' strings, so the rows compare the archives and
//                    the transfer.
//
// The CSV's size_bytes is the payload the user sees: elements x record_payload_bytes (a 16-char
// name, a double and an int64), not the archive's size.
//
//   --system hilo    under mpirun -> hilo-mpi, under hilorun -> hilo-tcp
//   --system boost   Boost.MPI (the anchor)
//   --system hilo+boost  both in one process under mpirun, over the same MPI, alternating at
//                        each size (bench::alternate); rows named paired-serialized
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

// The four operations the measurement needs, over each system.
struct HiloSide {
  hilo::Communicator& world;
  std::string name;
  int rank() const { return world.rank(); }
  int size() const { return world.size(); }
  void send(int to, const std::vector<Record>& r) { world.send(to, tag, r); }
  std::vector<Record> recv(int from) { return world.recv<std::vector<Record>>(from, tag); }
  void recv_into(int from, std::vector<Record>& r) { world.recv(from, tag, r); }
  void barrier() { world.barrier(); }
  int agree(int n) {  // rank 0's step count
    if (rank() == 0) world.send(1, agree_tag, n);
    return rank() == 0 ? n : world.recv<int>(0, agree_tag);
  }
};

struct BoostSide {
  boost::mpi::communicator world;  // MPI_COMM_WORLD
  std::string name = "boost-mpi";
  int rank() const { return world.rank(); }
  int size() const { return world.size(); }
  void send(int to, const std::vector<Record>& r) { world.send(to, tag, r); }
  std::vector<Record> recv(int from) {
    std::vector<Record> r;
    world.recv(from, tag, r);
    return r;
  }
  void recv_into(int from, std::vector<Record>& r) { world.recv(from, tag, r); }
  void barrier() { world.barrier(); }
  int agree(int n) {  // rank 0's step count
    if (rank() == 0)
      world.send(1, agree_tag, n);
    else
      world.recv(0, agree_tag, n);
    return n;
  }
};

template <class Side>
void check_pair(Side& side) {
  if (side.size() != 2)
    throw std::invalid_argument("bench_serialized measures a pair: start it with 2 ranks, not " +
                                std::to_string(side.size()));
  if (side.rank() == 0) bench::print_header();
}

// The counts measured: 1, 10, 100, ... up to what --max-bytes allows.
std::vector<std::uint64_t> counts(const bench::Options& o) {
  std::vector<std::uint64_t> out;
  const std::uint64_t max_count = o.max_bytes / record_payload_bytes;
  for (std::uint64_t count = 1; count <= std::max<std::uint64_t>(1, max_count); count *= 10)
    out.push_back(count);
  return out;
}

enum class Receive { fresh, into };

// Ping-pongs `records` between ranks 0 and 1: the one-way time in us.
template <class Side>
double one_way_us(Side& side, const bench::Options& o, const std::vector<Record>& records,
                  Receive how) {
  const std::uint64_t count = records.size();
  std::vector<Record> kept;  // Receive::into: what the previous receive filled
  auto receive = [&](int from) -> const std::vector<Record>& {
    if (how == Receive::fresh)
      kept = side.recv(from);  // the previous vector is freed here, as a loop's would be
    else
      side.recv_into(from, kept);
    check(kept, count, side.name);
    return kept;
  };
  auto ping_pong = [&] {
    if (side.rank() == 0) {
      side.send(1, records);
      receive(1);
    } else {
      side.send(0, receive(0));
    }
  };
  const double seconds = bench::seconds_per_step(
      o, ping_pong, [&] { side.barrier(); }, [&](int n) { return side.agree(n); },
      count >= 100000 ? 1 : 5, 5000);
  return seconds * 1e6 / 2.0;
}

// One CSV row: "serialized" or "serialized-into" after `prefix` ("" or "paired-").
template <class Side>
void row(Side& side, const bench::Options& o, const std::vector<Record>& records, Receive how,
         const std::string& prefix) {
  const double us = one_way_us(side, o, records, how);
  const std::string benchmark = prefix + (how == Receive::fresh ? "serialized" : "serialized-into");
  if (side.rank() == 0)
    bench::print_row(benchmark, side.name, o.transport, records.size() * record_payload_bytes, 2,
                     o.repetition, us, "us");
}

template <class Side>
void run(Side& side, const bench::Options& o) {
  check_pair(side);
  for (Receive how : {Receive::fresh, Receive::into})
    for (std::uint64_t count : counts(o)) row(side, o, make_records(count), how, "");
}

// hilo-mpi and Boost.MPI over the same MPI, alternating in one process (bench::alternate), each
// size after an unrecorded warm-up measurement of each.
void run_paired(HiloSide& hilo, BoostSide& boost, const bench::Options& o) {
  check_pair(hilo);
  const bench::Options warm = bench::warm_up_options(o);
  for (Receive how : {Receive::fresh, Receive::into})
    for (std::uint64_t count : counts(o)) {
      const std::vector<Record> records = make_records(count);
      one_way_us(hilo, warm, records, how);
      one_way_us(boost, warm, records, how);
      bench::alternate([&] { row(hilo, o, records, how, "paired-"); },
                       [&] { row(boost, o, records, how, "paired-"); });
    }
}

}  // namespace

int main(int argc, char** argv) {
  return bench::guarded_main("bench_serialized", argc, argv, [&](const bench::Options& o) {
    if (o.system == "hilo") {
      hilo::Runtime rt(argc, argv);
      HiloSide hilo{rt.world(), "hilo-" + std::string(rt.backend_name())};
      run(hilo, o);
    } else if (o.system == "boost") {
      boost::mpi::environment env(argc, argv);
      BoostSide boost;
      run(boost, o);
    } else if (o.system == "hilo+boost") {
      hilo::Runtime rt(argc, argv);  // initialises MPI; Boost.MPI then uses it
      if (rt.backend_name() != "mpi")
        throw std::invalid_argument(
            "--system hilo+boost needs the mpi backend: start it with mpirun");
      HiloSide hilo{rt.world(), "hilo-mpi"};
      BoostSide boost;
      run_paired(hilo, boost, o);
    } else {
      throw std::invalid_argument("--system must be hilo, boost or hilo+boost, not '" + o.system +
                                  "'");
    }
  });
}
