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

// Places `ranks` ranks by slot, like mpirun's default mapping: host 1's slots are filled first,
// then host 2's, and so on. More ranks than slots is a hilo::Error unless `oversubscribe`, which
// then adds the extra ranks one per host in turn, skipping hosts at their max_slots.
std::vector<Placement> place_ranks(const std::vector<HostSlots>& hosts, int ranks,
                                   bool oversubscribe);

}  // namespace hilo::launch
