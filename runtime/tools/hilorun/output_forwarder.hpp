// Forwards one rank's stdout or stderr to hilorun's, a whole line at a time, so lines of two
// ranks never mix, optionally prefixed with `[rank] `; and, with --output-filename, copies the
// rank's bytes unchanged to its own file.
#pragma once

#include <cstddef>
#include <string>

namespace hilo::hilorun {

class OutputForwarder {
 public:
  // Lines longer than this are forwarded in pieces of this size, each ended with a newline, so a
  // rank that never writes '\n' cannot make hilorun buffer without bound.
  static constexpr std::size_t max_line = 1 << 20;

  // `destination` is hilorun's own stdout or stderr, or -1 for none; `prefix` is "" or "[3] ";
  // `file` is the rank's output file or -1.
  OutputForwarder(int destination, std::string prefix, int file = -1)
      : destination_(destination), file_(file), prefix_(std::move(prefix)) {}

  // Takes bytes read from the rank and writes every line they complete, in one write().
  void feed(const char* data, std::size_t size);

  // At EOF: a final line without '\n' is written with one added.
  void finish();

 private:
  void emit(std::string& text);

  int destination_;
  int file_;
  std::string prefix_;
  std::string partial_;  // bytes after the last '\n' seen
};

// Writes all of `text` to `fd`, retrying on EINTR and waiting out EAGAIN. Gives up silently on
// other errors (e.g. EPIPE when the reader of hilorun's output went away): output is lost, the
// job is not.
void write_fully(int fd, const std::string& text);

}  // namespace hilo::hilorun
