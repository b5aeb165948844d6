// `cairn-sim check-history`: reads a history file (JSON lines, a Jepsen log or Jepsen EDN) and
// checks it for linearizability against a register, cas-register or kv model. Exit status: 0
// linearizable, 1 not linearizable (with the explanation), 2 unknown (the search budget ran
// out) or bad input.
#pragma once

#include <cstdint>
#include <string>

#include "sim/checkers/linearizability_checker.h"

namespace CLI {
class App;
}

namespace cairn::sim {

struct CheckHistoryFlags {
  std::string path;
  std::string model;
  std::string format = "auto";
  bool json = false;
  uint64_t max_states = linearizability::kDefaultMaxStatesPerPartition;
};

// Adds the subcommand and its options to `app`; `flags` receives them when it is parsed.
CLI::App* add_check_history_command(CLI::App& app, CheckHistoryFlags& flags);

// Runs the check and prints the outcome; returns the exit status.
int run_check_history_command(const CheckHistoryFlags& flags);

}  // namespace cairn::sim
