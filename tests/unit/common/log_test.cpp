// hilo::detail::Log (hilo/detail/log.hpp): HILO_LOG's levels, what each shows, the line's form,
// and that lines written by many threads at once arrive whole.
#include "hilo/detail/log.hpp"

#include <cstdlib>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "captured_stderr.hpp"
#include "catch.hpp"
#include "hilo/errors.hpp"

using hilo::detail::Log;
using hilo::detail::LogLevel;

namespace {

// HILO_LOG set (or unset, for nullptr) for one test.
struct LogVariable {
  explicit LogVariable(const char* value) {
    if (value != nullptr)
      ::setenv("HILO_LOG", value, 1);
    else
      ::unsetenv("HILO_LOG");
  }
  ~LogVariable() { ::unsetenv("HILO_LOG"); }
};

}  // namespace

TEST_CASE("HILO_LOG names a level; unset or empty means warn") {
  {
    LogVariable unset(nullptr);
    CHECK(hilo::detail::log_level_from_environment() == LogLevel::warn);
  }
  {
    LogVariable empty("");
    CHECK(hilo::detail::log_level_from_environment() == LogLevel::warn);
  }
  for (LogLevel level : {LogLevel::error, LogLevel::warn, LogLevel::info, LogLevel::debug}) {
    LogVariable set(std::string(hilo::detail::name_of(level)).c_str());
    CHECK(hilo::detail::log_level_from_environment() == level);
  }
}

TEST_CASE("a HILO_LOG that is not a level is a hilo::Error naming the variable and the levels") {
  for (const char* bad : {"verbose", "DEBUG", "4", "info "}) {
    LogVariable set(bad);
    try {
      hilo::detail::log_level_from_environment();
      FAIL("no error for HILO_LOG=" << bad);
    } catch (const hilo::Error& e) {
      CHECK(std::string(e.what()) == std::string("hilo: HILO_LOG='") + bad +
                                         "' is not a log level; use error, warn, info or debug "
                                         "(default: warn)");
    }
  }
}

TEST_CASE("a log shows its level and the levels above it, nothing when made silent") {
  const Log info(LogLevel::info, "rank 0 on here");
  CHECK(info.enabled(LogLevel::error));
  CHECK(info.enabled(LogLevel::warn));
  CHECK(info.enabled(LogLevel::info));
  CHECK_FALSE(info.enabled(LogLevel::debug));
  const Log silent;
  for (LogLevel level : {LogLevel::error, LogLevel::warn, LogLevel::info, LogLevel::debug})
    CHECK_FALSE(silent.enabled(level));
}

TEST_CASE("a line is prefixed with the rank and host and its level; hidden levels write nothing") {
  hilo_test::CapturedStderr captured;
  const Log log(LogLevel::warn, "rank 2 on node7");
  log.write(LogLevel::warn, "tcp", "retrying the connection to rank ", 3);
  log.write(LogLevel::info, "tcp", "not shown");
  log.write(LogLevel::error, "tcp", "peer lost: rank ", 3);
  CHECK(captured.lines() ==
        std::vector<std::string>{
            "hilo[rank 2 on node7]: warn: tcp: retrying the connection to rank 3",
            "hilo[rank 2 on node7]: error: tcp: peer lost: rank 3"});
}

TEST_CASE("lines written by many threads at once arrive whole, one per event") {
  constexpr int threads = 8, lines_each = 300;
  hilo_test::CapturedStderr captured;
  {
    const Log log(LogLevel::debug, "rank 0 on here");
    const std::string long_text(200, 'x');  // longer lines make a torn write likelier
    std::vector<std::jthread> writers;
    for (int t = 0; t < threads; ++t)
      writers.emplace_back([&, t] {
        for (int i = 0; i < lines_each; ++i)
          log.write(LogLevel::debug, "test", "thread ", t, " line ", i, " ", long_text);
      });
  }
  const std::regex whole("^hilo\\[rank 0 on here\\]: debug: test: thread \\d+ line \\d+ x{200}$");
  const auto lines = captured.lines();
  CHECK(lines.size() == threads * lines_each);
  for (const auto& line : lines) {
    INFO(line);
    CHECK(std::regex_match(line, whole));
  }
}
