// Rank 1 lets an exception escape main while rank 0 waits for a message from it. Without
// hilo's handler rank 0 would wait forever; with it the whole job is aborted with the message.
#include <hilo/hilo.hpp>

#include <cstdio>
#include <stdexcept>

int main(int argc, char** argv) {
  hilo::Runtime rt(argc, argv);
  hilo::Communicator& world = rt.world();
  if (world.rank() == 1) throw std::runtime_error("rank 1 could not open its input file");
  world.recv<int>(1, 0);  // never arrives
  std::puts("throwing_rank: rank 0 was not stopped");
  return 0;
}
