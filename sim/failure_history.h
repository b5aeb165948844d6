// Histories of a sweep's failing seeds: after the sweep, each failing seed is run again (in a
// child process, as the sweep ran it) with its client history written to a file, so that a
// violation found by a sweep comes with the operations that show it, not only a replay command.
#pragma once

#include <cstddef>
#include <string>

#include "core/proto/scenario.pb.h"
#include "core/runtime/status.h"
#include "sim/sweep.h"

namespace cairn::sim {

struct FailureHistoryOptions {
  std::string directory = "sweep-failures";  // created if missing
  // Re-running is as slow as the sweep's own runs: only this many failing seeds (the lowest) get
  // a history; the others say so in their note.
  std::size_t max_seeds = 20;
  unsigned jobs = 1;
  unsigned seed_time_limit_seconds = 600;
};

// The scenario's name with every character but letters, digits, '-', '_' and '.' replaced by '-'
// ("scenario" if empty), to start the names of files written for it.
std::string file_name_stem(const std::string& scenario_name);

// `<directory>/<file_name_stem(scenario name)>-seed-<seed>.history.jsonl`.
std::string failure_history_path(const std::string& directory, const std::string& scenario_name, uint64_t seed);

// Whether runs of this scenario record a client history (the storage workload has no clients).
bool has_client_history(const proto::Scenario& scenario);

// Re-runs the failing seeds of `result` and sets each one's history_path (the file written) or
// history_note (why there is none: a storage workload, a crash, the limit). An error only if the
// directory cannot be created; the seeds then carry that error as their note.
Status record_failure_histories(const proto::Scenario& scenario, const FailureHistoryOptions& options,
                                SweepResult& result);

}  // namespace cairn::sim
