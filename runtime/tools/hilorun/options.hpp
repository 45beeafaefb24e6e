// hilorun's command line, parsed with mpirun's flag names where the two overlap.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "cpu_binding.hpp"
#include "launch/hostfile.hpp"

namespace hilo::hilorun {

struct Options {
  std::optional<int> ranks;                     // -n / -np / --np
  std::optional<std::string> hostfile;          // --hostfile / --machinefile
  std::optional<std::string> host_list;         // --host / -H
  std::vector<std::string> exports;             // -x VAR or -x VAR=value, in order
  bool tag_output = false;                      // --tag-output
  std::optional<double> timeout_seconds;        // --timeout S
  std::optional<std::string> launch_agent;      // --launch-agent CMD
  bool oversubscribe = false;                   // --oversubscribe
  std::optional<std::string> coord_addr;        // --coord-addr IP
  std::optional<std::string> output_directory;  // --output-filename DIR
  bool output_to_terminal = true;               // false with --output-nocopy
  std::optional<BindTo> bind_to;                // --bind-to; nullopt: the default
  launch::MapBy map_by = launch::MapBy::slot;   // --map-by
  std::optional<int> per_host;                  // -N / --npernode
  bool report_bindings = false;                 // --report-bindings
  bool help = false;                            // --help / -h
  std::vector<std::string> program;             // the program and its arguments
};

// Parses argv[1..]; a bad flag or value is std::invalid_argument with a message for the user.
Options parse_options(const std::vector<std::string>& args);

// The text `hilorun --help` prints.
const char* usage_text();

}  // namespace hilo::hilorun
