// --output-filename DIR: each rank's stdout and stderr also go to a file of their own, in Open
// MPI's layout (so scripts written for `mpirun --output-filename` find them):
//   DIR/1/rank.N/stdout and DIR/1/rank.N/stderr
// where "1" stands for the job (Open MPI's job number; hilorun runs one job) and N is the rank,
// zero-padded to the width of the largest rank (rank.07 in a job of 12 ranks), as Open MPI 4 does.
// The files get exactly the bytes the rank wrote (no --tag-output prefix) and are truncated at
// the start of the job.
#pragma once

#include <string>
#include <vector>

#include "common/unique_fd.hpp"

namespace hilo::hilorun {

class OutputFiles {
 public:
  // Creates the directories and opens (truncates) the 2 * `ranks` files; a hilo::Error naming
  // the path that could not be created, before any rank starts.
  OutputFiles(const std::string& directory, int ranks);

  // The file for `rank`'s `stream` (1: stdout, 2: stderr).
  int fd(int rank, int stream) const;

  // DIR/1/rank.N, for messages and tests.
  static std::string rank_directory(const std::string& directory, int rank, int ranks);

 private:
  std::vector<common::UniqueFd> files_;  // stdout, stderr of rank 0, then of rank 1, ...
};

}  // namespace hilo::hilorun
