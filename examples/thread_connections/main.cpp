// thread_connections: the seed's semaphore example. 100 threads "connect" to a service: each
// raises a shared connection count, prints it, works a little and disconnects. A
// BoundedSemaphore(3) lets at most 3 in at once; with --no-limit there is no semaphore and the
// count climbs far past 3.
//
//   thread_connections                      at most 3 inside; exit 1 if more were ever seen
//   thread_connections --no-limit           no semaphore: shows the maximum exceeding the limit
//   thread_connections --threads 200 --limit 5
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "hilo/sync.hpp"

namespace {

struct Options {
  int threads = 100;
  int limit = 3;
  bool no_limit = false;
};

// How long each connection stays open: long enough that, without the semaphore, many threads
// are surely inside at once, even on a busy machine.
constexpr auto connection_time = std::chrono::milliseconds(20);

void usage(const char* program) {
  std::cerr << "usage: " << program << " [--threads N] [--limit K] [--no-limit]\n"
            << "  --threads N   how many threads connect (1 to 1000, default 100)\n"
            << "  --limit K     how many may be connected at once (1 to 1000, default 3)\n"
            << "  --no-limit    no semaphore: see how many end up connected at once\n";
}

// Parses the value after a flag into `value`; false (after saying why) if it is not a whole
// number between 1 and 1000.
bool parse_count(std::string_view flag, const char* text, int& value) {
  try {
    std::size_t used = 0;
    value = std::stoi(text, &used);
    if (text[used] == '\0' && value >= 1 && value <= 1000) return true;
  } catch (const std::exception&) {
  }
  std::cerr << "thread_connections: " << flag << " needs a whole number between 1 and 1000, got '"
            << text << "'\n";
  return false;
}

std::optional<Options> parse(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--no-limit") {
      options.no_limit = true;
    } else if (arg == "--threads" && i + 1 < argc) {
      if (!parse_count(arg, argv[++i], options.threads)) return std::nullopt;
    } else if (arg == "--limit" && i + 1 < argc) {
      if (!parse_count(arg, argv[++i], options.limit)) return std::nullopt;
    } else {
      std::cerr << "thread_connections: unknown argument '" << arg << "'\n";
      return std::nullopt;
    }
  }
  return options;
}

// The service: counts who is connected right now and the most that ever were.
class Service {
 public:
  void serve() {
    const int now = connections_.fetch_add(1) + 1;
    int seen = max_connections_.load();
    while (now > seen && !max_connections_.compare_exchange_weak(seen, now)) {
    }
    {
      std::scoped_lock lock(print_mutex_);  // the seed prints under a Lock too
      std::cout << now << '\t' << std::flush;
    }
    std::this_thread::sleep_for(connection_time);  // the "work" done while connected
    connections_.fetch_sub(1);
    served_.fetch_add(1);
  }
  int max_connections() const { return max_connections_.load(); }
  int served() const { return served_.load(); }

 private:
  std::atomic<int> connections_{0};
  std::atomic<int> max_connections_{0};
  std::atomic<int> served_{0};
  hilo::Mutex print_mutex_;
};

}  // namespace

int main(int argc, char** argv) {
  const std::optional<Options> options = parse(argc, argv);
  if (!options) {
    usage(argv[0]);
    return 2;
  }

  Service service;
  hilo::BoundedSemaphore semaphore(options->limit);
  // Everyone sets off together, so that they really compete for the service.
  hilo::Barrier start(options->threads);
  {
    std::vector<std::jthread> requests;
    for (int i = 0; i < options->threads; ++i) {
      requests.emplace_back([&] {
        start.arrive_and_wait();
        if (options->no_limit) {
          service.serve();
        } else {
          hilo::SemaphoreGuard guard(semaphore);  // at most `limit` threads get past here
          service.serve();
        }
      });
    }
  }  // the jthreads join here
  std::cout << '\n';

  const int seen = service.max_connections();
  if (options->no_limit) {
    std::cout << "thread_connections: NO LIMIT max_concurrent=" << seen
              << " limit=none (without --no-limit it would be at most " << options->limit << ")"
              << " served=" << service.served() << '\n';
    return EXIT_SUCCESS;
  }
  const bool within_limit = seen <= options->limit;
  std::cout << "thread_connections: " << (within_limit ? "OK" : "FAIL")
            << " max_concurrent=" << seen << " limit=" << options->limit
            << " served=" << service.served() << '\n';
  return within_limit ? EXIT_SUCCESS : EXIT_FAILURE;
}
