// hilo::detail::Log (hilo/detail/log.hpp): HILO_LOG, the line prefix, and writing a line.
#include "hilo/detail/log.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <initializer_list>

#include "hilo/errors.hpp"

namespace hilo::detail {
namespace {

const char* set_or_null(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? value : nullptr;
}

// The first of `names` that is set, or nullptr.
const char* first_set(std::initializer_list<const char*> names) {
  for (const char* name : names)
    if (const char* value = set_or_null(name)) return value;
  return nullptr;
}

std::string this_host_name() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0) return "localhost";
  return name;
}

// The host the launcher calls this one (as in its error messages), else the system's name.
std::string host_name() {
  if (const char* host = first_set({"HILO_HOST", "SLURMD_NODENAME"})) return host;
  return this_host_name();
}

}  // namespace

std::string_view name_of(LogLevel level) {
  switch (level) {
    case LogLevel::error:
      return "error";
    case LogLevel::warn:
      return "warn";
    case LogLevel::info:
      return "info";
    case LogLevel::debug:
      return "debug";
  }
  return "unknown";
}

LogLevel log_level_from_environment() {
  const char* text = set_or_null("HILO_LOG");
  if (text == nullptr) return LogLevel::warn;
  for (LogLevel level : {LogLevel::error, LogLevel::warn, LogLevel::info, LogLevel::debug})
    if (name_of(level) == text) return level;
  throw_error<Error>("hilo: HILO_LOG='", text,
                     "' is not a log level; use error, warn, info or debug (default: warn)");
}

Log::Log(LogLevel level, std::string_view who)
    : shown_(static_cast<int>(level)), prefix_("hilo[" + std::string(who) + "]: ") {}

Log Log::for_this_process() {
  const LogLevel level = log_level_from_environment();
  // The launchers' own rank variables, in the order hilo::launch::detect_launcher trusts them.
  const char* rank =
      first_set({"HILO_RANK", "OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK", "SLURM_PROCID"});
  return Log(level, make_message("rank ", rank != nullptr ? rank : "0", " on ", host_name()));
}

Log Log::for_local_rank(LogLevel level, int rank) {
  return Log(level, make_message("rank ", rank, " on ", host_name()));
}

void Log::write_line(LogLevel level, std::string_view topic, std::string_view text) const {
  std::string line = make_message(prefix_, name_of(level), ": ", topic, ": ", text, '\n');
  // One write(2) per line: lines of several threads never interleave mid-line. A log line is
  // not worth failing for, so a short or failed write is dropped (only EINTR is retried).
  ssize_t written = 0;
  do {
    written = ::write(STDERR_FILENO, line.data(), line.size());
  } while (written < 0 && errno == EINTR);
}

}  // namespace hilo::detail
