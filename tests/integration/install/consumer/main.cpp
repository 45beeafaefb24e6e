#include <hilo/hilo.hpp>

#include <cstdio>

int main() {
  long total = 0;
  hilo::run_local(3, [&](hilo::Communicator& c) {
    long sum = c.all_reduce(static_cast<long>(c.rank() + 1), std::plus<>{});
    if (c.rank() == 0) total = sum;
  });
  std::printf("consumer: %s total=%ld\n", total == 6 ? "OK" : "FAILED", total);
  return total == 6 ? 0 : 1;
}
