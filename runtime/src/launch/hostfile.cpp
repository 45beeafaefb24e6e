#include "launch/hostfile.hpp"

#include <algorithm>
#include <charconv>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>

#include "hilo/detail/error_message.hpp"
#include "hilo/errors.hpp"

namespace hilo::launch {
namespace {

// A strictly positive decimal number, or nothing: "0", "-1", "2x", "" are all rejected.
std::optional<int> parse_positive(std::string_view text) {
  int value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc{} || end != text.data() + text.size() || value < 1) return std::nullopt;
  return value;
}

// Bytes a hostfile line may not hold: the ASCII control characters except tab, which separates
// words like a space. (A line's final CR, from Windows line endings, is removed before.)
bool is_control_byte(char c) {
  const auto byte = static_cast<unsigned char>(c);
  return (byte < 0x20 && c != '\t') || byte == 0x7f;
}

// `text` with every byte that is not printable ASCII shown as \xHH (and `\` as `\\`), so that a
// message quoting it is printed whole: a raw NUL would end it, a CR or ESC would garble the
// terminal.
std::string escaped(std::string_view text) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '\\') {
      out += "\\\\";
    } else if (byte >= 0x20 && byte < 0x7f) {
      out += c;
    } else {
      out += "\\x";
      out += hex[byte >> 4];
      out += hex[byte & 0xf];
    }
  }
  return out;
}

// Adds `entry` to `hosts`, merging it with an earlier line naming the same host.
void add_host(std::vector<HostSlots>& hosts, HostSlots entry) {
  for (HostSlots& known : hosts) {
    if (known.host != entry.host) continue;
    known.slots += entry.slots;
    if (entry.max_slots) known.max_slots = known.max_slots.value_or(0) + *entry.max_slots;
    return;
  }
  hosts.push_back(std::move(entry));
}

}  // namespace

std::vector<HostSlots> parse_hostfile(std::istream& text, const std::string& source_name) {
  std::vector<HostSlots> hosts;
  std::string line;
  for (int line_number = 1; std::getline(text, line); ++line_number) {
    auto fail = [&](const std::string& why) -> void {
      detail::throw_error<Error>("hilo: hostfile ", source_name, ", line ", line_number, ": ", why,
                                 " (expected `host [slots=N] [max_slots=N]`)");
    };
    if (!line.empty() && line.back() == '\r') line.pop_back();  // Windows line endings
    if (auto bad = std::find_if(line.begin(), line.end(), is_control_byte); bad != line.end()) {
      fail("control character " + escaped(std::string_view(&*bad, 1)) + " at column " +
           std::to_string(bad - line.begin() + 1) + " of \"" + escaped(line) +
           "\"; a hostfile is plain text");
    }
    if (auto comment = line.find('#'); comment != std::string::npos) line.erase(comment);
    std::istringstream words(line);
    HostSlots entry;
    if (!(words >> entry.host)) continue;  // blank or comment-only line
    if (entry.host.find('=') != std::string::npos) fail("a line must start with a host name");
    bool slots_given = false;
    for (std::string word; words >> word;) {
      auto equals = word.find('=');
      if (equals == std::string::npos) fail("unexpected word '" + word + "'");
      std::string key = word.substr(0, equals);
      std::string value = word.substr(equals + 1);
      auto number = parse_positive(value);
      if (key == "slots" || key == "count") {
        if (!number) fail("slots must be a whole number >= 1, not '" + value + "'");
        entry.slots = *number;
        slots_given = true;
      } else if (key == "max_slots" || key == "max-slots") {
        if (!number) fail("max_slots must be a whole number >= 1, not '" + value + "'");
        entry.max_slots = *number;
      } else {
        fail("unknown keyword '" + key + "'");
      }
    }
    if (entry.max_slots) {
      if (!slots_given) entry.slots = std::min(entry.slots, *entry.max_slots);
      if (*entry.max_slots < entry.slots) fail("max_slots is smaller than slots");
    }
    add_host(hosts, std::move(entry));
  }
  if (text.bad()) detail::throw_error<Error>("hilo: hostfile ", source_name, ": read error");
  if (hosts.empty()) detail::throw_error<Error>("hilo: hostfile ", source_name, " names no host");
  return hosts;
}

std::vector<HostSlots> read_hostfile(const std::string& path) {
  std::ifstream file(path);
  if (!file)
    detail::throw_error<Error>("hilo: cannot open hostfile ", path,
                               ": check the path (--hostfile FILE)");
  return parse_hostfile(file, path);
}

std::vector<HostSlots> parse_host_list(const std::string& list) {
  std::vector<HostSlots> hosts;
  std::istringstream items(list);
  for (std::string item; std::getline(items, item, ',');) {
    HostSlots entry;
    entry.host = item;
    if (auto colon = item.rfind(':'); colon != std::string::npos) {
      auto number = parse_positive(std::string_view(item).substr(colon + 1));
      if (!number) {
        detail::throw_error<Error>("hilo: --host item '", item,
                                   "': the number after ':' must be a slot count >= 1");
      }
      entry.host = item.substr(0, colon);
      entry.slots = *number;
    }
    if (entry.host.empty())
      detail::throw_error<Error>("hilo: --host '", list, "' has an empty host name");
    add_host(hosts, std::move(entry));
  }
  if (hosts.empty()) detail::throw_error<Error>("hilo: --host needs at least one host name");
  return hosts;
}

std::vector<Placement> place_ranks(const std::vector<HostSlots>& hosts, int ranks,
                                   const PlacementPolicy& policy) {
  if (ranks < 1)
    detail::throw_error<std::invalid_argument>(
        "hilo: place_ranks: the number of ranks must be >= 1");
  if (hosts.empty())
    detail::throw_error<std::invalid_argument>("hilo: place_ranks: no hosts to place ranks on");

  // What each host takes before oversubscription: its slots, or exactly -N.
  std::vector<int> capacity(hosts.size());
  for (std::size_t h = 0; h < hosts.size(); ++h) {
    capacity[h] = hosts[h].slots;
    if (!policy.per_host) continue;
    int wanted = *policy.per_host;
    if (hosts[h].max_slots && wanted > *hosts[h].max_slots) {
      detail::throw_error<Error>("hilo: -N ", wanted, ": host ", hosts[h].host,
                                 " has max_slots=", *hosts[h].max_slots);
    }
    if (wanted > hosts[h].slots && !policy.oversubscribe) {
      detail::throw_error<Error>("hilo: -N ", wanted, ": host ", hosts[h].host, " has only ",
                                 hosts[h].slots, (hosts[h].slots == 1 ? " slot" : " slots"),
                                 ": add slots (host slots=N), lower -N, or pass --oversubscribe");
    }
    capacity[h] = wanted;
  }
  int total_capacity = 0;
  for (int c : capacity) total_capacity += c;
  if (policy.per_host && ranks > total_capacity) {
    detail::throw_error<Error>("hilo: asked for ", ranks, " ranks but -N ", *policy.per_host,
                               " on ", hosts.size(), (hosts.size() == 1 ? " host" : " hosts"),
                               " places at most ", total_capacity);
  }
  if (ranks > total_capacity && !policy.oversubscribe) {
    detail::throw_error<Error>(
        "hilo: asked for ", ranks, " ranks but the hosts have only ", total_capacity,
        " slots: add slots (host slots=N), lower -n, or pass --oversubscribe");
  }

  // How many ranks each host gets: up to its capacity (by slot: host after host; by node: one
  // per host in turn, which ends with the same counts when all fit except for the last round).
  std::vector<int> per_host(hosts.size(), 0);
  int placed = 0;
  if (policy.map_by == MapBy::node) {
    for (bool progress = true; progress && placed < ranks;) {
      progress = false;
      for (std::size_t h = 0; h < hosts.size() && placed < ranks; ++h) {
        if (per_host[h] >= capacity[h]) continue;
        ++per_host[h];
        ++placed;
        progress = true;
      }
    }
  } else {
    for (std::size_t h = 0; h < hosts.size() && placed < ranks; ++h) {
      per_host[h] = std::min(capacity[h], ranks - placed);
      placed += per_host[h];
    }
  }
  // Oversubscribed: one more rank per host in turn, never past a host's max_slots.
  while (placed < ranks) {
    int placed_before = placed;
    for (std::size_t h = 0; h < hosts.size() && placed < ranks; ++h) {
      if (hosts[h].max_slots && per_host[h] >= *hosts[h].max_slots) continue;
      ++per_host[h];
      ++placed;
    }
    if (placed == placed_before) {
      detail::throw_error<Error>("hilo: asked for ", ranks, " ranks but every host is at its ",
                                 "max_slots (", placed, " ranks in all)");
    }
  }

  // Which host each rank number goes to: by slot, a host's ranks are consecutive; by node,
  // rank numbers are dealt to the hosts in turn, as mpirun does.
  std::vector<std::size_t> host_of_rank;
  host_of_rank.reserve(static_cast<std::size_t>(ranks));
  if (policy.map_by == MapBy::node) {
    std::vector<int> dealt(hosts.size(), 0);
    while (static_cast<int>(host_of_rank.size()) < ranks) {
      for (std::size_t h = 0; h < hosts.size(); ++h) {
        if (dealt[h] >= per_host[h]) continue;
        ++dealt[h];
        host_of_rank.push_back(h);
      }
    }
  } else {
    for (std::size_t h = 0; h < hosts.size(); ++h)
      host_of_rank.insert(host_of_rank.end(), static_cast<std::size_t>(per_host[h]), h);
  }
  std::vector<Placement> placements;
  placements.reserve(static_cast<std::size_t>(ranks));
  std::vector<int> next_local(hosts.size(), 0);
  for (std::size_t h : host_of_rank) {
    int rank = static_cast<int>(placements.size());
    placements.push_back({rank, hosts[h].host, next_local[h]++, per_host[h]});
  }
  return placements;
}

}  // namespace hilo::launch
