// The rank program of the TCP backend's integration tests (tcp_test.py), one mode per scenario.
// Run under hilorun (or srun-like variables); every mode ends in a line the test checks.
//
//   tcp_probe pingpong [iterations]      8-byte ping-pong between ranks 0 and 1; rank 0 prints
//                                        "one-way latency: X us" (median of 5 runs)
//   tcp_probe bandwidth MiB [iterations] rank 0 sends MiB-sized messages to rank 1; prints MB/s
//   tcp_probe blocked_recv               every rank but the last waits on a receive from the last,
//                                        which never sends (the test kills it)
//   tcp_probe allreduce_loop             all_reduce of 1 MiB vectors until something fails
//   tcp_probe alltoall_loop              all_to_all_v of 256 KiB per pair, then an iall_to_all of
//                                        strings, until something fails
//   tcp_probe slow_start R SECONDS       rank R sleeps before starting the runtime (rendezvous)
//   tcp_probe soak TOTAL SEED            TOTAL messages of random size and tag between all pairs,
//                                        checked for loss, duplication, order and content
//   tcp_probe collectives                barrier, all_reduce, broadcast; prints the result
//   tcp_probe wait_then_reduce FILE      waits until FILE exists, then all_reduce (bad-input test)
//   tcp_probe stalled_large_send FILE MiB once FILE exists, rank 0 sends MiB to rank 1 (which the
//                                        test has stopped) within 1 s, overwrites its buffer, and
//                                        waits for rank 1 to say it got the message intact
//
// Every rank prints "rank R pid P ready" once its runtime is up. Exit codes: 0 success,
// 3 hilo::PeerLost, 4 hilo::Timeout, 5 other hilo::Error, 6 a check failed.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "hilo/hilo.hpp"

namespace {

using Clock = std::chrono::steady_clock;

[[noreturn]] void fail_check(const std::string& what) {
  std::cout << "CHECK FAILED: " << what << std::endl;
  std::exit(6);
}

void say_ready(hilo::Communicator& world) {
  std::cout << "rank " << world.rank() << " pid " << ::getpid() << " ready" << std::endl;
}

double pingpong_once(hilo::Communicator& world, int iterations) {
  std::uint64_t value = 0;
  world.barrier();
  const auto start = Clock::now();
  for (int i = 0; i < iterations; ++i) {
    if (world.rank() == 0) {
      world.send(1, 1, value);
      world.recv(1, 1, value);
    } else if (world.rank() == 1) {
      world.recv(0, 1, value);
      ++value;
      world.send(0, 1, value);
    }
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  if (world.rank() == 0 && value != static_cast<std::uint64_t>(iterations))
    fail_check("ping-pong counter " + std::to_string(value));
  return seconds * 1e6 / (2.0 * iterations);
}

void pingpong(hilo::Communicator& world, int iterations) {
  pingpong_once(world, iterations / 10 + 1);  // warm-up
  std::vector<double> runs;
  for (int run = 0; run < 5; ++run) runs.push_back(pingpong_once(world, iterations));
  std::sort(runs.begin(), runs.end());
  if (world.rank() == 0) {
    std::printf("one-way latency: %.2f us (median of 5 runs of %d round trips; best %.2f)\n",
                runs[2], iterations, runs[0]);
    std::fflush(stdout);
  }
}

void bandwidth(hilo::Communicator& world, std::size_t mib, int iterations) {
  std::vector<std::uint8_t> buffer(mib << 20, 1);
  world.barrier();
  const auto start = Clock::now();
  for (int i = 0; i < iterations; ++i) {
    if (world.rank() == 0)
      world.send(1, 2, buffer);
    else if (world.rank() == 1)
      world.recv(0, 2, buffer);
  }
  int done = 0;
  if (world.rank() == 1) world.send(0, 3, done);
  if (world.rank() == 0) {
    world.recv(1, 3, done);
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    std::printf("bandwidth: %.0f MB/s (%zu MiB messages x %d)\n",
                static_cast<double>(buffer.size()) * iterations / seconds / 1e6, mib, iterations);
    std::fflush(stdout);
  }
}

// Deterministic message i from `from` to `to`: its size, tag and bytes.
struct SoakMessage {
  int tag;
  std::vector<std::uint8_t> bytes;
};
SoakMessage soak_message(unsigned seed, int from, int to, int i) {
  std::mt19937 random(seed * 1000003u + static_cast<unsigned>(from * 7919 + to * 104729 + i));
  const unsigned kind = random() % 1000;
  std::size_t size = kind < 900   ? random() % 257                 // mostly small
                     : kind < 995 ? random() % (64 * 1024 + 1)     // some medium
                                  : random() % (1024 * 1024 + 1);  // a few up to 1 MiB
  if (kind == 0) size = 0;
  SoakMessage m{static_cast<int>(random() % 1000), std::vector<std::uint8_t>(size + 8)};
  // The first 8 bytes carry the sequence number, so loss, duplication and order are visible.
  std::uint64_t sequence = static_cast<std::uint64_t>(i);
  std::memcpy(m.bytes.data(), &sequence, 8);
  std::uint8_t x = static_cast<std::uint8_t>(random());
  for (std::size_t b = 8; b < m.bytes.size(); ++b)
    m.bytes[b] = x = static_cast<std::uint8_t>(x * 13 + 7);
  return m;
}

void soak(hilo::Communicator& world, long total, unsigned seed) {
  const int p = world.size(), me = world.rank();
  const long pairs = static_cast<long>(p) * (p - 1);
  const int per_pair = static_cast<int>((total + pairs - 1) / pairs);
  long received = 0;
  std::uint64_t checksum = 0;
  for (int i = 0; i < per_pair; ++i) {
    std::vector<hilo::Request> sends;
    for (int to = 0; to < p; ++to)
      if (to != me) {
        SoakMessage m = soak_message(seed, me, to, i);
        sends.push_back(world.isend(to, m.tag, std::move(m.bytes)));
      }
    for (int from = 0; from < p; ++from) {
      if (from == me) continue;
      std::vector<std::uint8_t> got;
      hilo::Status st = world.recv(from, hilo::any_tag, got);
      SoakMessage want = soak_message(seed, from, me, i);
      std::uint64_t sequence = ~0ull;
      if (got.size() >= 8) std::memcpy(&sequence, got.data(), 8);
      if (sequence != static_cast<std::uint64_t>(i))
        fail_check("from rank " + std::to_string(from) + " expected message " + std::to_string(i) +
                   ", got " + std::to_string(sequence) + " (lost, duplicated or reordered)");
      if (st.tag != want.tag || got != want.bytes)
        fail_check("message " + std::to_string(i) + " from rank " + std::to_string(from) +
                   " has the wrong tag or bytes");
      for (auto b : got) checksum = checksum * 31 + b;
      ++received;
    }
    hilo::wait_all(sends);
  }
  const long all = world.all_reduce(received, std::plus<>{});
  if (me == 0) std::cout << "soak: " << all << " messages checked" << std::endl;
  (void)checksum;
}

std::uint32_t pattern(std::size_t i) {
  return static_cast<std::uint32_t>(i * 2654435761u);
}

void stalled_large_send(hilo::Communicator& world, const std::string& go, std::size_t mib) {
  using namespace std::chrono_literals;
  const std::size_t count = mib * 1024 * 1024 / sizeof(std::uint32_t);
  if (world.rank() == 0) {
    const auto give_up = Clock::now() + 30s;
    while (!std::filesystem::exists(go)) {
      if (Clock::now() > give_up) fail_check("the test never said go");
      std::this_thread::sleep_for(20ms);
    }
    std::vector<std::uint32_t> data(count);
    for (std::size_t i = 0; i < count; ++i) data[i] = pattern(i);
    try {
      world.send(1, 5, data, hilo::within(1s));
      fail_check("a send of " + std::to_string(mib) + " MiB to a stopped rank completed");
    } catch (const hilo::Timeout& e) {
      std::cout << "send timed out: " << e.what() << std::endl;
    }
    std::fill(data.begin(), data.end(), 0u);  // what goes now must be the message's own copy
    data = {};
    world.recv<int>(1, 6, hilo::within(30s));
    std::cout << "rank 0 done" << std::endl;
  } else if (world.rank() == 1) {
    std::vector<std::uint32_t> got;
    world.recv(0, 5, got, hilo::within(30s));
    if (got.size() != count) fail_check("rank 1 got " + std::to_string(got.size()) + " elements");
    for (std::size_t i = 0; i < count; ++i)
      if (got[i] != pattern(i)) fail_check("rank 1 got a wrong element at " + std::to_string(i));
    std::cout << "rank 1 got the message intact" << std::endl;
    world.send(0, 6, 1);
  }
}

int run(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "slow_start") {
    const char* rank = std::getenv("HILO_RANK");
    std::cout << "rank " << (rank ? rank : "?") << " pid " << ::getpid() << " starting"
              << std::endl;
    if (rank != nullptr && std::atoi(rank) == std::atoi(argv[2]))
      std::this_thread::sleep_for(std::chrono::duration<double>(std::atof(argv[3])));
  }
  if (mode == "blocked_recv" || mode == "allreduce_loop" || mode == "alltoall_loop" ||
      mode == "slow_start") {
    // hilorun stops the other ranks when one dies; ignoring its SIGTERM (it sends SIGKILL 2 s
    // later) lets this test see what each survivor itself reports.
    ::signal(SIGTERM, SIG_IGN);
  }
  hilo::Runtime runtime(argc, argv);
  hilo::Communicator& world = runtime.world();
  say_ready(world);
  const int last = world.size() - 1;

  if (mode == "pingpong") {
    pingpong(world, argc > 2 ? std::atoi(argv[2]) : 20000);
  } else if (mode == "bandwidth") {
    bandwidth(world, argc > 2 ? std::stoul(argv[2]) : 16, argc > 3 ? std::atoi(argv[3]) : 20);
  } else if (mode == "blocked_recv") {
    if (world.rank() == last) {
      std::this_thread::sleep_for(std::chrono::hours(1));
    } else {
      std::cout << "rank " << world.rank() << " waiting" << std::endl;
      world.recv<int>(last, 1);
      fail_check("a receive from a killed rank returned");
    }
  } else if (mode == "allreduce_loop") {
    std::vector<double> v(128 * 1024, 1.0);
    for (long round = 0;; ++round) {
      auto sum = world.all_reduce(v, std::plus<>{});
      if (sum[0] != world.size()) fail_check("all_reduce gave " + std::to_string(sum[0]));
      if (round == 3) std::cout << "rank " << world.rank() << " reducing" << std::endl;
    }
  } else if (mode == "alltoall_loop") {
    const int p = world.size();
    const int per_pair = 32 * 1024;
    std::vector<double> send(static_cast<std::size_t>(p) * per_pair, world.rank()),
        recv(send.size());
    const std::vector<int> counts(p, per_pair);
    const std::vector<std::string> words(p, std::string(1000, 'w'));
    std::vector<std::string> words_back;
    for (long round = 0;; ++round) {
      world.all_to_all_v(send, counts, recv, counts);
      if (recv.back() != p - 1) fail_check("all_to_all_v gave " + std::to_string(recv.back()));
      world.iall_to_all(words, words_back).wait();
      if (round == 3) std::cout << "rank " << world.rank() << " exchanging" << std::endl;
    }
  } else if (mode == "slow_start") {
    world.barrier();
  } else if (mode == "stalled_large_send") {
    stalled_large_send(world, argv[2], std::stoul(argv[3]));
  } else if (mode == "soak") {
    soak(world, argc > 2 ? std::atol(argv[2]) : 100000, argc > 3 ? std::atoi(argv[3]) : 1);
  } else if (mode == "collectives" || mode == "wait_then_reduce") {
    if (mode == "wait_then_reduce" && world.rank() == 0) {
      while (!std::filesystem::exists(argv[2]))
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    world.barrier();
    const long sum = world.all_reduce(static_cast<long>(world.rank()), std::plus<>{});
    std::vector<int> big(100000, world.rank());
    auto big_sum = world.all_reduce(big, std::plus<>{});
    std::string text = world.rank() == 0 ? "hello" : "";
    world.broadcast(text, 0);
    const long p = world.size();
    if (sum != p * (p - 1) / 2 || big_sum.back() != p * (p - 1) / 2 || text != "hello")
      fail_check("collectives gave " + std::to_string(sum));
    world.barrier();
    if (world.rank() == 0)
      std::cout << "collectives ok: sum " << sum << " over " << p << " ranks" << std::endl;
  } else {
    std::cerr << "tcp_probe: unknown mode '" << mode << "'" << std::endl;
    return 2;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const hilo::PeerLost& e) {
    std::cout << "PeerLost(rank " << e.rank() << ", host " << e.host() << "): " << e.what()
              << std::endl;
    return 3;
  } catch (const hilo::Timeout& e) {
    std::cout << "Timeout: " << e.what() << std::endl;
    return 4;
  } catch (const hilo::Error& e) {
    std::cout << "Error: " << e.what() << std::endl;
    return 5;
  }
}
