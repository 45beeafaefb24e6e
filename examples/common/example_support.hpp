// What the distributed examples (parallel_sum, bounded_connections, barrier, sample_sort) share:
// reading the command line, this machine's host name, and the "hosts=a,b,c" list of their summary
// lines. Header-only, so that each example stays one program you can read top to bottom.
#pragma once

#include <unistd.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <hilo/hilo.hpp>

namespace hilo_examples {

// `text` as a whole number in [min, max]; std::invalid_argument naming `option` otherwise.
inline std::uint64_t parse_count(std::string_view option, std::string_view text, std::uint64_t min,
                                 std::uint64_t max) {
  std::uint64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc{} || end != text.data() + text.size() || value < min || value > max) {
    throw std::invalid_argument(std::string(option) + " needs a whole number from " +
                                std::to_string(min) + " to " + std::to_string(max) + ", not '" +
                                std::string(text) + "'");
  }
  return value;
}

// The value after option argv[i] (advancing i), or std::invalid_argument if there is none.
inline std::string_view option_value(int argc, char** argv, int& i) {
  if (i + 1 >= argc) throw std::invalid_argument(std::string(argv[i]) + " needs a value");
  return argv[++i];
}

// Runs parse(argc, argv), which throws std::invalid_argument for a bad command line. Every rank
// got the same arguments, so only rank 0 says what is wrong, followed by `usage`; the result is
// then empty, and the example exits with status 2. The other ranks wait at a barrier until rank
// 0 has said it: a launcher stops the whole job as soon as one rank exits with an error, which
// could otherwise be before rank 0 has printed why.
template <class Options>
std::optional<Options> parse_options(Options (*parse)(int, char**), int argc, char** argv,
                                     hilo::Communicator& world, const char* example,
                                     const char* usage) {
  try {
    return parse(argc, argv);
  } catch (const std::invalid_argument& bad) {
    if (world.rank() == 0) {
      std::fprintf(stderr, "%s: %s\n%s", example, bad.what(), usage);
      std::fflush(stderr);
    }
    world.barrier();
    return std::nullopt;
  }
}

// This machine's host name, as `hostname` prints it.
inline std::string this_host() {
  std::array<char, 256> name{};
  if (gethostname(name.data(), name.size() - 1) != 0) return "unknown";
  return name.data();
}

// Each host once, in the order of the first rank that ran there.
inline std::vector<std::string> each_host_once(const std::vector<std::string>& host_of_rank) {
  std::vector<std::string> hosts;
  for (const std::string& host : host_of_rank) {
    if (std::find(hosts.begin(), hosts.end(), host) == hosts.end()) hosts.push_back(host);
  }
  return hosts;
}

// "a,b,c": the hosts list of the summary lines, which the multi-host tests read.
inline std::string host_list(const std::vector<std::string>& host_of_rank) {
  std::string list;
  for (const std::string& host : each_host_once(host_of_rank))
    list += (list.empty() ? "" : ",") + host;
  return list;
}

}  // namespace hilo_examples
