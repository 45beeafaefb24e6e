#include "wait_for_report.hpp"

#include "launch/wait_for_graph.hpp"

namespace hilo::hilorun {
namespace {

std::string waits_text(const launch::RankReport& report) {
  std::string text;
  for (const launch::ReportedOperation& op : report.pending) {
    if (!text.empty()) text += "; ";
    text += "waiting in " + op.text;
  }
  return text;
}

const launch::RankReport* find(const std::map<int, launch::RankReport>& reports, int rank) {
  auto it = reports.find(rank);
  return it == reports.end() ? nullptr : &it->second;
}

}  // namespace

std::vector<std::string> wait_for_report(const std::vector<RankState>& ranks,
                                         const std::map<int, launch::RankReport>& answers,
                                         const std::map<int, launch::RankReport>& timeouts) {
  std::vector<std::string> lines;
  std::vector<launch::WaitEdge> edges;
  std::map<int, std::string> exited;
  for (const RankState& state : ranks) {
    const launch::RankReport* answer = find(answers, state.rank);
    const launch::RankReport* timeout = find(timeouts, state.rank);
    std::string line = "rank " + std::to_string(state.rank) + " (" + state.host + "): ";
    if (state.ended) {
      exited[state.rank] = *state.ended;
      line += *state.ended;
      if (timeout && !timeout->pending.empty())
        line += ", after a hilo::Timeout " + waits_text(*timeout);
    } else if (answer) {
      line += answer->pending.empty() ? "running, nothing pending" : waits_text(*answer);
    } else if (timeout) {
      line += "no answer; at its hilo::Timeout it was " + waits_text(*timeout);
    } else {
      line += "no answer";
    }
    lines.push_back(line);
    // What it waits for: its answer now, else what it reported at its Timeout.
    const launch::RankReport* waits = answer ? answer : timeout;
    if (!waits) continue;
    for (const launch::ReportedOperation& op : waits->pending) {
      const bool one_peer =
          op.role == launch::WaitRole::source || op.role == launch::WaitRole::dest;
      if (!one_peer || op.peer < 0 || op.communicator != "world") continue;
      edges.push_back({state.rank, op.peer, op.operation, op.tag, op.call_site});
    }
  }
  for (std::string& line : launch::describe_deadlocks(edges)) lines.push_back(std::move(line));
  for (std::string& line : launch::describe_waits_for_exited(edges, exited))
    lines.push_back(std::move(line));
  return lines;
}

}  // namespace hilo::hilorun
