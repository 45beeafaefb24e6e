// Slurm's compressed host lists (SLURM_JOB_NODELIST, SLURM_STEP_NODELIST), expanded.
//
//   "node01"                   -> node01
//   "node[01-03,7]"            -> node01 node02 node03 node7   (zero padding kept per range)
//   "a[1-2],b5"                -> a1 a2 b5                      (commas outside brackets split)
//   "rack[1-2]-n[1-2]"         -> rack1-n1 rack1-n2 rack2-n1 rack2-n2  (several brackets: product)
// The order is Slurm's: the first host is where task 0 runs for a block distribution, which is
// why the backend's srun mode puts the rendezvous there. A malformed list (unbalanced brackets,
// an empty range, max < min, an expansion over a million names) is a hilo::Error quoting it.
#pragma once

#include <string>
#include <vector>

namespace hilo::tcp {

std::vector<std::string> expand_slurm_hostlist(const std::string& list);

}  // namespace hilo::tcp
