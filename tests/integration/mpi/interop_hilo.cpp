// The hilo side of the MPMD interop test: ranks 1.. of a job whose rank 0 is plain C MPI
// (interop_peer.c). Rank 1 exchanges messages with it; then every rank takes part in all_to_all,
// scan, reduce_scatter and sendrecv while the C program calls MPI_Alltoall, MPI_Scan,
// MPI_Reduce_scatter_block and MPI_Sendrecv.
//
// The collectives go through hilo::Communicator's calls when this hilo has them, otherwise
// through the mpi backend's native collectives, which those calls use on mpi (the line printed
// says which).
#include <hilo/hilo.hpp>
#include <hilo/mpi.hpp>

#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "backends/mpi/mpi_transport.hpp"

namespace {

bool point_to_point(hilo::Communicator& world) {
  world.send(0, 1, 42);
  world.send(0, 2, std::vector<double>{1.5, 2.5, 3.5});
  world.send(0, 3, std::string("hola hilo!"));
  auto numbers = world.recv<std::vector<long long>>(0, 4);
  float f = world.recv<float>(0, 5);
  return numbers == std::vector<long long>{7, 8, 9, 10} && f == 2.25f;
}

template <class C>
constexpr bool has_issue19_calls = requires(C& c, const std::vector<int>& v) {
  c.all_to_all(v);
  c.scan(std::int64_t{1}, std::plus<>{});
  c.reduce_scatter(v, std::plus<>{});
  c.template sendrecv<int>(0, 0, 1, 0, 0);
};

struct Results {
  std::vector<int> from_each;
  std::int64_t prefix = 0;
  int reduced = 0, received = -1;
};

// The same calls as interop_peer.c's collectives(), in the same order, on the same values.
template <class C>
Results collectives(C& world) {
  const int rank = world.rank(), size = world.size();
  std::vector<int> to_each(size), blocks(size);
  for (int j = 0; j < size; ++j) {
    to_each[j] = rank * 10 + j;
    blocks[j] = rank + 100 * j;
  }
  const std::int64_t mine = rank + 1;
  const int sent = rank * 7, next = (rank + 1) % size, previous = (rank + size - 1) % size;
  Results r;
  if constexpr (has_issue19_calls<C>) {
    r.from_each = world.all_to_all(to_each);
    r.prefix = world.scan(mine, std::plus<>{});
    r.reduced = world.reduce_scatter(blocks, std::plus<>{});
    r.received = world.template sendrecv<int>(next, 20, sent, previous, 20);
  } else {
    // What those calls do on the mpi backend, over the world's MPI communicator.
    auto progress = std::make_shared<hilo::mpi::MpiProgress>(false);
    hilo::mpi::MpiTransport native(hilo::mpi::native_handle(world), false, progress);
    const auto never = hilo::Deadline::never();
    const auto int_type = hilo::data_type_of<int>();
    r.from_each.assign(size, -1);
    native.all_to_all(to_each.data(), r.from_each.data(), 1, int_type, never);
    native.scan(&mine, &r.prefix, 1, hilo::data_type_of<std::int64_t>(), hilo::ReduceKind::sum,
                false, never);
    native.reduce_scatter(blocks.data(), &r.reduced, 1, int_type, hilo::ReduceKind::sum, never);
    native.sendrecv(next, 20, &sent, sizeof sent, int_type, previous, 20,
                    hilo::Sink{int_type, &r.received, sizeof r.received, nullptr}, never);
    progress->stop();
  }
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  hilo::Runtime rt(argc, argv);
  hilo::Communicator& world = rt.world();
  const int rank = world.rank(), size = world.size();
  if (rank == 1) {
    const bool ok = point_to_point(world);
    std::printf("interop_hilo: %s received vector<long long> and float from plain MPI_Send\n",
                ok ? "OK" : "FAILED");
    if (!ok) return 1;
  }
  const Results r = collectives(world);
  bool ok = r.prefix == std::int64_t{rank + 1} * (rank + 2) / 2 &&
            r.reduced == size * (size - 1) / 2 + 100 * size * rank &&
            r.received == (rank + size - 1) % size * 7;
  for (int j = 0; j < size; ++j) ok = ok && r.from_each[j] == j * 10 + rank;
  std::printf(
      "interop_hilo: rank %d: %s all_to_all, scan, reduce_scatter and sendrecv with a C "
      "program's MPI calls (through %s)\n",
      rank, ok ? "OK" : "FAILED",
      has_issue19_calls<hilo::Communicator> ? "hilo::Communicator"
                                            : "the mpi backend's native collectives");
  return ok ? 0 : 1;
}
