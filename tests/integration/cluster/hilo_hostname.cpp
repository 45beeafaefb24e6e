// hilo_hostname: mpi_hostname's twin written against hilo's own API, so the cluster test beds
// prove the hilo runtime itself (whichever backend the environment selects) across hosts.
//
// A ring exchange, an all_reduce of a number and of a vector large enough for the bandwidth
// algorithms (across hosts of several ranks each, the hierarchical one), and an all_gather of
// host names; only when all of them check out does each rank print
//
//     hilo_hostname: OK rank=R size=N host=H backend=B
//
// Otherwise it prints "hilo_hostname: FAILED ..." and exits 1.
#include <unistd.h>

#include <array>
#include <cstdio>
#include <exception>
#include <functional>
#include <string>
#include <vector>

#include <hilo/hilo.hpp>

namespace {

constexpr int ring_tag = 17;

std::string this_host() {
  std::array<char, 256> name{};
  if (gethostname(name.data(), name.size() - 1) != 0) return "unknown";
  return name.data();
}

}  // namespace

int main(int argc, char** argv) {
  try {
    hilo::Runtime runtime(argc, argv);
    hilo::Communicator& world = runtime.world();
    const int rank = world.rank();
    const int size = world.size();
    const std::string host = this_host();

    const int next = (rank + 1) % size;
    const int previous = (rank + size - 1) % size;
    hilo::Request sent = world.isend(next, ring_tag, rank);
    const int received = world.recv<int>(previous, ring_tag);
    sent.wait();

    const long long rank_sum = world.all_reduce(static_cast<long long>(rank), std::plus<>{});
    const long long expected_sum = static_cast<long long>(size) * (size - 1) / 2;
    // Element i of rank r is i + r: the sum over the ranks is size * i + expected_sum.
    constexpr std::size_t vector_length = 200'000;  // 1.6 MB
    std::vector<long long> vector(vector_length);
    for (std::size_t i = 0; i < vector_length; ++i) vector[i] = static_cast<long long>(i) + rank;
    world.all_reduce_in_place(vector, std::plus<>{});
    std::size_t vector_wrong = 0;
    for (std::size_t i = 0; i < vector_length; ++i)
      vector_wrong +=
          vector[i] != static_cast<long long>(size) * static_cast<long long>(i) + expected_sum;
    const std::vector<std::string> hosts = world.all_gather(host);

    const bool ok = received == previous && rank_sum == expected_sum && vector_wrong == 0 &&
                    hosts.size() == static_cast<std::size_t>(size) && hosts[rank] == host;
    const std::string backend(runtime.backend_name());
    if (ok) {
      std::printf("hilo_hostname: OK rank=%d size=%d host=%s backend=%s\n", rank, size,
                  host.c_str(), backend.c_str());
    } else {
      std::printf(
          "hilo_hostname: FAILED rank=%d size=%d host=%s backend=%s ring=%d (want %d) "
          "sum=%lld (want %lld) %zu of %zu vector elements wrong gathered %zu hosts\n",
          rank, size, host.c_str(), backend.c_str(), received, previous, rank_sum, expected_sum,
          vector_wrong, vector_length, hosts.size());
    }
    std::fflush(stdout);
    return ok ? 0 : 1;
  } catch (const std::exception& error) {
    std::fprintf(stderr, "hilo_hostname: FAILED: %s\n", error.what());
    return 1;
  }
}
