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
//   --system hilo+boost  both in one process under mpirun, over the same MPI, interleaved on the
//                        same vectors (bench::interleaved_seconds_per_step); rows named
//                        paired-serialized, paired-serialized-into
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

// One ping-pong of `records` between ranks 0 and 1 over `side`. The receiving side's vector is
// `kept`: with Receive::into each receive overwrites what the previous one filled.
template <class Side>
auto ping_pong_step(Side& side, const std::vector<Record>& records, Receive how,
                    std::vector<Record>& kept) {
  return [&side, &records, how, &kept] {
    auto receive = [&](int from) -> const std::vector<Record>& {
      if (how == Receive::fresh)
        kept = side.recv(from);  // the previous vector is freed here, as a loop's would be
      else
        side.recv_into(from, kept);
      check(kept, records.size(), side.name);
      return kept;
    };
    if (side.rank() == 0) {
      side.send(1, records);
      receive(1);
    } else {
      side.send(0, receive(0));
    }
  };
}

constexpr int max_steps = 5000;
int pilot_steps(std::uint64_t count) {
  return count >= 100000 ? 1 : 5;
}

// Ping-pongs `records` between ranks 0 and 1: the one-way time in us.
template <class Side>
double one_way_us(Side& side, const bench::Options& o, const std::vector<Record>& records,
                  Receive how) {
  std::vector<Record> kept;
  const double seconds = bench::seconds_per_step(
      o, ping_pong_step(side, records, how, kept), [&] { side.barrier(); },
      [&](int n) { return side.agree(n); }, pilot_steps(records.size()), max_steps);
  return seconds * 1e6 / 2.0;
}

const char* benchmark_name(Receive how) {
  return how == Receive::fresh ? "serialized" : "serialized-into";
}

// One CSV row of `side`'s time for `records`.
template <class Side>
void row(Side& side, const bench::Options& o, const std::string& benchmark,
         const std::vector<Record>& records, double us) {
  if (side.rank() == 0)
    bench::print_row(benchmark, side.name, o.transport, records.size() * record_payload_bytes, 2,
                     o.repetition, us, "us");
}

template <class Side>
void run(Side& side, const bench::Options& o) {
  check_pair(side);
  for (Receive how : {Receive::fresh, Receive::into})
    for (std::uint64_t count : counts(o)) {
      const std::vector<Record> records = make_records(count);
      row(side, o, benchmark_name(how), records, one_way_us(side, o, records, how));
    }
}

// hilo-mpi and Boost.MPI over the same MPI, interleaved in one process on the same vectors
// (bench::interleaved_seconds_per_step), paired_rounds measurements per size.
void run_paired(HiloSide& hilo, BoostSide& boost, const bench::Options& o) {
  check_pair(hilo);
  for (Receive how : {Receive::fresh, Receive::into})
    for (std::uint64_t count : counts(o)) {
      const std::vector<Record> records = make_records(count);
      std::vector<Record> kept;
      const std::string benchmark = std::string("paired-") + benchmark_name(how);
      for (int round = 0; round < bench::paired_rounds; ++round) {
        const auto s = bench::interleaved_seconds_per_step(
            o, ping_pong_step(hilo, records, how, kept), ping_pong_step(boost, records, how, kept),
            [&] { boost.barrier(); }, [&](int n) { return boost.agree(n); }, pilot_steps(count),
            max_steps, round % 2 == 0);
        row(hilo, o, benchmark, records, s.a * 1e6 / 2.0);
        row(boost, o, benchmark, records, s.b * 1e6 / 2.0);
      }
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
