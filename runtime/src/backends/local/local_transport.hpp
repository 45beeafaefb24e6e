// The local backend: ranks are threads of one process. A message is copied once, from the
// sender's buffer straight into a posted receive's buffer (or into a queued copy when the
// receive comes later). Used by hilo::run_local and by a program started with no launcher.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "backends/local/fault_injector.hpp"
#include "comm/mailbox.hpp"
#include "comm/operation_pool.hpp"
#include "hilo/comm/detail/collective_call.hpp"
#include "hilo/comm/detail/transport.hpp"

namespace hilo::local {

// What the threads of one local job share: a mailbox per (communicator, rank), and whether a
// rank has failed or finished, so the others fail instead of waiting for it forever.
class LocalWorld {
 public:
  explicit LocalWorld(int size) : size_(size) {}
  // A job run under a test's FaultPlan (hilo/testing.hpp): its faults are injected.
  LocalWorld(int size, const testing::FaultPlan& plan);
  int size() const { return size_; }
  // The job's FaultInjector, or null without a plan.
  FaultInjector* faults() { return faults_.get(); }
  // The mailbox of rank `rank` of the communicator `context` whose ranks are the world ranks
  // `members`; made on first use.
  detail::Mailbox& mailbox(std::uint64_t context, const std::vector<int>& members, int rank);

  // Rank `world_rank` threw: every pending and later operation of every other rank fails.
  void rank_failed(int world_rank, std::exception_ptr error);
  // Rank `world_rank` returned: receives that can only be satisfied by it fail (after its
  // messages still delayed by a FaultPlan have been delivered).
  void rank_finished(int world_rank);
  // A FaultPlan killed rank `world_rank`: every pending and later receive and probe of every
  // rank fails with `error`, as on tcp when a process dies, and so does every send to it; this is
  // no error of the job (first_error() does not change). Messages already delivered stay
  // receivable.
  void rank_lost(int world_rank, std::exception_ptr error);
  // Throws the PeerLost of world rank `world_rank` if it was lost (rank_lost).
  void throw_if_lost(int world_rank) const;
  std::exception_ptr first_error() const;
  void throw_if_failed() const;

 private:
  struct Group {
    std::vector<int> members;                             // world rank of each rank
    std::vector<std::unique_ptr<detail::Mailbox>> boxes;  // by rank
  };
  void fail_finished(Group& c, int world_rank, std::exception_ptr error);
  void finished_now(int world_rank, std::exception_ptr lost);

  const int size_;
  mutable std::mutex mutex_;
  std::map<std::uint64_t, Group> communicators_;
  std::vector<std::pair<int, std::exception_ptr>> finished_;  // world rank, its PeerLost
  std::exception_ptr first_error_;                            // what the first failed rank threw
  std::exception_ptr lost_;  // the PeerLost every other rank gets after that
  std::atomic<bool> failed_{false};
  std::map<int, std::exception_ptr> lost_ranks_;  // by world rank: what rank_lost was given
  // Last, so destroyed first: its delivery thread puts messages into the mailboxes above.
  std::unique_ptr<FaultInjector> faults_;
};

class LocalTransport final : public Transport {
 public:
  // `members[i]` is the world rank of this communicator's rank i; `log`, this rank's.
  LocalTransport(std::shared_ptr<LocalWorld> world, std::uint64_t context, std::vector<int> members,
                 int rank, detail::Log log = {});

  int rank() const override { return rank_; }
  int size() const override { return static_cast<int>(members_.size()); }
  std::string_view backend_name() const override { return "local"; }
  std::string host_of(int rank) const override;
  const detail::Log& log() const override { return log_; }

  void send(int dest, int tag, const void* data, std::size_t bytes, DataType type,
            Deadline) override;
  std::unique_ptr<Operation> isend(int dest, int tag, std::shared_ptr<const void> keep_alive,
                                   const void* data, std::size_t bytes, DataType type) override;
  Status recv(int source, int tag, const Sink& sink, Deadline deadline) override;
  std::unique_ptr<Operation> irecv(int source, int tag, Sink sink) override;
  Status probe(int source, int tag, Deadline deadline) override;
  std::optional<Status> iprobe(int source, int tag) override;

  std::unique_ptr<Transport> derive(std::uint64_t context, std::vector<int> members) override;
  std::uint64_t context() const override { return context_; }
  Transport& collective_channel() override;
  CallObserver* call_observer() override;
  detail::CollectiveStamping collective_stamping() override;
  void raise_collective_notice() override;
  void abandon_collective(std::uint32_t stamp) override;

 private:
  std::shared_ptr<LocalWorld> world_;
  detail::Log log_;
  std::uint64_t context_;
  std::vector<int> members_;
  int rank_;
  detail::Mailbox* mine_;
  std::vector<detail::Mailbox*> peers_;  // by rank in this communicator
  std::unique_ptr<LocalTransport> collectives_;
  // On a collective channel: the stamp of the blocking collective running or last run (0 before
  // the first). Stored by the user's thread as a collective starts; read by whichever thread
  // sends or posts a receive on the channel (a nonblocking collective's, which the sequencer
  // finishes before the store): relaxed suffices, the atomic is for the race checker's sake.
  std::atomic<std::uint32_t> stamp_{0};
  // Under a FaultPlan: the job's injector and how many messages this rank has sent to each rank
  // of this communicator (a message's sequence number on its pair, for the seeded draws).
  FaultInjector* faults_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> sent_;
  detail::OperationPool::Owner operations_;  // for isend's and irecv's operations

  // What a receive with `tag` posted now is checked against (Mailbox): the current stamp, but for
  // a notice, which belongs to no call.
  std::uint32_t receive_stamp(int tag) const {
    return tag == detail::collective_notice_tag ? 0 : stamp_.load(std::memory_order_relaxed);
  }
  void send_with_faults(int dest, int tag, const void* data, std::size_t bytes, DataType type);
};

}  // namespace hilo::local
