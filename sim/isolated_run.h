// Isolated runs: one seed of a scenario run in a forked child process, so that a run that
// crashes the simulator (an assertion, a signal) or hangs becomes a reported outcome instead of
// taking the caller down. Sweeps run many at once; the shrinker and the sweep's re-runs of
// failing seeds (to write their histories) use the same machinery.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "core/proto/scenario.pb.h"
#include "core/runtime/status.h"
#include "sim/scenario_runner.h"

namespace cairn::sim {

struct SeedOutcome {
  uint64_t seed = 0;
  bool ok = false;
  bool crashed = false;                 // the run died (signal, unexpected exit, or time limit)
  std::string trace_hash = {};
  std::vector<std::string> failed_checks = {};
  std::string detail = {};              // first failure's explanation, or how it crashed
  std::map<std::string, std::string> failure_details = {};  // every failed check's explanation
  // The workload's outcome counters, "injected.<fault>", "probe.<name>" and "buggify.<site>"
  // counts (empty if the run crashed).
  std::map<std::string, uint64_t> counters = {};
  // Set by record_failure_histories (failure_history.h) for a failing seed of a sweep: the
  // client history file written, or why there is none.
  std::string history_path = {};
  std::string history_note = {};
};

// One seed to run in a child, with its options (a history file, a trace log).
struct IsolatedRunRequest {
  uint64_t seed = 0;
  RunOptions options = {};
};

// A child that used this many seconds of CPU time is stopped and reported as crashed: a hang or
// a livelock. CPU time, so that a loaded machine or a paused sweep cannot fake a hang; a child
// still running after four times as long in wall-clock time is stopped too. 0: no limit.
struct IsolationLimits {
  unsigned time_limit_seconds = 600;
};

// Runs one request in a child and waits for it. An error only if the child could not be started
// (fork or pipe failed); a crash is an outcome with crashed == true.
Result<SeedOutcome> run_isolated(const proto::Scenario& scenario, const IsolatedRunRequest& request,
                                 const IsolationLimits& limits);

// Runs `count` requests, each in its own child, up to `jobs` at once. Request i is built by
// `request_at(i)` only when its run starts, so a sweep over millions of seeds needs no list.
// `on_done` (optional) is called as each finishes, in completion order, with how many are done.
// Once `stop_after` (optional) returns true for a finished outcome, no further request starts;
// those already running finish. Requests start in order, so every request before a stopping one
// has run. Returns the outcomes of the requests that ran, in request order; if fork or pipe
// fails, the requests not yet started are left out.
std::vector<SeedOutcome> run_isolated_all(
    const proto::Scenario& scenario, std::size_t count,
    const std::function<IsolatedRunRequest(std::size_t index)>& request_at, unsigned jobs,
    const IsolationLimits& limits,
    const std::function<void(const SeedOutcome&, std::size_t done, std::size_t total)>& on_done = {},
    const std::function<bool(const SeedOutcome&)>& stop_after = {});

}  // namespace cairn::sim
