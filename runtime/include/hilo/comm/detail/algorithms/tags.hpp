// The tags of the generic collective algorithms' messages on a communicator's collective channel.
// Every rank calls the same collectives in the same order (as in MPI), and per-pair ordering keeps
// one call's messages apart from the next's, so a tag only has to tell apart the kinds of message
// one algorithm may have in flight between the same pair of ranks; each kind has its own number
// (all_to_all.hpp, scan.hpp and gather_v.hpp continue the list).
#pragma once

namespace hilo::detail::tags {
inline constexpr int barrier = 1, broadcast = 2, reduce = 3, gather = 4, scatter = 5, ring = 6,
                     exchange = 7, direct = 8;
}  // namespace hilo::detail::tags
