// A check for code running on a rank thread of hilo::run_local. Catch2's assertions are not
// thread-safe, and ranks are threads there: a rank checks with this instead, and run_local
// rethrows the first failure in the test's own thread, where Catch2 reports it.
#pragma once

#include <stdexcept>
#include <string>

inline void rank_check(bool ok, const char* what) {
  if (!ok) throw std::logic_error(std::string("rank check failed: ") + what);
}
