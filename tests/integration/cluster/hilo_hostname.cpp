// hilo_hostname: mpi_hostname's twin written against hilo's own API, so the cluster test beds
// prove the hilo runtime itself (whichever backend the environment selects) across hosts.
//
// A ring exchange, an all_reduce and an all_gather of host names; only when all three check
// out does each rank print
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
    const std::vector<std::string> hosts = world.all_gather(host);

    const bool ok = received == previous && rank_sum == expected_sum &&
                    hosts.size() == static_cast<std::size_t>(size) && hosts[rank] == host;
    const std::string backend(runtime.backend_name());
    if (ok) {
      std::printf("hilo_hostname: OK rank=%d size=%d host=%s backend=%s\n", rank, size,
                  host.c_str(), backend.c_str());
    } else {
      std::printf(
          "hilo_hostname: FAILED rank=%d size=%d host=%s backend=%s ring=%d (want %d) "
          "sum=%lld (want %lld) gathered %zu hosts\n",
          rank, size, host.c_str(), backend.c_str(), received, previous, rank_sum, expected_sum,
          hosts.size());
    }
    std::fflush(stdout);
    return ok ? 0 : 1;
  } catch (const std::exception& error) {
    std::fprintf(stderr, "hilo_hostname: FAILED: %s\n", error.what());
    return 1;
  }
}
