// What hilorun says about a hung job from the ranks' pending operations (the wait-for report of
// issue 20): who waits for whom, the cycles in that graph ("deadlock: ..."), and the ranks that
// wait for one that has exited. Pure functions of what the ranks reported and what hilorun's
// supervisor knows about exits, so they are tested without a job.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace hilo::launch {

// One pending operation of one rank that waits for one peer (a receive, probe or send to a
// rank; wildcard receives and collectives of all ranks name no peer and are not edges).
struct WaitEdge {
  int rank = -1;          // the rank that waits
  int peer = -1;          // the rank it waits for
  std::string operation;  // "recv", "send", ...
  int tag = -1;           // -1: none or any
  std::string call_site;  // "main.cpp:12"
};

// Every elementary cycle of the graph, each once, as one line in the form
//   deadlock: rank 0 waits for rank 1 (recv tag 7 at main.cpp:12); rank 1 waits for rank 0
//   (recv tag 7 at main.cpp:15)
// starting from the cycle's lowest rank; lines in order of their first rank, then length.
std::vector<std::string> describe_deadlocks(const std::vector<WaitEdge>& edges);

// One line per edge whose peer has exited: "rank 2 waits for rank 1, which has exited (<how>)
// (recv tag 7 at main.cpp:20)". `exited` maps a rank to how it ended ("exit code 0",
// "killed by signal 9").
std::vector<std::string> describe_waits_for_exited(const std::vector<WaitEdge>& edges,
                                                   const std::map<int, std::string>& exited);

}  // namespace hilo::launch
