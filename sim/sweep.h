// Sweeps: one scenario over a range of seeds, each seed in its own forked process (so a seed
// that crashes the simulator is reported as a failure with its replay command instead of
// taking the sweep down), up to `jobs` at a time.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/proto/scenario.pb.h"
#include "sim/isolated_run.h"

namespace cairn::sim {

struct SweepResult {
  std::vector<SeedOutcome> outcomes;    // in seed order
  double wall_seconds = 0;
  std::size_t failed() const;
  // The lowest failing seed, if any failed.
  std::optional<uint64_t> first_failing_seed() const;
};

struct SweepOptions {
  uint64_t first_seed = 1;
  uint64_t last_seed = 1;
  unsigned jobs = 1;
  // A seed still running after this many wall-clock seconds is killed and reported as a failure
  // (a hang or livelock), so one bad seed cannot stall a sweep.
  unsigned seed_time_limit_seconds = 600;
  // Start no further seed once one has failed (seeds start in order, so the lowest failing seed
  // of the range is still found): how a mutant's seeds-to-first-failure is measured.
  bool stop_at_first_failure = false;
  // Called after each seed finishes (in completion order), with how many are done.
  std::function<void(const SeedOutcome&, std::size_t done, std::size_t total)> on_progress = {};
};

SweepResult run_sweep(const proto::Scenario& scenario, const SweepOptions& options);

// Parses "A..B" (A <= B) or a single seed "A".
bool parse_seed_range(const std::string& text, uint64_t& first, uint64_t& last);

// "fresh:N": N seeds from a base that changes on every call (drawn from the wall clock and the
// process id), for CI sweeps that explore new seeds on every run while each failure still
// replays by its seed. Sets `count`; false if the text is not of this form.
bool parse_fresh_seed_count(const std::string& text, uint64_t& count);
// The first seed of a fresh range: in [1e6, 2^40), never the fixed low seeds of regressions.
uint64_t draw_fresh_seed_base();

}  // namespace cairn::sim
