// What hilorun prints for a hung job (issue 20's wait-for report): one line per rank saying what
// it waits in, has ended with, or that it did not answer; then each cycle of ranks waiting for
// one another (launch/wait_for_graph.hpp) and each wait for a rank that has exited. A pure
// function of what the ranks reported and what the supervisor knows of their ends.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "launch/rank_report.hpp"

namespace hilo::hilorun {

struct RankState {
  int rank = 0;
  std::string host;
  std::optional<std::string> ended;  // "exited with status 0", ...; none while it runs
};

// The lines, without hilorun's prefix:
//   rank 0 (n1): waiting in recv from rank 1, tag 7, on world, for 2.000 s, at main.cpp:12
//   rank 1 (n1): running, nothing pending
//   rank 2 (n1): exited with status 0
//   rank 3 (n1): no answer
//   deadlock: rank 0 waits for rank 1 (recv tag 7 at main.cpp:12); rank 1 waits for ...
//   rank 0 waits for rank 2, which has exited (exited with status 0) (recv tag 7 at main.cpp:20)
// `answers`: each rank's answer to the request; `timeouts`: the report a rank sent when one of
// its calls raised hilo::Timeout (used for a rank that did not answer). Only waits for one rank
// of the world communicator are edges of the graph: the others' ranks are not world ranks.
std::vector<std::string> wait_for_report(const std::vector<RankState>& ranks,
                                         const std::map<int, launch::RankReport>& answers,
                                         const std::map<int, launch::RankReport>& timeouts);

}  // namespace hilo::hilorun
