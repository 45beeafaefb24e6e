// Intra-node primitives with Google Benchmark: each hilo primitive next to its std:: counterpart,
// registered in pairs so the two run back to back (interleaved) on the same noisy machine.
//
//   mutex_uncontended, mutex_contended         hilo::Mutex vs std::mutex
//   semaphore_uncontended, semaphore_contended hilo::Semaphore vs std::counting_semaphore
//   barrier_single, barrier_contended          hilo::Barrier vs std::barrier
//   pool_map                                   hilo::ThreadPool::map per task vs std::async
// "contended" means every benchmark thread (2, the machine's cores) hammers one shared object.
//
// Output: the CSV rows of every benchmark program (value = real time per operation, ns), via a
// reporter, so Google Benchmark's own flags (--benchmark_filter, --benchmark_min_time) still work.
// Extra flag: --repetition N (a label for the driver's loop).
#include <benchmark/benchmark.h>

#include <barrier>
#include <cstdlib>
#include <cstring>
#include <future>
#include <mutex>
#include <semaphore>
#include <string>
#include <vector>

#include "bench_common.hpp"
#include "hilo/sync.hpp"

namespace {

constexpr int contending_threads = 2;
constexpr int tasks_per_map = 1000;

// Objects shared by the threads of one benchmark. Google Benchmark starts every thread of a run
// together and each run keeps its own instance of the template, so a function-local static is
// the one object those threads share (and it is never shared across different benchmarks).
// The mutex and the counter it guards (which makes the critical section do something) each on
// a cache line of its own, for every kind of mutex alike. As two plain statics, where the linker
// put them decided whether the threads also fought over a neighbour's line: hilo::Mutex (the
// same pthread_mutex_lock as std::mutex) read x1.15 in one full run and x0.94 in another.
template <class Mutex>
void mutex_lock_unlock(benchmark::State& state) {
  alignas(64) static Mutex mutex;
  alignas(64) static long counter = 0;
  for (auto _ : state) {
    std::lock_guard lock(mutex);
    benchmark::DoNotOptimize(++counter);
  }
}

template <class Semaphore>
void semaphore_acquire_release(benchmark::State& state) {
  static Semaphore semaphore(1);
  for (auto _ : state) {
    semaphore.acquire();
    semaphore.release();
  }
}

template <class Barrier, int Threads>
void barrier_arrive_and_wait(benchmark::State& state) {
  static Barrier barrier(Threads);
  for (auto _ : state) barrier.arrive_and_wait();
}

void pool_map_hilo(benchmark::State& state) {
  hilo::ThreadPool pool(contending_threads);
  std::vector<int> inputs(tasks_per_map, 1);
  for (auto _ : state) benchmark::DoNotOptimize(pool.map([](int x) { return x + 1; }, inputs));
  state.counters["tasks"] = tasks_per_map;
}

void pool_map_async(benchmark::State& state) {
  std::vector<int> inputs(tasks_per_map, 1);
  for (auto _ : state) {
    std::vector<std::future<int>> futures;
    futures.reserve(inputs.size());
    for (int x : inputs) futures.push_back(std::async(std::launch::async, [x] { return x + 1; }));
    for (auto& f : futures) benchmark::DoNotOptimize(f.get());
  }
  state.counters["tasks"] = tasks_per_map;
}

// Each pair runs hilo's side first in odd repetitions and the anchor's first in even ones (the
// driver numbers them from 1), so neither always starts on the threads' or caches' warm-up.
void register_all(bool hilo_first) {
  auto pair = [hilo_first](const std::string& name, auto hilo_fn, auto std_fn,
                           const std::string& other, int threads) {
    auto add = [&](const std::string& system, auto fn) {
      benchmark::RegisterBenchmark((name + "/" + system).c_str(), fn)
          ->Threads(threads)
          ->UseRealTime();
    };
    if (hilo_first) {
      add("hilo", hilo_fn);
      add(other, std_fn);
    } else {
      add(other, std_fn);
      add("hilo", hilo_fn);
    }
  };
  using std_semaphore = std::counting_semaphore<>;
  pair("mutex_uncontended", mutex_lock_unlock<hilo::Mutex>, mutex_lock_unlock<std::mutex>, "std",
       1);
  pair("mutex_contended", mutex_lock_unlock<hilo::Mutex>, mutex_lock_unlock<std::mutex>, "std",
       contending_threads);
  pair("semaphore_uncontended", semaphore_acquire_release<hilo::Semaphore>,
       semaphore_acquire_release<std_semaphore>, "std", 1);
  pair("semaphore_contended", semaphore_acquire_release<hilo::Semaphore>,
       semaphore_acquire_release<std_semaphore>, "std", contending_threads);
  pair("barrier_single", barrier_arrive_and_wait<hilo::Barrier, 1>,
       barrier_arrive_and_wait<std::barrier<>, 1>, "std", 1);
  pair("barrier_contended", barrier_arrive_and_wait<hilo::Barrier, contending_threads>,
       barrier_arrive_and_wait<std::barrier<>, contending_threads>, "std", contending_threads);
  pair("pool_map", pool_map_hilo, pool_map_async, "std-async", 1);
}

// Prints each finished run as a CSV row: benchmark,system,threads,time per operation (ns).
class CsvRows : public benchmark::BenchmarkReporter {
 public:
  explicit CsvRows(int repetition) : repetition_(repetition) {}
  bool ReportContext(const Context&) override {
    bench::print_header();
    return true;
  }
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& run : runs) {
      if (run.run_type != Run::RT_Iteration) continue;
      if (run.error_occurred) {
        std::fprintf(stderr, "bench_sync: %s failed: %s\n", run.benchmark_name().c_str(),
                     run.error_message.c_str());
        failed_ = true;
        continue;
      }
      const std::string& name = run.run_name.function_name;  // "<benchmark>/<system>"
      const auto slash = name.find('/');
      double ns = run.GetAdjustedRealTime() * to_ns(run.time_unit);
      if (auto tasks = run.counters.find("tasks"); tasks != run.counters.end())
        ns /= tasks->second.value;
      bench::print_row(name.substr(0, slash), name.substr(slash + 1), "threads", 0,
                       int(run.threads), repetition_, ns, "ns");
    }
  }
  bool failed() const { return failed_; }

 private:
  static double to_ns(benchmark::TimeUnit unit) {
    switch (unit) {
      case benchmark::kSecond:
        return 1e9;
      case benchmark::kMillisecond:
        return 1e6;
      case benchmark::kMicrosecond:
        return 1e3;
      default:
        return 1;
    }
  }
  int repetition_;
  bool failed_ = false;
};

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  int repetition = 0;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--repetition") == 0 && i + 1 < argc) {
      repetition = static_cast<int>(bench::parse_count("--repetition", argv[++i]));
    } else {
      std::fprintf(stderr,
                   "bench_sync: unknown option %s (Google Benchmark's --benchmark_* "
                   "flags and --repetition N are accepted)\n",
                   argv[i]);
      return 2;
    }
  }
  register_all(repetition % 2 == 1);
  CsvRows rows(repetition);
  benchmark::RunSpecifiedBenchmarks(&rows);
  benchmark::Shutdown();
  return rows.failed() ? 1 : 0;
}
