// A rank program for hilorun's wait-for report tests (wait_for_test.py): ranks that hang in a
// known way, at known lines. Each rank writes its pid to $PROBE_PID_DIR/rank<R>.pids just before
// it blocks, so the test knows when to ask and can check that nothing survives.
//   cycle      rank R receives from rank R+1 (mod size), tag 7: every rank waits, in a cycle.
//              Rank 0 calls at the line marked "rank 0 waits", the others at "rank R waits".
//   irecv_cycle  as cycle, with an irecv whose Request every rank waits for at "rank waits in
//              its request".
//   exited     rank 1 leaves a child holding its connections (so the others see no end of
//              them: a rank that exits plainly fails their waits at once with PeerLost) and
//              exits 0 without finishing hilo; rank 0 receives from rank 1, tag 7, at "rank 0
//              waits for rank 1"; other ranks wait in a barrier. The child's pid goes to
//              $PROBE_PID_DIR/child.pids (the test ends it; it ends itself after 60 s).
#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>

#include "hilo/hilo.hpp"

namespace {

void record_pid(const std::string& name, pid_t pid) {
  const char* dir = std::getenv("PROBE_PID_DIR");
  if (dir == nullptr) return;
  std::ofstream(std::string(dir) + "/" + name + ".pids") << pid << "\n";
}

int cycle(hilo::Communicator& world) {
  const int next = (world.rank() + 1) % world.size();
  record_pid("rank" + std::to_string(world.rank()), ::getpid());
  if (world.rank() == 0) {
    return world.recv<int>(next, 7);  // rank 0 waits
  }
  return world.recv<int>(next, 7);  // rank R waits
}

int irecv_cycle(hilo::Communicator& world) {
  const int next = (world.rank() + 1) % world.size();
  record_pid("rank" + std::to_string(world.rank()), ::getpid());
  int value = 0;
  hilo::Request request = world.irecv(next, 7, value);
  request.wait();  // rank waits in its request
  return value;
}

int exited(hilo::Communicator& world) {
  if (world.rank() == 1) {
    const pid_t child = ::fork();
    if (child == 0) {
      // Holds every socket of rank 1 open, but not its output (hilorun would wait for its end).
      // Out of rank 1's process group, which hilorun kills once it has reaped rank 1.
      ::setpgid(0, 0);
      const int null = ::open("/dev/null", O_WRONLY);
      ::dup2(null, STDOUT_FILENO);
      ::dup2(null, STDERR_FILENO);
      ::sleep(60);
      ::_exit(0);
    }
    // Here too, so that the child has left the group before hilorun can kill it (once it has
    // reaped this rank), whichever of the two runs first.
    ::setpgid(child, child);
    record_pid("child", child);
    record_pid("rank1", ::getpid());
    ::_exit(0);  // no goodbye: the others would fail at once with PeerLost on one
  }
  record_pid("rank" + std::to_string(world.rank()), ::getpid());
  if (world.rank() == 0) return world.recv<int>(1, 7);  // rank 0 waits for rank 1
  world.barrier();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  hilo::Runtime runtime(argc, argv);
  hilo::Communicator& world = runtime.world();
  if (mode == "cycle") return cycle(world);
  if (mode == "irecv_cycle") return irecv_cycle(world);
  if (mode == "exited") return exited(world);
  std::cerr << "hang_probe: unknown mode '" << mode << "' (cycle, irecv_cycle, exited)\n";
  return 2;
}
