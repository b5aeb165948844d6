// `cairn-sim shrink`: the command line of the shrinker (sim/shrink.h). It shrinks a scenario
// while the given seed still fails the same way, writes the smallest failing scenario as a
// scenario file, checks that the file replays the failure, and prints the command that does.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>

namespace cairn::sim {

struct ShrinkFlags {
  std::string scenario_path;
  uint64_t seed = 0;
  std::string check;
  std::string out;  // empty: <scenario name>-seed-<N>-shrunk.textproto in the current directory
  unsigned max_runs = 200;
  unsigned run_time_limit = 600;
  bool json = false;
};

// Registers the subcommand and its options on `app`.
CLI::App* add_shrink_command(CLI::App& app, ShrinkFlags& flags);

// Exit status: 0 when a failing scenario was written (smaller, unless no reduction kept the
// failure), 1 when the seed does not fail (nothing to shrink) or the written file did not
// replay the failure, 2 for bad input.
int shrink_command(const ShrinkFlags& flags);

}  // namespace cairn::sim
