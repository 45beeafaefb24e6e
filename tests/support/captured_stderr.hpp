// CapturedStderr: a test's view of what this process writes to stderr (file descriptor 2), for
// checking log lines.
#pragma once

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "catch.hpp"
#include "common/unique_fd.hpp"

namespace hilo_test {

// Sends this process's stderr to a fresh file while it lives; lines() restores stderr and reads
// what arrived.
class CapturedStderr {
 public:
  CapturedStderr() {
    char name[] = "/tmp/hilo-log-test-XXXXXX";
    hilo::common::UniqueFd file(::mkstemp(name));
    REQUIRE(file);
    path_ = name;
    saved_ = hilo::common::UniqueFd(::dup(STDERR_FILENO));
    REQUIRE(::dup2(file.get(), STDERR_FILENO) == STDERR_FILENO);
  }
  ~CapturedStderr() {
    restore();
    ::unlink(path_.c_str());
  }
  std::vector<std::string> lines() {
    restore();
    std::ifstream in(path_);
    std::vector<std::string> result;
    for (std::string line; std::getline(in, line);) result.push_back(line);
    return result;
  }

 private:
  void restore() {
    if (saved_) ::dup2(saved_.get(), STDERR_FILENO);
    saved_.reset();
  }
  std::string path_;
  hilo::common::UniqueFd saved_;
};

}  // namespace hilo_test
