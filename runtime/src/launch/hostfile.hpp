// Hosts and slots, read from an Open MPI hostfile or an mpirun-style `--host` list, and the
// placement of ranks on them. The same hostfile works for `mpirun --hostfile` and `hilorun`.
//
// Hostfile format (Open MPI's):
//   # a comment; blank lines are ignored
//   node1 slots=4            # trailing comments too
//   node2 slots=2 max_slots=4
//   node3                    # no slots= means 1 slot (Open MPI would count cores: see below)
// Keywords: `slots=N` (alias `count=N`) and `max_slots=N` (alias `max-slots=N`), N >= 1 and
// max_slots >= slots. A host listed twice adds its slots, as Open MPI does. Words are separated
// by spaces or tabs; Windows line endings (CRLF) are fine. Anything else on a line (an unknown
// keyword, slots=0, slots=-1, slots=two, a stray word, a control character such as NUL, ESC or a
// lone CR) is a hilo::Error naming the file, the line number and why; a control character is
// shown as \xHH, with the whole line quoted the same way.
//
// Difference from Open MPI: a host without `slots=` counts as 1 slot, because hilorun has no
// daemon on the remote host to count its cores. Write `slots=N` to use more.
#pragma once

#include <istream>
#include <optional>
#include <string>
#include <vector>

namespace hilo::launch {

struct HostSlots {
  std::string host;
  int slots = 1;
  std::optional<int> max_slots;  // a hard cap, even with --oversubscribe
};

// Parses hostfile text; `source_name` (the file's path) is used in error messages.
std::vector<HostSlots> parse_hostfile(std::istream& text, const std::string& source_name);

// Opens and parses `path`; a file that cannot be read is a hilo::Error naming it.
std::vector<HostSlots> read_hostfile(const std::string& path);

// mpirun's `--host a,b:2,c`: each name is one slot unless `:N` gives its slots. A bad item is a
// hilo::Error quoting it.
std::vector<HostSlots> parse_host_list(const std::string& list);

// Where one rank runs.
struct Placement {
  int rank = 0;
  std::string host;
  int local_rank = 0;  // index among the ranks on the same host
  int local_size = 0;  // how many ranks share that host
};

// mpirun's --map-by: which host each rank goes to. `slot` and `core` fill host 1's slots first,
// then host 2's (ranks on one host are consecutive); `node` deals ranks to the hosts in turn,
// one each, skipping a host once it is full. hilorun cannot count a remote host's cores before it
// starts a rank there, so `core` places like `slot`; on each host, the i-th rank there (its
// local rank) is then bound to the i-th core (see --bind-to).
enum class MapBy { slot, node, core };

struct PlacementPolicy {
  MapBy map_by = MapBy::slot;
  // mpirun's -N / --npernode: exactly this many ranks on each host (fewer only on the last ones
  // when the ranks run out), whatever the hosts' slots say, as long as they have that many
  // slots (or `oversubscribe`) and not more than max_slots.
  std::optional<int> per_host;
  // More ranks than slots: without it a hilo::Error; with it the extra ranks go one per host in
  // turn, skipping hosts at their max_slots.
  bool oversubscribe = false;
};

// Places `ranks` ranks on `hosts` as `policy` says. A request the hosts cannot hold is a
// hilo::Error saying why and what to change; ranks < 1 or no hosts is std::invalid_argument.
std::vector<Placement> place_ranks(const std::vector<HostSlots>& hosts, int ranks,
                                   const PlacementPolicy& policy);

// By slot (mpirun's default mapping).
inline std::vector<Placement> place_ranks(const std::vector<HostSlots>& hosts, int ranks,
                                          bool oversubscribe) {
  return place_ranks(hosts, ranks, PlacementPolicy{MapBy::slot, std::nullopt, oversubscribe});
}

}  // namespace hilo::launch
