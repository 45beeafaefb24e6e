// greetings: the seed's first example. N threads each print "Welcome Mr.  <id>". Python 2's
// `print "Welcome Mr. ", id_thread` writes that line in pieces, so without a lock the pieces of
// different threads interleave; holding a mutex for the whole print keeps every line whole.
//
//   greetings                 10 threads, each line whole (a hilo::Mutex around the print)
//   greetings --unlocked      the same pieces without the mutex: lines interleave
//   greetings --threads 50    more threads
#include <cstdio>
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
  int threads = 10;
  bool unlocked = false;
};

void usage(const char* program) {
  std::cerr << "usage: " << program << " [--threads N] [--unlocked]\n"
            << "  --threads N   how many threads greet (1 to 1000, default 10)\n"
            << "  --unlocked    print without the mutex: the lines come out interleaved\n";
}

std::optional<Options> parse(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--unlocked") {
      options.unlocked = true;
    } else if (arg == "--threads" && i + 1 < argc) {
      try {
        std::size_t used = 0;
        options.threads = std::stoi(argv[++i], &used);
        if (argv[i][used] != '\0') throw std::invalid_argument("trailing characters");
      } catch (const std::exception&) {
        std::cerr << "greetings: --threads needs a whole number, got '" << argv[i] << "'\n";
        return std::nullopt;
      }
      if (options.threads < 1 || options.threads > 1000) {
        std::cerr << "greetings: --threads must be between 1 and 1000, got " << options.threads
                  << "\n";
        return std::nullopt;
      }
    } else {
      std::cerr << "greetings: unknown argument '" << arg << "'\n";
      return std::nullopt;
    }
  }
  return options;
}

// One separate write to stdout, pushed out at once: what each piece of Python's print does.
void write_piece(std::string_view piece) {
  std::fwrite(piece.data(), 1, piece.size(), stdout);
  std::fflush(stdout);
}

// The critical section: the line "Welcome Mr.  <id>" written as four pieces, as Python 2's
// print statement writes it ("Welcome Mr. ", the separating space, the id, the newline).
void greet(int id) {
  write_piece("Welcome Mr. ");
  std::this_thread::yield();  // where the interpreter would switch threads
  write_piece(" ");
  write_piece(std::to_string(id));
  std::this_thread::yield();
  write_piece("\n");
}

}  // namespace

int main(int argc, char** argv) {
  const std::optional<Options> options = parse(argc, argv);
  if (!options) {
    usage(argv[0]);
    return 2;
  }

  hilo::Mutex mutex;
  // All threads start greeting together, so that they really compete for stdout.
  hilo::Barrier start(options->threads);
  {
    std::vector<std::jthread> requests;
    for (int id = 0; id < options->threads; ++id) {
      requests.emplace_back([&, id] {
        start.arrive_and_wait();
        if (options->unlocked) {
          greet(id);
        } else {
          std::scoped_lock lock(mutex);
          greet(id);
        }
      });
    }
  }  // the jthreads join here
  return EXIT_SUCCESS;
}
