// The TCP backend end to end inside one process (tcp_world.hpp), ranks on one host: all-reduce by
// reading the peers' memory directly, and what happens when it cannot or a rank fails in it.
#include "backends/tcp/tcp_transport.hpp"

#include <sys/mman.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <future>
#include <thread>

#include "catch.hpp"
#include "hilo/comm/communicator.hpp"
#include "hilo/errors.hpp"
#include "tcp_world.hpp"

using namespace std::chrono_literals;
using hilo::Communicator;
using hilo::tcp::Engine;
using namespace tcp_world;

namespace {

// hilo::detail::direct_all_reduce (detail/all_reduce.hpp) over typed arrays.
template <class E, class Op>
bool direct_all_reduce_of(hilo::Transport& t, hilo::PeerMemory& memory, const E* in, E* out,
                          std::size_t n, Op& op, hilo::Deadline deadline) {
  const hilo::detail::VectorBytes v{reinterpret_cast<const std::byte*>(in),
                                    reinterpret_cast<std::byte*>(out), n, hilo::data_type_of<E>()};
  return hilo::detail::direct_all_reduce(t, memory, v, hilo::detail::combiner_for<E>(op), deadline);
}

// direct_all_reduce (detail/all_reduce.hpp) of n doubles on the world's collective channel: value i
// of rank r is i % 1000 + r. Returns whether it took the direct path; checks the result if it did.
bool direct_sum(hilo::Transport& world, std::size_t n, bool in_place) {
  hilo::Transport& t = world.collective_channel();
  std::vector<double> in(n), out(in_place ? 0 : n);
  for (std::size_t i = 0; i < n; ++i) in[i] = static_cast<double>(i % 1000) + t.rank();
  double* result = in_place ? in.data() : out.data();
  auto plus = [](double a, double b) { return a + b; };
  RANK_CHECK(t.peer_memory() != nullptr);
  if (!direct_all_reduce_of(t, *t.peer_memory(), in.data(), result, n, plus,
                            hilo::Deadline::after(60s)))
    return false;
  const double ranks = t.size() * (t.size() - 1) / 2.0;
  std::size_t wrong = 0;  // every element: a share off by one shows at its edge only
  for (std::size_t i = 0; i < n; ++i)
    wrong += result[i] != t.size() * static_cast<double>(i % 1000) + ranks;
  RANK_CHECK(wrong == 0);
  return true;
}

// Offers travel just after the mesh is up: until every rank has checked every other's, they
// agree not to take the direct path. Calls direct_sum until they do (a bounded number of times).
void direct_sum_once_agreed(hilo::Transport& world, std::size_t n, bool in_place) {
  for (int attempt = 0; attempt < 1000; ++attempt) {
    if (direct_sum(world, n, in_place)) return;
    std::this_thread::sleep_for(1ms);
  }
  throw std::runtime_error("the ranks never agreed to reach each other's memory");
}

}  // namespace

TEST_CASE("tcp world on one host: all-reduce reads the peers' memory directly") {
  for (int p : {2, 3, 4}) {
    run_engines(plan_world(p, true), [](const std::shared_ptr<Engine>& engine) {
      auto world = world_of(engine);
      // Shares of n/p elements: uneven for p = 3 and odd n, several scratch pieces for 2^20.
      for (std::size_t n : {std::size_t{5}, std::size_t{70001}, (std::size_t{1} << 20) + 3}) {
        direct_sum_once_agreed(*world, n, false);
        RANK_CHECK(direct_sum(*world, n, true));  // agreed for good: every offer is in
      }
      // Through the Communicator, which takes the same path for large vectors.
      Communicator comm(world_of(engine));
      std::vector<float> v(1 << 18, 1.0f), sum;
      comm.all_reduce_into(v, sum, std::plus<>{});
      RANK_CHECK(sum.size() == v.size() && sum.front() == comm.size() && sum.back() == comm.size());
    });
  }
}

TEST_CASE("tcp world on one host: with single copy off the ranks agree on the sockets") {
  // Read when each rank connects, so set for the whole world's life.
  ::setenv("HILO_TCP_SINGLE_COPY", "off", 1);
  try {
    run_engines(plan_world(3, true), [](const std::shared_ptr<Engine>& engine) {
      auto world = world_of(engine);
      // Long past the moment offers would have come in (direct_sum_once_agreed above agrees
      // within a few attempts), the ranks still agree on the sockets.
      for (int attempt = 0; attempt < 20; ++attempt) {
        RANK_CHECK(!direct_sum(*world, 70001, false));
        std::this_thread::sleep_for(1ms);
      }
      Communicator comm(world_of(engine));  // and the all-reduce still adds up, by sockets
      std::vector<double> v(70001, 1.0);
      RANK_CHECK(comm.all_reduce(v, std::plus<>{}).back() == 3.0);
    });
  } catch (...) {
    ::unsetenv("HILO_TCP_SINGLE_COPY");
    throw;
  }
  ::unsetenv("HILO_TCP_SINGLE_COPY");
}

TEST_CASE("tcp world on one host: a direct all-reduce of other lengths or types fails everywhere") {
  std::atomic<int> named_lengths{0}, named_types{0};
  run_engines(plan_world(2, true), [&](const std::shared_ptr<Engine>& engine) {
    auto world = world_of(engine);
    direct_sum_once_agreed(*world, 70000, false);
    hilo::Transport& t = world->collective_channel();
    auto message_of = [&](auto element, std::size_t n) {
      using E = decltype(element);
      std::vector<E> in(n, E{1}), out(n);
      auto plus = [](E a, E b) { return a + b; };
      try {
        direct_all_reduce_of(t, *t.peer_memory(), in.data(), out.data(), n, plus,
                             hilo::Deadline::after(60s));
      } catch (const hilo::Error& e) {
        return std::string(e.what());
      }
      return std::string("no error");
    };
    const std::string lengths = message_of(1.0, t.rank() == 0 ? 70000 : 90000);
    if (lengths.find("70000") != std::string::npos && lengths.find("90000") != std::string::npos)
      ++named_lengths;
    const std::string types =
        t.rank() == 0 ? message_of(1.0f, 70000) : message_of(std::int32_t{1}, 70000);
    if (types.find("float32") != std::string::npos && types.find("int32") != std::string::npos)
      ++named_types;
  });
  CHECK(named_lengths == 2);
  CHECK(named_types == 2);
}

TEST_CASE("tcp world on one host: a rank that times out in a direct all-reduce keeps its memory") {
  // Rank 1 stalls inside its share (its operation sleeps once); rank 0 gives up first, with a
  // Timeout naming rank 1. When rank 1 goes on, it must fail too, not return, and it must not
  // have changed rank 0's vectors, which rank 0 keeps until then to look at them.
  std::atomic<bool> rank1_done{false};
  std::atomic<int> checks{0};
  run_engines(plan_world(2, true), [&](const std::shared_ptr<Engine>& engine) {
    auto world = world_of(engine);
    direct_sum_once_agreed(*world, 70000, false);
    hilo::Transport& t = world->collective_channel();
    const std::size_t n = 70000;
    std::vector<double> in(n, 1.0), out(n, -1.0);
    bool slept = false;
    auto stalling_plus = [&](double a, double b) {
      if (t.rank() == 1 && !slept) {
        slept = true;
        std::this_thread::sleep_for(1500ms);
      }
      return a + b;
    };
    const auto limit = t.rank() == 0 ? 300ms : 3000ms;
    std::string failure = "no error";
    try {
      direct_all_reduce_of(t, *t.peer_memory(), in.data(), out.data(), n, stalling_plus,
                           hilo::Deadline::after(limit));
    } catch (const hilo::Error& e) {
      failure = e.what();
    }
    if (t.rank() == 0) {
      if (failure.find("rank 1") != std::string::npos) ++checks;  // the Timeout names it
      const std::vector<double> at_timeout = out;
      for (int i = 0; i < 1000 && !rank1_done; ++i) std::this_thread::sleep_for(10ms);
      if (rank1_done && out == at_timeout) ++checks;
    } else {
      if (failure != "no error") ++checks;  // it did not return a result
      rank1_done = true;
    }
  });
  CHECK(checks == 3);
}

namespace {
// A PeerMemory that runs `before(bytes)` ahead of every read: stages a failure at a chosen step
// of a direct all-reduce (its combining reads pieces of at most 64 KiB, its final copies read
// whole shares).
class HookedPeerMemory final : public hilo::PeerMemory {
 public:
  HookedPeerMemory(hilo::PeerMemory& real, std::function<void(std::size_t)> before)
      : real_(real), before_(std::move(before)) {}
  bool reachable(int rank) override { return real_.reachable(rank); }
  bool read(int rank, std::uintptr_t from, void* to, std::size_t bytes) override {
    before_(bytes);
    return real_.read(rank, from, to, bytes);
  }

 private:
  hilo::PeerMemory& real_;
  std::function<void(std::size_t)> before_;
};
}  // namespace

TEST_CASE("tcp world on one host: a rank whose peer left a direct all-reduce hears why") {
  // Rank 1 fails in the all-reduce, unmaps its vectors and ends its runtime with an exception,
  // as a rank does that lost a peer. Rank 0 then reads rank 1's vectors and finds them unmapped;
  // it must report rank 1 lost, as every other operation would, not a bad address of its own.
  // Both steps that read: combining (rank 1 fails before its "ready") and copying the finished
  // shares (after it). Rank 1's vectors are mapped by hand so that freeing them really unmaps
  // them (malloc may keep large blocks).
  const std::size_t n = 70000, share_bytes = n / 2 * sizeof(double);  // shares of several pieces
  const bool while_combining = GENERATE(true, false);
  auto in_step = [&](std::size_t bytes) { return (bytes < share_bytes) == while_combining; };
  INFO((while_combining ? "rank 1 fails while combining" : "rank 1 fails copying the shares"));
  auto engines = connect_all(plan_world(2, true));
  std::atomic<bool> rank1_unmapped{false};
  std::plus<> plus;
  auto rank0 = std::async(std::launch::async, [&]() -> std::string {
    auto world = world_of(engines[0]);
    direct_sum_once_agreed(*world, n, false);
    hilo::Transport& t = world->collective_channel();
    HookedPeerMemory memory(*t.peer_memory(), [&](std::size_t bytes) {
      if (!in_step(bytes)) return;
      for (int i = 0; i < 2000 && !rank1_unmapped; ++i) std::this_thread::sleep_for(1ms);
    });
    std::vector<double> in(n, 1.0), out(n);
    try {
      direct_all_reduce_of(t, memory, in.data(), out.data(), n, plus, hilo::Deadline::after(20s));
    } catch (const hilo::PeerLost& e) {
      return "PeerLost of rank " + std::to_string(e.rank()) + ": " + e.what();
    } catch (const hilo::Error& e) {
      return std::string("another error: ") + e.what();
    }
    return "no error";
  });
  {
    auto world = world_of(engines[1]);
    direct_sum_once_agreed(*world, n, false);
    hilo::Transport& t = world->collective_channel();
    HookedPeerMemory memory(*t.peer_memory(), [&](std::size_t bytes) {
      if (in_step(bytes)) throw std::runtime_error("rank 1 fails");
    });
    const std::size_t bytes = n * sizeof(double);
    void* in = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    void* out = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    REQUIRE(in != MAP_FAILED);
    REQUIRE(out != MAP_FAILED);
    CHECK_THROWS_AS(
        direct_all_reduce_of(t, memory, static_cast<double*>(in), static_cast<double*>(out), n,
                             plus, hilo::Deadline::after(20s)),
        std::runtime_error);
    ::munmap(in, bytes);
    ::munmap(out, bytes);
    rank1_unmapped = true;
  }
  engines[1]->abort(2s);
  const std::string heard = rank0.get();
  CHECK_THAT(heard, Catch::Matchers::StartsWith("PeerLost of rank 1"));
  CHECK_THAT(heard, Catch::Matchers::Contains("failed and left the job"));
  engines[0]->finish(5s);
}

TEST_CASE("tcp world on separate hosts: no peer memory") {
  auto engines = connect_all(plan_world(2));
  CHECK(world_of(engines[0])->peer_memory() == nullptr);
  for (auto& e : engines) e->finish(5s);
}
