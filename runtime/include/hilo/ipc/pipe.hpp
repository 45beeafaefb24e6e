/// \file
/// An anonymous pipe between a parent and a child process, with whole messages and lines on
/// top of the byte stream. Both ends are closed on destruction (RAII) and on exec (O_CLOEXEC,
/// except an end that spawn() wires to a child's descriptor).
///
/// The pattern of the seed (os.pipe + os.fork): each side closes the end it does not use, or
/// the reader never sees end-of-file, because its own write end is still open.
///
/// \code
/// hilo::ipc::Pipe pipe;
/// auto child = hilo::ipc::spawn([&] {
///   pipe.close_read();
///   pipe.write_message("hello");
///   return 0;
/// });
/// pipe.close_write();
/// std::optional<std::string> message = pipe.read_message();   // "hello", then std::nullopt
/// \endcode
///
/// Framing: write_message sends an 8-byte length in the host's byte order, then the payload;
/// write_line sends the text and '\n'. Messages and lines may be mixed, in the same order on
/// both sides. Writes of at most PIPE_BUF (4096) bytes are atomic between several writers;
/// longer ones are not, so give each writer its own pipe.
///
/// End of file and broken pipes are results, not crashes:
///   - read_message / read_line return std::nullopt at a clean end of file (the writer closed
///     its end or exited between messages); a writer that died in the middle of a message makes
///     read_message throw hilo::Error saying how many bytes arrived.
///   - writing when every read end is closed throws hilo::Error ("the reader has gone"). SIGPIPE
///     is blocked in the writing thread for the duration of the write and a SIGPIPE raised by
///     it is consumed before unblocking, so the process is never killed by it and no handler is
///     installed (process-wide signal state is left alone).
///   - reads and writes interrupted by a signal (EINTR) are resumed.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace hilo::ipc {

/// An anonymous pipe between a parent and a child process, with whole messages and lines on top
/// of the byte stream (see pipe.hpp). Both ends are closed on destruction and on exec. Move-only.
class Pipe {
 public:
  /// Creates the pipe. Throws hilo::Error if the process is out of file descriptors.
  Pipe();
  /// Takes over `other`'s descriptors; `other` has none.
  Pipe(Pipe&& other) noexcept;
  /// Closes this pipe's descriptors, then takes over `other`'s.
  Pipe& operator=(Pipe&& other) noexcept;
  Pipe(const Pipe&) = delete;
  Pipe& operator=(const Pipe&) = delete;
  ~Pipe();

  /// The raw descriptors (-1 once closed), e.g. to wire one into a child with spawn().
  int read_fd() const noexcept { return read_fd_; }
  /// The write end's descriptor (-1 once closed).
  int write_fd() const noexcept { return write_fd_; }
  /// Closes the read end in this process (the writer's side does this). Idempotent.
  void close_read() noexcept;
  /// Closes the write end in this process, so the reader sees end of file once every writer has.
  /// Idempotent.
  void close_write() noexcept;

  /// Writing. Each throws hilo::Error if the reader has gone, std::logic_error if the write end
  /// was closed in this process.
  void write_message(std::span<const std::byte> payload);
  /// write_message of a string's bytes; throws as the other overload.
  void write_message(std::string_view payload);
  /// Sends `line` and a '\n'. Throws std::invalid_argument if `line` contains a '\n'.
  void write_line(std::string_view line);
  /// Sends the bytes as they are, with no framing (for readers that read to the end).
  void write_all(std::string_view bytes);

  /// Reading. Each blocks until data or end of file; std::logic_error if the read end was closed
  /// in this process.
  ///
  /// One whole message; std::nullopt at end of file before its first byte. hilo::Error if the
  /// stream ends inside a message, or if the length is not that of a message (the writer did not
  /// use write_message).
  std::optional<std::string> read_message();
  /// One line without its '\n'; at end of file, the last line even if it had no '\n', then
  /// std::nullopt.
  std::optional<std::string> read_line();
  /// Everything until end of file (Python's r.read()), including anything already buffered.
  std::string read_to_end();

  /// The largest message read_message accepts (1 GiB): a longer length means a framing error.
  static constexpr std::size_t max_message_bytes = std::size_t{1} << 30;

 private:
  void write_bytes(const std::byte* data, std::size_t size);
  // Appends at most one read()'s worth to buffer_; returns false at end of file.
  bool fill_buffer();
  int checked_read_fd() const;

  int read_fd_ = -1;
  int write_fd_ = -1;
  // Bytes read from the pipe but not yet returned: a line or message may end mid-read().
  std::string buffer_;
};

}  // namespace hilo::ipc
