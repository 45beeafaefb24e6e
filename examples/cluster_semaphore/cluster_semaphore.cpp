// cluster_semaphore: the seed's "limit the connections to a service" example, across hosts.
// Every rank runs a few threads ("users"); each user takes one of K licences many times,
// uses it briefly and gives it back. The licences are a hilo::DistributedSemaphore shared by
// all ranks, wherever they run.
//
// The program proves that no more than K users ever held a licence at once, without trusting
// the semaphore's own bookkeeping: a separate counter lives on rank 0, and every user tells it
// "I am in" right after getting a licence and "I am out" right before giving it back, each time
// waiting for rank 0's acknowledgement. So a user's "out" is counted before its licence can be
// handed to anyone else, and rank 0's high-water mark can only be too high, never too low.
//
//   usage: cluster_semaphore [K=3] [rounds per user=50] [users per rank=2] [--without-semaphore]
//   prints: cluster_semaphore: OK max_holders=M limit=K ranks=R acquisitions=A
//   exits 1 (printing VIOLATION) if more than K held a licence at once.
// --without-semaphore skips acquire/release, as the seed's first version does: the counter
// then shows more than K users at once, and the program exits 1.
#include <unistd.h>

#include <chrono>
#include <climits>
#include <cstdlib>
#include <iostream>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "hilo/hilo.hpp"

namespace {

// Messages to rank 0's counter: +1 "in", -1 "out", 0 "this rank is done". Rank 0 answers each
// +1/-1 on the user's own tag, so that the users of one rank never take each other's answers.
struct Report {
  int change;
  int user;
};
constexpr int report_tag = 0;
constexpr int first_answer_tag = 1;

struct Tally {
  int max_holders = 0;
  long acquisitions = 0;
  bool went_negative = false;
};

// Rank 0's counter, run on its own thread while rank 0's users work like everyone else's.
Tally count_holders(hilo::Communicator& counter) {
  Tally tally;
  int holders = 0;
  int ranks_done = 0;
  while (ranks_done < counter.size()) {
    Report report;
    hilo::Status from = counter.recv(hilo::any_source, report_tag, report);
    if (report.change == 0) {
      ++ranks_done;
      continue;
    }
    holders += report.change;
    if (report.change > 0) ++tally.acquisitions;
    if (holders < 0) tally.went_negative = true;
    if (holders > tally.max_holders) tally.max_holders = holders;
    counter.send(from.source, first_answer_tag + report.user, 1);
  }
  return tally;
}

// Tells rank 0's counter about one change and waits until it has counted it.
void report(hilo::Communicator& counter, int user, int change) {
  counter.send(0, report_tag, Report{change, user});
  counter.recv<int>(0, first_answer_tag + user);
}

// Runs one thread's work; a failure there ends this rank at once, saying why. The launcher then
// ends the job (on tcp the other ranks get hilo::PeerLost instead of waiting for this one).
template <class Work>
void or_exit(const std::string& who, Work&& work) {
  try {
    work();
  } catch (const std::exception& e) {
    std::cerr << "cluster_semaphore: " << who << ": " << e.what() << std::endl;
    std::_Exit(1);
  }
}

int argument(int argc, char** argv, int index, int fallback) {
  if (argc <= index) return fallback;
  char* end = nullptr;
  long value = std::strtol(argv[index], &end, 10);
  if (*end != '\0' || value < 1 || value > 100000)
    throw std::invalid_argument(
        "argument " + std::to_string(index) + " ('" + argv[index] +
        "') must be a whole number from 1 to 100000\n"
        "usage: cluster_semaphore [K=3] [rounds per user=50] [users per rank=2] "
        "[--without-semaphore]");
  return static_cast<int>(value);
}

}  // namespace

int run(int argc, char** argv) {
  hilo::Runtime runtime(argc, argv);
  hilo::Communicator& world = runtime.world();
  const bool use_semaphore = !(argc > 1 && std::string(argv[argc - 1]) == "--without-semaphore");
  if (!use_semaphore) --argc;
  const int licences_total = argument(argc, argv, 1, 3);
  const int rounds = argument(argc, argv, 2, 50);
  const int users = argument(argc, argv, 3, 2);

  hilo::DistributedSemaphore licences(world, licences_total);  // every rank, same K
  hilo::Communicator counter = world.dup();  // the proof's messages, apart from everything else

  Tally tally;
  std::thread counting;
  if (world.rank() == 0)
    counting =
        std::thread([&] { or_exit("rank 0's counter", [&] { tally = count_holders(counter); }); });

  std::vector<std::thread> user_threads;
  for (int user = 0; user < users; ++user) {
    const std::string who =
        "rank " + std::to_string(world.rank()) + " user " + std::to_string(user);
    user_threads.emplace_back([&, user, who] {
      or_exit(who, [&] {
        std::mt19937 random(static_cast<unsigned>(world.rank() * 1000 + user));
        std::uniform_int_distribution<int> work_us(0, 500);
        for (int round = 0; round < rounds; ++round) {
          if (use_semaphore) licences.acquire();
          report(counter, user, +1);
          std::this_thread::sleep_for(std::chrono::microseconds(work_us(random)));  // "use" it
          report(counter, user, -1);
          if (use_semaphore) licences.release();
        }
      });
    });
  }
  for (auto& t : user_threads) t.join();
  counter.send(0, report_tag, Report{0, 0});  // this rank is done

  char host[HOST_NAME_MAX + 1] = {};
  gethostname(host, sizeof host);
  std::vector<std::string> hosts = world.gather(std::string(host), 0);
  if (world.rank() != 0) return 0;

  counting.join();
  std::string host_list;
  for (int r = 0; r < world.size(); ++r) host_list += (r ? "," : "") + hosts[r];
  const long expected = static_cast<long>(world.size()) * users * rounds;
  std::cout << "cluster_semaphore: ranks on hosts=" << host_list << "\n";
  if (tally.max_holders > licences_total || tally.went_negative || tally.acquisitions != expected) {
    std::cout << "cluster_semaphore: VIOLATION max_holders=" << tally.max_holders
              << " limit=" << licences_total << " ranks=" << world.size()
              << " acquisitions=" << tally.acquisitions << " (expected " << expected << ")"
              << (tally.went_negative ? " and the count went negative" : "") << std::endl;
    return 1;
  }
  std::cout << "cluster_semaphore: OK max_holders=" << tally.max_holders
            << " limit=" << licences_total << " ranks=" << world.size()
            << " acquisitions=" << tally.acquisitions << std::endl;
  return 0;
}

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::invalid_argument& e) {
    std::cerr << "cluster_semaphore: " << e.what() << std::endl;
    return 2;
  } catch (const std::exception& e) {  // a bad argument, a lost peer, a timeout: say which
    std::cerr << "cluster_semaphore: " << e.what() << std::endl;
    return 1;
  }
}
