// Re-running a sweep's failing seeds to write their client histories (see failure_history.h).
#include "sim/failure_history.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <vector>

namespace cairn::sim {
namespace {

// What a re-run left behind for one failing seed of the sweep.
void note_rerun(SeedOutcome& failing, const SeedOutcome& rerun, const std::string& path) {
  if (rerun.crashed) {
    failing.history_note = "no history: the re-run crashed (" + rerun.detail + ")";
    return;
  }
  if (!rerun.failed_checks.empty() && rerun.failed_checks.front() == "setup") {
    failing.history_note = "no history: " + rerun.detail;
    return;
  }
  std::error_code error;
  if (!std::filesystem::exists(path, error)) {
    failing.history_note = "no history: the re-run wrote no file";
    return;
  }
  failing.history_path = path;
  // A seed is a pure function of (binary, scenario, seed): a re-run that differs means the
  // history shows another run than the one that failed, which the reader must know.
  if (rerun.ok) {
    failing.history_note = "the re-run passed: this seed did not replay its failure (nondeterminism?)";
  } else if (!failing.crashed && rerun.trace_hash != failing.trace_hash) {
    failing.history_note = "the re-run's trace hash " + rerun.trace_hash + " differs from the sweep's " +
                           failing.trace_hash + " (nondeterminism?)";
  }
}

}  // namespace

std::string file_name_stem(const std::string& scenario_name) {
  std::string name = scenario_name.empty() ? "scenario" : scenario_name;
  for (char& c : name) {
    const bool safe = std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '_' || c == '.';
    if (!safe) c = '-';
  }
  return name;
}

std::string failure_history_path(const std::string& directory, const std::string& scenario_name, uint64_t seed) {
  const std::string file = file_name_stem(scenario_name) + "-seed-" + std::to_string(seed) + ".history.jsonl";
  return directory.empty() ? file : (std::filesystem::path(directory) / file).string();
}

bool has_client_history(const proto::Scenario& scenario) {
  // Every workload with clients records their operations; the storage workload has none.
  return !scenario.workload().has_storage();
}

Status record_failure_histories(const proto::Scenario& scenario, const FailureHistoryOptions& options,
                                SweepResult& result) {
  std::vector<SeedOutcome*> failing;
  for (SeedOutcome& outcome : result.outcomes) {
    if (!outcome.ok) failing.push_back(&outcome);
  }
  if (failing.empty()) return {};
  if (!has_client_history(scenario)) {
    for (SeedOutcome* outcome : failing) outcome->history_note = "no history (storage workload)";
    return {};
  }
  std::error_code error;
  std::filesystem::create_directories(options.directory, error);
  if (error) {
    const Status status =
        Status::io_error("cannot create the failures directory '" + options.directory + "': " + error.message());
    for (SeedOutcome* outcome : failing) outcome->history_note = "no history: " + status.message();
    return status;
  }
  const std::size_t count = std::min(failing.size(), options.max_seeds);
  for (std::size_t i = count; i < failing.size(); ++i) {
    failing[i]->history_note =
        "no history: only the first " + std::to_string(options.max_seeds) + " failing seeds are re-run";
  }
  std::vector<std::string> paths;
  for (std::size_t i = 0; i < count; ++i) {
    paths.push_back(failure_history_path(options.directory, scenario.name(), failing[i]->seed));
  }
  auto request_at = [&](std::size_t index) {
    IsolatedRunRequest request{.seed = failing[index]->seed};
    request.options.history_path = paths[index];
    return request;
  };
  const std::vector<SeedOutcome> reruns =
      run_isolated_all(scenario, count, request_at, options.jobs,
                       IsolationLimits{.time_limit_seconds = options.seed_time_limit_seconds});
  // The runs that started are a prefix of the requests, and come back in request order.
  for (std::size_t i = 0; i < count; ++i) {
    if (i < reruns.size()) {
      note_rerun(*failing[i], reruns[i], paths[i]);
    } else {
      failing[i]->history_note = "no history: the re-run could not be started";
    }
  }
  return {};
}

}  // namespace cairn::sim
