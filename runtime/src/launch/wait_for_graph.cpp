#include "launch/wait_for_graph.hpp"

#include <algorithm>
#include <functional>
#include <set>

namespace hilo::launch {

namespace {
std::string what_of(const WaitEdge& e) {
  std::string text = e.operation;
  if (e.tag >= 0) text += " tag " + std::to_string(e.tag);
  if (!e.call_site.empty()) text += " at " + e.call_site;
  return text;
}

std::string waits_for(const WaitEdge& e) {
  return "rank " + std::to_string(e.rank) + " waits for rank " + std::to_string(e.peer);
}
}  // namespace

std::vector<std::string> describe_deadlocks(const std::vector<WaitEdge>& edges) {
  std::map<int, std::vector<const WaitEdge*>> out;  // rank -> its edges, in report order
  for (const WaitEdge& e : edges)
    if (e.rank >= 0 && e.peer >= 0) out[e.rank].push_back(&e);
  // Elementary cycles by depth-first search from each rank `start`, through ranks above it only,
  // so each cycle is found once, from its lowest rank. A job has few pending operations per
  // rank (one per blocked thread), so the search stays small.
  std::vector<std::vector<const WaitEdge*>> cycles;
  std::vector<const WaitEdge*> path;
  std::set<int> on_path;
  std::function<void(int, int)> visit = [&](int start, int rank) {
    auto it = out.find(rank);
    if (it == out.end()) return;
    for (const WaitEdge* e : it->second) {
      if (e->peer == start) {
        path.push_back(e);
        cycles.push_back(path);
        path.pop_back();
      } else if (e->peer > start && !on_path.contains(e->peer)) {
        path.push_back(e);
        on_path.insert(e->peer);
        visit(start, e->peer);
        on_path.erase(e->peer);
        path.pop_back();
      }
    }
  };
  for (const auto& [start, unused] : out) {
    on_path = {start};
    visit(start, start);
  }
  std::stable_sort(cycles.begin(), cycles.end(), [](const auto& a, const auto& b) {
    return a.front()->rank != b.front()->rank ? a.front()->rank < b.front()->rank
                                              : a.size() < b.size();
  });
  std::vector<std::string> lines;
  for (const auto& cycle : cycles) {
    std::string line = "deadlock: ";
    for (std::size_t i = 0; i < cycle.size(); ++i) {
      if (i > 0) line += "; ";
      line += waits_for(*cycle[i]) + " (" + what_of(*cycle[i]) + ")";
    }
    lines.push_back(line);
  }
  return lines;
}

std::vector<std::string> describe_waits_for_exited(const std::vector<WaitEdge>& edges,
                                                   const std::map<int, std::string>& exited) {
  std::vector<std::string> lines;
  for (const WaitEdge& e : edges) {
    auto gone = exited.find(e.peer);
    if (e.peer < 0 || gone == exited.end()) continue;
    lines.push_back(waits_for(e) + ", which has exited (" + gone->second + ") (" + what_of(e) +
                    ")");
  }
  return lines;
}

}  // namespace hilo::launch
