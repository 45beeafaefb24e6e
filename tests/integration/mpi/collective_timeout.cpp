// split or dup on the mpi backend with one rank not taking part, under HILO_TIMEOUT: the ranks
// that wait must raise hilo::Timeout (MPI_Comm_split and MPI_Comm_dup alone would block them
// forever), and every rank must still be able to report and exit normally.
//   collective_timeout split   rank 1 passes an invalid colour (std::invalid_argument at once)
//   collective_timeout dup     rank 1 never calls dup
#include <hilo/hilo.hpp>

#include <chrono>
#include <cstdio>
#include <functional>
#include <stdexcept>
#include <string>

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  if (mode != "split" && mode != "dup") {
    std::fprintf(stderr, "usage: collective_timeout split|dup\n");
    return 2;
  }
  hilo::Runtime rt(argc, argv);
  hilo::Communicator& world = rt.world();
  hilo::Communicator c = world.dup(hilo::within(std::chrono::seconds(30)));
  const bool absent = world.rank() == 1;
  std::string outcome;
  try {
    if (mode == "split")
      c.split(absent ? -1 : 0, 0);
    else if (!absent)
      c.dup();
    outcome = "returned";
  } catch (const hilo::Timeout& e) {
    outcome = std::string("Timeout: ") + e.what();
  } catch (const hilo::Error& e) {
    outcome = std::string("Error: ") + e.what();
  } catch (const std::invalid_argument& e) {
    outcome = std::string("invalid_argument: ") + e.what();
  }
  const bool expected =
      absent ? (mode == "split" ? outcome.starts_with("invalid_argument: ") &&
                                      outcome.find("is negative") != std::string::npos
                                : outcome == "returned")
             : outcome.starts_with("Timeout: ") &&
                   outcome.find(mode + " on rank " + std::to_string(world.rank())) !=
                       std::string::npos;
  std::fprintf(stderr, "collective_timeout %s: rank %d: %s\n", mode.c_str(), world.rank(),
               outcome.c_str());
  // The job is still usable on another communicator: the ranks agree on the outcome. (Its own
  // limit: the rank that raised at once waits here for those that waited out theirs.)
  const int wrong =
      world.all_reduce(expected ? 0 : 1, std::plus<>{}, hilo::within(std::chrono::seconds(30)));
  if (world.rank() == 0)
    std::printf("collective_timeout %s: %s\n", mode.c_str(), wrong == 0 ? "OK" : "FAILED");
  return wrong == 0 ? 0 : 1;
}
