#include "hilo/ipc/pipe.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <utility>

#include "common/system_error.hpp"
#include "hilo/detail/error_message.hpp"
#include "hilo/errors.hpp"

namespace hilo::ipc {
namespace {

using hilo::detail::throw_error;

using MessageLength = std::uint64_t;

void close_fd(int& fd) noexcept {
  if (fd >= 0) ::close(fd);  // never retried on EINTR: on Linux the fd is gone either way
  fd = -1;
}

// Blocks SIGPIPE in this thread while it lives, so a write to a pipe without readers fails
// with EPIPE instead of killing the process. A SIGPIPE the write raised is consumed before the
// old mask comes back; one that was already pending before is left for the program.
class SigpipeBlockedHere {
 public:
  SigpipeBlockedHere() {
    sigemptyset(&sigpipe_);
    sigaddset(&sigpipe_, SIGPIPE);
    sigset_t pending;
    sigpending(&pending);
    was_pending_ = sigismember(&pending, SIGPIPE) == 1;
    pthread_sigmask(SIG_BLOCK, &sigpipe_, &previous_mask_);
  }
  SigpipeBlockedHere(const SigpipeBlockedHere&) = delete;
  SigpipeBlockedHere& operator=(const SigpipeBlockedHere&) = delete;
  ~SigpipeBlockedHere() { pthread_sigmask(SIG_SETMASK, &previous_mask_, nullptr); }

  // Called after EPIPE: takes the SIGPIPE that write() queued for this thread.
  void consume_raised_sigpipe() noexcept {
    if (was_pending_) return;
    timespec no_wait{};
    while (sigtimedwait(&sigpipe_, nullptr, &no_wait) == -1 && errno == EINTR) {
    }
  }

 private:
  sigset_t sigpipe_{};
  sigset_t previous_mask_{};
  bool was_pending_ = false;
};

}  // namespace

Pipe::Pipe() {
  int ends[2];
  if (::pipe2(ends, O_CLOEXEC) != 0) {
    throw_error<Error>("hilo: ipc::Pipe: cannot create a pipe: ", common::errno_text(errno),
                       " (too many open files? close some or raise `ulimit -n`)");
  }
  read_fd_ = ends[0];
  write_fd_ = ends[1];
}

Pipe::Pipe(Pipe&& other) noexcept
    : read_fd_(std::exchange(other.read_fd_, -1)),
      write_fd_(std::exchange(other.write_fd_, -1)),
      buffer_(std::move(other.buffer_)) {}

Pipe& Pipe::operator=(Pipe&& other) noexcept {
  if (this != &other) {
    close_read();
    close_write();
    read_fd_ = std::exchange(other.read_fd_, -1);
    write_fd_ = std::exchange(other.write_fd_, -1);
    buffer_ = std::move(other.buffer_);
  }
  return *this;
}

Pipe::~Pipe() {
  close_read();
  close_write();
}

void Pipe::close_read() noexcept {
  close_fd(read_fd_);
  buffer_.clear();
}

void Pipe::close_write() noexcept {
  close_fd(write_fd_);
}

void Pipe::write_bytes(const std::byte* data, std::size_t size) {
  if (write_fd_ < 0) {
    throw std::logic_error("hilo: ipc::Pipe: write after close_write() in this process");
  }
  SigpipeBlockedHere sigpipe_blocked;
  std::size_t written = 0;
  while (written < size) {
    ssize_t result = ::write(write_fd_, data + written, size - written);
    if (result >= 0) {
      written += static_cast<std::size_t>(result);
      continue;
    }
    int error = errno;
    if (error == EINTR) continue;
    if (error == EPIPE) {
      sigpipe_blocked.consume_raised_sigpipe();
      throw_error<Error>(
          "hilo: ipc::Pipe: the reader has gone (every read end of the pipe is closed; did the "
          "other process exit?) after ",
          written, " of ", size, " bytes");
    }
    throw_error<Error>("hilo: ipc::Pipe: write failed: ", common::errno_text(error));
  }
}

void Pipe::write_message(std::span<const std::byte> payload) {
  MessageLength length = payload.size();
  const auto* header = reinterpret_cast<const std::byte*>(&length);
  if (sizeof length + payload.size() > PIPE_BUF) {
    // Too long to be atomic anyway: send the header, then the payload without copying it.
    write_bytes(header, sizeof length);
    write_bytes(payload.data(), payload.size());
    return;
  }
  // Header and payload in one write(), so a short message is atomic among several writers.
  std::byte frame[PIPE_BUF];
  std::memcpy(frame, header, sizeof length);
  if (!payload.empty()) std::memcpy(frame + sizeof length, payload.data(), payload.size());
  write_bytes(frame, sizeof length + payload.size());
}

void Pipe::write_message(std::string_view payload) {
  write_message(std::as_bytes(std::span(payload.data(), payload.size())));
}

void Pipe::write_line(std::string_view line) {
  if (line.find('\n') != std::string_view::npos) {
    throw std::invalid_argument(
        "hilo: ipc::Pipe::write_line: the line contains a '\\n'; send each line separately, or "
        "use write_message");
  }
  std::string framed(line);
  framed.push_back('\n');
  write_all(framed);
}

void Pipe::write_all(std::string_view bytes) {
  write_bytes(reinterpret_cast<const std::byte*>(bytes.data()), bytes.size());
}

int Pipe::checked_read_fd() const {
  if (read_fd_ < 0) {
    throw std::logic_error("hilo: ipc::Pipe: read after close_read() in this process");
  }
  return read_fd_;
}

bool Pipe::fill_buffer() {
  int fd = checked_read_fd();
  char chunk[65536];
  for (;;) {
    ssize_t result = ::read(fd, chunk, sizeof chunk);
    if (result > 0) {
      buffer_.append(chunk, static_cast<std::size_t>(result));
      return true;
    }
    if (result == 0) return false;
    if (errno != EINTR)
      throw_error<Error>("hilo: ipc::Pipe: read failed: ", common::errno_text(errno));
  }
}

std::optional<std::string> Pipe::read_message() {
  checked_read_fd();
  while (buffer_.size() < sizeof(MessageLength)) {
    if (!fill_buffer()) {
      if (buffer_.empty()) return std::nullopt;
      throw_error<Error>("hilo: ipc::Pipe::read_message: the pipe closed after ", buffer_.size(),
                         " bytes of a message header: the writer died or stopped mid-message");
    }
  }
  MessageLength length = 0;
  std::memcpy(&length, buffer_.data(), sizeof length);
  if (length > max_message_bytes) {
    throw_error<Error>("hilo: ipc::Pipe::read_message: a message claims ", length,
                       " bytes, more than the limit of ", max_message_bytes,
                       ": the writer did not use write_message (mixed lines and messages?)");
  }
  std::size_t frame_size = sizeof length + static_cast<std::size_t>(length);
  while (buffer_.size() < frame_size) {
    if (!fill_buffer()) {
      throw_error<Error>("hilo: ipc::Pipe::read_message: the pipe closed after ",
                         buffer_.size() - sizeof length, " of ", length,
                         " bytes of a message: the writer died or stopped mid-message");
    }
  }
  std::string message = buffer_.substr(sizeof length, static_cast<std::size_t>(length));
  buffer_.erase(0, frame_size);
  return message;
}

std::optional<std::string> Pipe::read_line() {
  checked_read_fd();
  std::size_t searched = 0;
  for (;;) {
    std::size_t newline = buffer_.find('\n', searched);
    if (newline != std::string::npos) {
      std::string line = buffer_.substr(0, newline);
      buffer_.erase(0, newline + 1);
      return line;
    }
    searched = buffer_.size();
    if (!fill_buffer()) {
      if (buffer_.empty()) return std::nullopt;
      return std::exchange(buffer_, std::string());
    }
  }
}

std::string Pipe::read_to_end() {
  checked_read_fd();
  while (fill_buffer()) {
  }
  return std::exchange(buffer_, std::string());
}

}  // namespace hilo::ipc
