// Shrinking a failing run: given a scenario and a seed whose run fails, search for a smaller
// scenario whose run with the same seed still fails the same way (the same check, or the same
// crash), so that a bug found under twenty faults and six clients can be read in a run with two
// faults and one client. The seed stays fixed: it is what makes the run replay.
//
// The search is greedy: remove each fault, fewer clients, shorter fault and quiesce phases, lower
// fault rates, shorter fault episodes, no regression seeds; each reduction is kept only if the
// reduced scenario, run, still fails. Changing the scenario changes the random draws, so many
// reductions lose the failure; they are simply not kept. Rounds repeat until none of them keeps
// anything (a fixed point) or the run budget is spent. Every candidate runs in its own child
// process with a time limit (isolated_run.h), since a failing run may crash or hang.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/proto/scenario.pb.h"
#include "core/runtime/status.h"
#include "sim/isolated_run.h"

namespace cairn::sim {

// The measures a shrink reduces.
struct ScenarioSize {
  int faults = 0;
  uint32_t clients = 0;  // 0 for a workload without clients
  double duration_seconds = 0;
  double quiesce_seconds = 0;
  int regression_seeds = 0;
};

ScenarioSize scenario_size(const proto::Scenario& scenario);
// "10 faults, 6 clients, 20 s of faults + 8 s of quiesce"
std::string describe_size(const ScenarioSize& size);

// The number of clients of the scenario's workload, for the workload kinds that have clients:
// the one place a new kind of workload with clients is taught to the shrinker.
std::optional<uint32_t> workload_clients(const proto::Scenario& scenario);
// Sets it; false if the workload has no clients.
bool set_workload_clients(proto::Scenario& scenario, uint32_t clients);

struct ShrinkStep {
  unsigned run = 0;          // the candidate run that kept it, counted from 1
  std::string description;   // "remove fault NODE_WIPE", "duration_seconds 20 -> 10"
};

struct ShrinkResult;

struct ShrinkOptions {
  uint64_t seed = 0;
  // The check the shrunk run must still fail ("reads_see_acknowledged_writes"; any case). Empty:
  // the first failed check of the original run, or its crash if it crashed.
  std::string check = {};
  // Candidate runs at most (the original run not counted): each is a whole simulation.
  unsigned max_runs = 200;
  unsigned run_time_limit_seconds = 600;
  // Progress: after the original run, and at each kept reduction.
  std::function<void(const ShrinkResult&)> on_original = {};
  std::function<void(const ShrinkStep&)> on_step = {};
};

struct ShrinkResult {
  SeedOutcome original = {};
  bool original_failed = false;  // false: the run does not fail (as asked), nothing to shrink
  // What every kept scenario fails: a check name, or "crash: <how>" when the original crashed.
  std::string target = {};
  proto::Scenario scenario = {};  // the smallest failing scenario found (the input if none)
  SeedOutcome outcome = {};       // the run of `scenario`
  std::vector<ShrinkStep> steps = {};
  unsigned runs = 0;              // candidate runs made
  bool fixed_point = false;       // false: the run budget ran out first
};

// Errors: an invalid scenario, an unknown check name, or a run that could not be started.
Result<ShrinkResult> shrink_failing_run(const proto::Scenario& scenario, const ShrinkOptions& options);

// Whether a run's outcome is the failure `target` (as in ShrinkResult::target).
bool fails_like(const SeedOutcome& outcome, const std::string& target);

// The scenario in protobuf text format, as `cairn-sim run` loads it.
std::string scenario_text(const proto::Scenario& scenario);

}  // namespace cairn::sim
