// The greedy search for a smaller failing scenario (see shrink.h).
#include "sim/shrink.h"

#include <google/protobuf/text_format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>

#include "sim/scenario_loader.h"

namespace cairn::sim {
namespace {

constexpr const char* kCrashPrefix = "crash: ";
// Phases are shortened in tenths of a second: finer steps cost runs and buy nothing readable.
constexpr double kSecondsGranularity = 0.1;
// Rates are halved down to this; below it, removing the fault is the clearer reduction.
constexpr double kSmallestRate = 1e-6;
// Episodes last at least a millisecond (the scenario loader's bound).
constexpr double kShortestEpisodeMs = 1;

std::string number(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%g", value);
  return buffer;
}

std::string range_text(const proto::Range& range) { return "[" + number(range.min()) + ", " + number(range.max()) + "]"; }

// Candidates go through the text format and the loader, so a kept scenario is exactly what the
// written file will load as, and a reduction the loader rejects is never run.
Result<proto::Scenario> normalize(const proto::Scenario& scenario) {
  return parse_scenario(scenario_text(scenario), "<shrink candidate>");
}

Result<std::string> parse_check_name(const std::string& name) {
  std::string upper = name;
  std::transform(upper.begin(), upper.end(), upper.begin(), [](unsigned char c) { return std::toupper(c); });
  proto::Check check = proto::CHECK_UNSPECIFIED;
  if (!proto::Check_Parse(upper, &check) || check == proto::CHECK_UNSPECIFIED) {
    return Status::invalid_argument("unknown check '" + name + "' (for example reads_see_acknowledged_writes)");
  }
  return check_name(check);
}

// The failure to keep: the asked check if the original fails it, else the original's first failure.
std::string choose_target(const SeedOutcome& original, const std::string& asked_check) {
  if (!asked_check.empty()) return fails_like(original, asked_check) ? asked_check : "";
  if (original.crashed) return kCrashPrefix + original.detail;
  return original.failed_checks.empty() ? "" : original.failed_checks.front();
}

// The state of one search: the smallest failing scenario so far and the run budget.
class Search {
 public:
  Search(const ShrinkOptions& options, ShrinkResult& result) : options_(options), result_(result) {}

  bool budget_left() const { return error_.ok() && result_.runs < options_.max_runs; }
  const proto::Scenario& current() const { return result_.scenario; }
  const std::string& target() const { return result_.target; }
  const Status& error() const { return error_; }

  // Runs the candidate and keeps it if it still fails like the target. False, without a run, for
  // a candidate that is invalid or no different.
  bool try_candidate(const proto::Scenario& candidate, const std::string& description) {
    if (!budget_left()) return false;
    Result<proto::Scenario> normalized = normalize(candidate);
    if (!normalized.ok() || scenario_text(*normalized) == scenario_text(current())) return false;
    ++result_.runs;
    Result<SeedOutcome> outcome = run_isolated(*normalized, IsolatedRunRequest{.seed = options_.seed},
                                               IsolationLimits{.time_limit_seconds = options_.run_time_limit_seconds});
    if (!outcome.ok()) {
      error_ = outcome.status();
      return false;
    }
    if (!fails_like(*outcome, target())) return false;
    result_.scenario = std::move(*normalized);
    result_.outcome = std::move(*outcome);
    result_.steps.push_back(ShrinkStep{.run = result_.runs, .description = description});
    if (options_.on_step) options_.on_step(result_.steps.back());
    return true;
  }

 private:
  const ShrinkOptions& options_;
  ShrinkResult& result_;
  Status error_;
};

bool drop_regression_seeds(Search& search) {
  const int seeds = search.current().regression_seeds_size();
  if (seeds == 0) return false;
  proto::Scenario candidate = search.current();
  candidate.clear_regression_seeds();
  return search.try_candidate(candidate, "drop " + std::to_string(seeds) + " regression_seeds");
}

bool remove_faults(Search& search) {
  bool progress = false;
  for (int i = 0; i < search.current().faults().faults_size() && search.budget_left();) {
    proto::Scenario candidate = search.current();
    auto* faults = candidate.mutable_faults()->mutable_faults();
    const std::string kind = proto::FaultKind_Name(faults->Get(i).kind());
    faults->erase(faults->begin() + i);
    if (search.try_candidate(candidate, "remove fault " + kind)) {
      progress = true;  // the next fault has moved to index i
    } else {
      ++i;
    }
  }
  return progress;
}

// Halving first takes big steps while they keep the failure; one fewer finds the last ones.
bool reduce_clients(Search& search) {
  bool progress = false;
  while (search.budget_left()) {
    const std::optional<uint32_t> clients = workload_clients(search.current());
    if (!clients || *clients <= 1) break;
    std::vector<uint32_t> counts = {*clients / 2};
    if (*clients - 1 != counts.front()) counts.push_back(*clients - 1);
    bool kept = false;
    for (uint32_t fewer : counts) {
      if (kept) break;
      proto::Scenario candidate = search.current();
      set_workload_clients(candidate, fewer);
      kept = search.try_candidate(candidate, "clients " + std::to_string(*clients) + " -> " + std::to_string(fewer));
    }
    if (!kept) break;
    progress = true;
  }
  return progress;
}

struct SecondsField {
  const char* name;
  double minimum;
  double (proto::Scenario::*get)() const;
  void (proto::Scenario::*set)(double);
};

// Halve, and after a miss try half the cut, down to the granularity.
bool shorten_seconds(Search& search, const SecondsField& field) {
  bool progress = false;
  double value = (search.current().*field.get)();
  double cut = value / 2;
  while (search.budget_left() && cut >= kSecondsGranularity) {
    const double rounded = std::floor((value - cut) / kSecondsGranularity + 1e-9) * kSecondsGranularity;
    const double shorter = std::max(rounded, field.minimum);
    if (shorter >= value) break;
    proto::Scenario candidate = search.current();
    (candidate.*field.set)(shorter);
    if (search.try_candidate(candidate, std::string(field.name) + " " + number(value) + " -> " + number(shorter))) {
      progress = true;
      value = (search.current().*field.get)();
      cut = value / 2;
    } else {
      cut /= 2;
    }
  }
  return progress;
}

bool shorten_phases(Search& search) {
  bool progress = shorten_seconds(search, {"duration_seconds", kSecondsGranularity, &proto::Scenario::duration_seconds,
                                           &proto::Scenario::set_duration_seconds});
  // Liveness is judged in the quiesce phase: shortening it could make a liveness failure an
  // artifact of the shrink (no time left to recover) instead of the bug that was found.
  if (search.target() != check_name(proto::LIVENESS)) {
    progress |= shorten_seconds(search, {"quiesce_seconds", 0, &proto::Scenario::quiesce_seconds,
                                         &proto::Scenario::set_quiesce_seconds});
  }
  return progress;
}

// Repeatedly applies `reduce` to each fault's range `field` (rate or duration_ms) while the
// failure stays; `reduce` returns false when the range is as small as it gets.
bool reduce_fault_ranges(Search& search, const char* field_name, proto::Range* (proto::Fault::*field)(),
                         bool (*reduce)(proto::Range&)) {
  bool progress = false;
  for (int i = 0; i < search.current().faults().faults_size() && search.budget_left(); ++i) {
    while (search.budget_left()) {
      proto::Scenario candidate = search.current();
      proto::Fault* fault = candidate.mutable_faults()->mutable_faults(i);
      proto::Range* range = (fault->*field)();
      const std::string before = range_text(*range);
      if (!reduce(*range)) break;
      const std::string description =
          proto::FaultKind_Name(fault->kind()) + " " + field_name + " " + before + " -> " + range_text(*range);
      if (!search.try_candidate(candidate, description)) break;
      progress = true;
    }
  }
  return progress;
}

bool halve_rate(proto::Range& rate) {
  if (rate.max() < 2 * kSmallestRate) return false;
  rate.set_min(rate.min() / 2);
  rate.set_max(rate.max() / 2);
  return true;
}

bool halve_episode(proto::Range& duration) {
  if (duration.max() <= kShortestEpisodeMs) return false;  // not an episode fault, or as short as it gets
  const double shorter_min = std::max(kShortestEpisodeMs, duration.min() / 2);
  duration.set_min(shorter_min);
  duration.set_max(std::max(shorter_min, duration.max() / 2));
  return true;
}

// One pass of every reduction, biggest effect first; true if any was kept.
bool shrink_round(Search& search) {
  bool progress = drop_regression_seeds(search);
  progress |= remove_faults(search);
  progress |= reduce_clients(search);
  progress |= shorten_phases(search);
  progress |= reduce_fault_ranges(search, "rate", &proto::Fault::mutable_rate, &halve_rate);
  progress |= reduce_fault_ranges(search, "duration_ms", &proto::Fault::mutable_duration_ms, &halve_episode);
  return progress;
}

}  // namespace

ScenarioSize scenario_size(const proto::Scenario& scenario) {
  return ScenarioSize{.faults = scenario.faults().faults_size(),
                      .clients = workload_clients(scenario).value_or(0),
                      .duration_seconds = scenario.duration_seconds(),
                      .quiesce_seconds = scenario.quiesce_seconds(),
                      .regression_seeds = scenario.regression_seeds_size()};
}

std::string describe_size(const ScenarioSize& size) {
  return std::to_string(size.faults) + " faults, " + std::to_string(size.clients) + " clients, " +
         number(size.duration_seconds) + " s of faults + " + number(size.quiesce_seconds) + " s of quiesce";
}

std::optional<uint32_t> workload_clients(const proto::Scenario& scenario) {
  switch (scenario.workload().kind_case()) {
    case proto::Workload::kRegister:
      return scenario.workload().register_().clients();
    case proto::Workload::kRaftKv:
      return scenario.workload().raft_kv().clients();
    default:
      return std::nullopt;  // the storage workload has no clients
  }
}

bool set_workload_clients(proto::Scenario& scenario, uint32_t clients) {
  switch (scenario.workload().kind_case()) {
    case proto::Workload::kRegister:
      scenario.mutable_workload()->mutable_register_()->set_clients(clients);
      return true;
    case proto::Workload::kRaftKv:
      scenario.mutable_workload()->mutable_raft_kv()->set_clients(clients);
      return true;
    default:
      return false;
  }
}

bool fails_like(const SeedOutcome& outcome, const std::string& target) {
  if (target.starts_with(kCrashPrefix)) return outcome.crashed && kCrashPrefix + outcome.detail == target;
  return !outcome.crashed &&
         std::find(outcome.failed_checks.begin(), outcome.failed_checks.end(), target) != outcome.failed_checks.end();
}

std::string scenario_text(const proto::Scenario& scenario) {
  std::string text;
  google::protobuf::TextFormat::PrintToString(scenario, &text);
  return text;
}

Result<ShrinkResult> shrink_failing_run(const proto::Scenario& scenario, const ShrinkOptions& options) {
  std::string asked_check;
  if (!options.check.empty()) {
    Result<std::string> check = parse_check_name(options.check);
    if (!check.ok()) return check.status();
    asked_check = *check;
  }
  Result<proto::Scenario> original = normalize(scenario);
  if (!original.ok()) return original.status();
  const IsolationLimits limits{.time_limit_seconds = options.run_time_limit_seconds};
  Result<SeedOutcome> outcome = run_isolated(*original, IsolatedRunRequest{.seed = options.seed}, limits);
  if (!outcome.ok()) return outcome.status();

  ShrinkResult result;
  result.original = *outcome;
  result.outcome = *outcome;
  result.scenario = *original;
  result.target = choose_target(*outcome, asked_check);
  result.original_failed = !result.target.empty();
  if (options.on_original) options.on_original(result);
  if (!result.original_failed) return result;

  Search search(options, result);
  while (search.budget_left()) {
    if (!shrink_round(search)) {
      // A round that kept nothing is a fixed point only if the budget did not cut it short.
      result.fixed_point = search.budget_left();
      break;
    }
  }
  if (!search.error().ok()) return search.error();
  return result;
}

}  // namespace cairn::sim
