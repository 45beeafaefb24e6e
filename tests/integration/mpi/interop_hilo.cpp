// The hilo side of the MPMD interop test: rank 1 of a job whose rank 0 is plain C MPI.
#include <hilo/hilo.hpp>

#include <cstdio>

int main(int argc, char** argv) {
  hilo::Runtime rt(argc, argv);
  hilo::Communicator& world = rt.world();
  world.send(0, 1, 42);
  world.send(0, 2, std::vector<double>{1.5, 2.5, 3.5});
  world.send(0, 3, std::string("hola hilo!"));
  auto numbers = world.recv<std::vector<long long>>(0, 4);
  float f = world.recv<float>(0, 5);
  bool ok = numbers == std::vector<long long>{7, 8, 9, 10} && f == 2.25f;
  std::printf("interop_hilo: %s received vector<long long> and float from plain MPI_Send\n",
              ok ? "OK" : "FAILED");
  return ok ? 0 : 1;
}
