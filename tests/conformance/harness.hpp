// A minimal multi-rank test harness for the conformance suite. Catch2 cannot run one test on
// several processes in lockstep, so cases here are plain functions of a Communicator& that every
// rank runs; a failed check throws, and the driver reports which case failed on which rank.
#pragma once

#include <chrono>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include <hilo/hilo.hpp>

namespace conformance {

struct Failure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Neighbours on the ring of ranks, used by most point-to-point cases.
inline int right(const hilo::Communicator& c) {
  return (c.rank() + 1) % c.size();
}
inline int left(const hilo::Communicator& c) {
  return (c.rank() - 1 + c.size()) % c.size();
}

// Whether an error message mentions `part` (a rank, a tag, a size).
inline bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

struct Case {
  const char* name;
  std::function<void(hilo::Communicator&)> body;
  bool huge = false;  // needs > 4 GiB of memory and seconds: run only when asked (--huge)
};

std::vector<Case>& registry();

struct Register {
  Register(const char* name, std::function<void(hilo::Communicator&)> body, bool huge = false) {
    registry().push_back({name, std::move(body), huge});
  }
};

#define CONFORMANCE_CONCAT2(a, b) a##b
#define CONFORMANCE_CONCAT(a, b) CONFORMANCE_CONCAT2(a, b)
#define CONFORMANCE_CASE(name)                                             \
  static void CONFORMANCE_CONCAT(case_, __LINE__)(hilo::Communicator & c); \
  static conformance::Register CONFORMANCE_CONCAT(register_, __LINE__)(    \
      name, CONFORMANCE_CONCAT(case_, __LINE__));                          \
  static void CONFORMANCE_CONCAT(case_, __LINE__)(hilo::Communicator & c)
#define CONFORMANCE_HUGE_CASE(name)                                        \
  static void CONFORMANCE_CONCAT(case_, __LINE__)(hilo::Communicator & c); \
  static conformance::Register CONFORMANCE_CONCAT(register_, __LINE__)(    \
      name, CONFORMANCE_CONCAT(case_, __LINE__), true);                    \
  static void CONFORMANCE_CONCAT(case_, __LINE__)(hilo::Communicator & c)

#define EXPECT(condition)                                                               \
  do {                                                                                  \
    if (!(condition))                                                                   \
      throw conformance::Failure(std::string(__FILE__ ":") + std::to_string(__LINE__) + \
                                 ": rank " + std::to_string(c.rank()) +                 \
                                 ": EXPECT(" #condition ") failed");                    \
  } while (0)

// Runs `f`, which must throw E; returns the message. Anything else is a failure.
template <class E, class F>
std::string expect_throw(F&& f, const char* where) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  }
  throw Failure(std::string(where) + ": expected an exception that did not come");
}
#define EXPECT_THROWS_AS(E, expr) \
  conformance::expect_throw<E>([&] { expr; }, __FILE__ ":" CONFORMANCE_STR(__LINE__))
#define CONFORMANCE_STR2(x) #x
#define CONFORMANCE_STR(x) CONFORMANCE_STR2(x)

}  // namespace conformance
