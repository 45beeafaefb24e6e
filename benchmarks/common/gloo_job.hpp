// Gloo's side of a benchmark program: the ranks learn their rank and size from the launcher
// (mpirun or hilorun; they never call MPI_Init), meet through a file store in --store DIR, connect
// a full mesh of TCP pairs, and close in order at the end.
#pragma once

#include <gloo/allreduce_ring.h>
#include <gloo/barrier_all_to_all.h>
#include <gloo/rendezvous/context.h>
#include <gloo/rendezvous/file_store.h>
#include <gloo/transport/tcp/device.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "bench_common.hpp"
#include "hilo/errors.hpp"

namespace bench {

// The launcher's rank and size: Open MPI's mpirun or hilorun.
inline std::pair<int, int> rank_and_size_from_launcher() {
  for (auto [rank_var, size_var] : {std::pair{"OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE"},
                                    std::pair{"HILO_RANK", "HILO_SIZE"}}) {
    const char* rank = std::getenv(rank_var);
    const char* size = std::getenv(size_var);
    if (rank && size) return {std::atoi(rank), std::atoi(size)};
  }
  throw hilo::Error("gloo: no rank in the environment; start this under mpirun or hilorun");
}

class GlooJob {
 public:
  explicit GlooJob(const Options& o) : store_(checked_store(o)) {
    std::tie(rank, ranks) = rank_and_size_from_launcher();
    gloo::transport::tcp::attr attr;
    attr.hostname = o.gloo_address == "hostname" ? host_name() : "127.0.0.1";
    auto device = gloo::transport::tcp::CreateDevice(attr);
    context = std::make_shared<gloo::rendezvous::Context>(rank, ranks);
    // Gloo's default 30 s limit on connecting and on each operation is not enough on an
    // oversubscribed machine (4 ranks on 2 busy cores timed out in one full run).
    context->setTimeout(std::chrono::seconds(300));
    context->connectFullMesh(store_, device);
    barrier_ = std::make_unique<gloo::BarrierAllToAll>(context);
    proposal_pointer_ = {proposal_.data()};
    agree_sum_ = std::make_unique<gloo::AllreduceRing<float>>(context, proposal_pointer_, 1);
    slowest_pointer_ = {slowest_.data()};
    slowest_max_ = std::make_unique<gloo::AllreduceRing<float>>(
        context, slowest_pointer_, 1, gloo::ReductionFunction<float>::max);
  }

  // Call at the end of a run that went well, before the job is destroyed. No rank may close its
  // connections while a peer still waits on them: Gloo fails a pending wait as soon as its pair
  // sees the peer's close, even when the awaited message arrived first ("Connection closed by
  // peer", seen after a final barrier too). So every rank says in the store that it is done,
  // and closes only once all have: the store is files, not the pairs. (A run that failed does
  // not wait: its exception ends the program, and the launcher the other ranks.)
  void finish() {
    barrier();
    store_.set("done-" + std::to_string(rank), {'1'});
    std::vector<std::string> done;
    for (int r = 0; r < ranks; ++r) done.push_back("done-" + std::to_string(r));
    store_.wait(done, std::chrono::seconds(300));
  }
  GlooJob(const GlooJob&) = delete;
  GlooJob& operator=(const GlooJob&) = delete;

  void barrier() { barrier_->run(); }

  // The sum of x over the ranks. Whole numbers below 2^24 add up exactly in floats.
  int agree_sum(int x) {
    proposal_[0] = float(x);
    agree_sum_->run();
    return int(proposal_[0]);
  }

  // The largest of x over the ranks (a time: float precision is plenty).
  double slowest(double x) {
    slowest_[0] = float(x);
    slowest_max_->run();
    return slowest_[0];
  }

  int rank = 0, ranks = 0;
  std::shared_ptr<gloo::rendezvous::Context> context;

 private:
  static std::string checked_store(const Options& o) {
    if (o.store.empty())
      throw std::invalid_argument("gloo needs --store DIR, an empty directory shared by all ranks");
    return o.store;
  }
  static std::string host_name() {
    char name[256] = {};
    if (::gethostname(name, sizeof name - 1) != 0)
      throw hilo::Error("gloo: gethostname failed, so there is no address to listen on");
    return name;
  }

  gloo::rendezvous::FileStore store_;
  std::unique_ptr<gloo::BarrierAllToAll> barrier_;
  std::vector<float> proposal_ = std::vector<float>(1);
  std::vector<float*> proposal_pointer_;
  std::unique_ptr<gloo::AllreduceRing<float>> agree_sum_;
  std::vector<float> slowest_ = std::vector<float>(1);
  std::vector<float*> slowest_pointer_;
  std::unique_ptr<gloo::AllreduceRing<float>> slowest_max_;
};

}  // namespace bench
