// Connection setup: turning the rendezvous table into a full mesh of authenticated connections.
//
// Every pair of ranks gets exactly one connection: the lower rank connects to the higher one's
// listener, so no pair is ever connected twice and no tie-break is needed. Each rank runs one
// poll() loop that at the same time connects out to every higher rank (retrying while the peer's
// listener is not up) and accepts from every lower rank, so no rank waits for another to finish
// its own setup. Both directions run the handshake (handshake.hpp) before a socket counts.
//
// How it scales with p ranks:
//   rendezvous (launch/rendezvous.hpp)  p registrations and p replies of p entries: O(p) messages,
//                                       O(p^2) bytes, all through the coordinator.
//   mesh                                p(p-1)/2 connections in all, p-1 per rank; each costs a
//                                       TCP handshake plus one hello each way (two round trips).
//                                       A rank's connects and accepts overlap in its poll loop,
//                                       so the time is about (p-1) x the per-connection work of
//                                       one rank, not p^2. integration.tcp.scale runs a
//                                       whole 64-rank job (2016 connections) under hilorun.
//                                       File descriptors: p-1 per rank plus the listener
//                                       (raise `ulimit -n` beyond ~1000 ranks), plus up to 64
//                                       strangers (stranger_pool.hpp), which give theirs up
//                                       whenever the rank needs one for a peer.
// Both are one-time costs at start-up; after them a message costs one frame on an open socket.
#pragma once

#include <string>
#include <vector>

#include "backends/tcp/socket.hpp"
#include "hilo/comm/types.hpp"
#include "hilo/detail/log.hpp"
#include "launch/rendezvous.hpp"

namespace hilo::tcp {

struct MeshPlan {
  int rank = 0;
  std::string token;
  std::vector<launch::PeerAddress> table;  // by rank; table.size() is the job size
  Deadline deadline;
  detail::Log log;  // connections made (debug) and connects retried (warn)
};

// Returns one connected, handshaken socket per rank (an invalid fd at index `rank`). Incoming
// connections are strangers (stranger_pool.hpp: capped, closed when silent for a few seconds)
// until a hello proves them a lower rank; refused ones are logged through `log` and do not
// disturb the setup, however many there are. Throws hilo::Timeout naming
// the ranks (and hosts) still missing at the deadline, hilo::PeerLost when a peer is found dead
// (its listener refuses connections, or it closes the connection), hilo::Error when the process
// at a peer's address fails the handshake (another job on a reused port).
std::vector<common::UniqueFd> connect_mesh(const Listener& listener, const MeshPlan& plan,
                                           RejectionLog& log);

// "rank 3 (host n1, 10.0.0.3:40001)": how every message names a peer.
std::string describe_peer(const launch::PeerAddress& peer);

}  // namespace hilo::tcp
