#include "output_forwarder.hpp"

#include <poll.h>
#include <unistd.h>

#include <cerrno>

namespace hilo::hilorun {

void write_fully(int fd, const std::string& text) {
  std::size_t written = 0;
  while (written < text.size()) {
    ssize_t n = ::write(fd, text.data() + written, text.size() - written);
    if (n >= 0) {
      written += static_cast<std::size_t>(n);
    } else if (errno == EAGAIN) {
      pollfd p{fd, POLLOUT, 0};
      ::poll(&p, 1, 1000);
    } else if (errno != EINTR) {
      return;
    }
  }
}

void OutputForwarder::feed(const char* data, std::size_t size) {
  if (file_ >= 0) write_fully(file_, std::string(data, size));
  if (destination_ < 0) return;
  std::string out;
  std::size_t start = 0;
  for (std::size_t i = 0; i < size; ++i) {
    if (data[i] != '\n' && partial_.size() + (i - start) < max_line) continue;
    partial_.append(data + start, i - start);
    start = data[i] == '\n' ? i + 1 : i;
    emit(partial_);
    out += partial_;
    partial_.clear();
  }
  partial_.append(data + start, size - start);
  if (!out.empty()) write_fully(destination_, out);
}

void OutputForwarder::finish() {
  if (partial_.empty() || destination_ < 0) return;
  emit(partial_);
  write_fully(destination_, partial_);
  partial_.clear();
}

void OutputForwarder::emit(std::string& text) {
  text.insert(0, prefix_);
  text.push_back('\n');
}

}  // namespace hilo::hilorun
