// Shares one text value through a named POSIX shared memory segment, for reader.py (Python,
// standard library only) or any other program to read. The counterpart of the seed's C++
// writer (System V shmget) and Python reader (sysv_ipc).
//
// Layout of the segment (512 bytes, like the seed's):
//   byte 0        state: 0 = value being written, 1 = value ready, 2 = a reader acknowledged
//   bytes 1..511  the value, UTF-8, terminated by a NUL byte (so at most 510 bytes)
//
// The writer keeps the segment until a reader acknowledges, the time runs out, or it is
// interrupted (Ctrl-C / SIGTERM); then it removes the segment so nothing is left in /dev/shm.
#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <iostream>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include <hilo/ipc.hpp>

namespace {

constexpr std::size_t kSegmentBytes = 512;
constexpr std::size_t kStateOffset = 0;
constexpr std::size_t kValueOffset = 1;
constexpr std::size_t kMaxValueBytes = kSegmentBytes - kValueOffset - 1;  // room for the NUL
enum State : unsigned char { kWriting = 0, kReady = 1, kAcknowledged = 2 };

struct Options {
  std::string name = "hilo_shared_value";
  int seconds = 60;
  std::optional<std::string> value;
};

void print_usage() {
  std::cerr << "usage: shm_writer [--name NAME] [--seconds N] [VALUE]\n"
               "  Shares VALUE (or a line read from stdin) in shared memory segment NAME\n"
               "  (default hilo_shared_value) until a reader acknowledges or N seconds pass\n"
               "  (default 60). Read it with: python3 reader.py --name NAME\n";
}

Options parse_options(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    std::string_view argument = argv[i];
    if ((argument == "--name" || argument == "--seconds") && i + 1 < argc) {
      std::string next = argv[++i];
      if (argument == "--name") {
        options.name = next;
      } else {
        options.seconds = std::stoi(next);
        if (options.seconds <= 0) throw std::invalid_argument("--seconds must be positive");
      }
    } else if (argument == "--help" || argument == "-h") {
      print_usage();
      std::exit(0);
    } else if (!argument.starts_with("--") && !options.value) {
      options.value = std::string(argument);
    } else {
      throw std::invalid_argument("unexpected argument \"" + std::string(argument) + "\"");
    }
  }
  return options;
}

std::atomic_ref<unsigned char> state_of(hilo::ipc::SharedMemory& segment) {
  return std::atomic_ref<unsigned char>(
      *reinterpret_cast<unsigned char*>(segment.bytes().data() + kStateOffset));
}

}  // namespace

int main(int argc, char** argv) try {
  Options options = parse_options(argc, argv);
  if (!options.value) {
    std::cout << "Which value do you want to share?" << std::endl;
    std::string line;
    if (!std::getline(std::cin, line)) {
      std::cerr << "shm_writer: no value given (stdin ended); pass it as an argument\n";
      return 2;
    }
    options.value = line;
  }
  if (options.value->size() > kMaxValueBytes) {
    std::cerr << "shm_writer: the value has " << options.value->size() << " bytes; at most "
              << kMaxValueBytes << " fit in the segment\n";
    return 2;
  }
  if (options.value->find('\0') != std::string::npos) {
    std::cerr << "shm_writer: the value contains a NUL byte, which marks its end for readers\n";
    return 2;
  }

  // Block Ctrl-C and SIGTERM and wait for them explicitly below, so that they end the wait
  // through the normal path: the segment's destructor then removes it from /dev/shm.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  sigprocmask(SIG_BLOCK, &stop_signals, nullptr);

  hilo::ipc::SharedMemory segment = hilo::ipc::SharedMemory::create(options.name, kSegmentBytes);
  std::memcpy(segment.bytes().data() + kValueOffset, options.value->data(), options.value->size());
  // The segment starts zero-filled, so the NUL terminator is already there. Publish last.
  state_of(segment).store(kReady, std::memory_order_release);

  std::cout << "Shared value: " << *options.value << "\n"
            << "Segment /dev/shm/" << segment.name() << " (" << segment.size()
            << " bytes); waiting up to " << options.seconds
            << " s for a reader: python3 reader.py --name " << segment.name() << std::endl;

  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(options.seconds);
  const timespec poll_interval{0, 20'000'000};  // 20 ms
  while (state_of(segment).load(std::memory_order_acquire) != kAcknowledged) {
    if (std::chrono::steady_clock::now() >= deadline) {
      std::cout << "No reader acknowledged within " << options.seconds
                << " s; removing the segment." << std::endl;
      return 1;
    }
    int signal_number = sigtimedwait(&stop_signals, nullptr, &poll_interval);
    if (signal_number > 0) {
      std::cout << "Interrupted (" << strsignal(signal_number) << "); removing the segment."
                << std::endl;
      return 130;
    }
  }
  std::cout << "The reader acknowledged; removing the segment." << std::endl;
  return 0;
} catch (const std::invalid_argument& error) {
  std::cerr << "shm_writer: " << error.what() << "\n";
  print_usage();
  return 2;
} catch (const std::exception& error) {
  std::cerr << "shm_writer: " << error.what() << "\n";
  return 1;
}
