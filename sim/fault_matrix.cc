// Running and printing the storage fault matrix (see fault_matrix.h).
#include "sim/fault_matrix.h"

#include <cstdio>

#include "sim/fault_plan.h"

namespace cairn::sim {
namespace {

// The files the storage stack writes (see docs/storage.md).
const std::vector<std::string>& storage_files() {
  // "kv/" adds the engine directory's own syncs to both of its files.
  static const std::vector<std::string> files = {"wal/", "kv/data.db", "kv/data.db-journal", "kv/"};
  return files;
}

const std::vector<proto::FaultKind>& file_faults() {
  static const std::vector<proto::FaultKind> faults = {
      proto::DISK_TORN_WRITE, proto::DISK_READ_ERROR, proto::DISK_BIT_FLIP, proto::DISK_MISDIRECTED_WRITE,
      proto::DISK_FULL,       proto::DISK_SYNC_FAILURE};
  return faults;
}

const proto::Fault* find_fault(const proto::Scenario& scenario, proto::FaultKind kind) {
  for (const proto::Fault& fault : scenario.faults().faults()) {
    if (fault.kind() == kind) return &fault;
  }
  return nullptr;
}

// The scenario with only crashes and, if given, one fault aimed at one target.
proto::Scenario cell_scenario(const proto::Scenario& base, const proto::Fault& crash, const proto::Fault* fault) {
  proto::Scenario scenario = base;
  proto::FaultProfile& profile = *scenario.mutable_faults();
  profile.clear_faults();
  *profile.add_faults() = crash;
  if (fault != nullptr) *profile.add_faults() = *fault;
  return scenario;
}

proto::Fault aimed_fault(const proto::Scenario& base, proto::FaultKind kind, const std::string& target) {
  proto::Fault fault;
  if (const proto::Fault* listed = find_fault(base, kind)) fault = *listed;
  fault.set_kind(kind);
  fault.clear_enable_probability();
  fault.set_target_path(target);
  if (fault.rate().max() <= 0) {
    fault.mutable_rate()->set_min(kind == proto::DISK_TORN_WRITE ? 0.5 : 0.002);
    fault.mutable_rate()->set_max(kind == proto::DISK_TORN_WRITE ? 0.5 : 0.002);
  }
  return fault;
}

uint64_t sum_with_prefix(const std::map<std::string, uint64_t>& counters, const std::string& prefix) {
  uint64_t total = 0;
  for (const auto& [name, count] : counters) {
    if (name.starts_with(prefix)) total += count;
  }
  return total;
}

FaultMatrixCell run_cell(const proto::Scenario& scenario, std::string target, std::string fault_name,
                         const FaultMatrixOptions& options) {
  SweepOptions sweep;
  sweep.first_seed = options.first_seed;
  sweep.last_seed = options.last_seed;
  sweep.jobs = options.jobs;
  sweep.seed_time_limit_seconds = options.seed_time_limit_seconds;
  const SweepResult result = run_sweep(scenario, sweep);
  FaultMatrixCell cell;
  cell.scenario = scenario;
  cell.target = std::move(target);
  cell.fault = std::move(fault_name);
  for (const SeedOutcome& outcome : result.outcomes) {
    ++cell.seeds;
    const auto& counters = outcome.counters;
    const std::string injected_name = "injected." + cell.fault;
    cell.faults_injected += cell.fault == "lost_unsynced_write" ? sum_with_prefix(counters, "injected.node_crash")
                                                                : sum_with_prefix(counters, injected_name);
    const uint64_t surfaced = sum_with_prefix(counters, "write_errors") + sum_with_prefix(counters, "read_errors") +
                              sum_with_prefix(counters, "recoveries_refused") +
                              sum_with_prefix(counters, "torn_tails_reported");
    if (outcome.crashed) {
      ++cell.crashed;
    } else if (!outcome.ok) {
      ++cell.wrong;
    } else if (surfaced > 0) {
      ++cell.detected;
    } else {
      ++cell.clean;
    }
    if (!outcome.ok && cell.failures.size() < 5) {
      cell.failures.push_back("seed " + std::to_string(outcome.seed) + ": " + outcome.detail);
    }
  }
  return cell;
}

}  // namespace

Result<std::vector<FaultMatrixCell>> run_fault_matrix(const proto::Scenario& scenario, const FaultMatrixOptions& options) {
  if (!scenario.workload().has_storage()) return Status::invalid_argument("the fault matrix needs a storage workload");
  const proto::Fault* crash = find_fault(scenario, proto::NODE_CRASH);
  if (crash == nullptr) return Status::invalid_argument("the fault matrix needs NODE_CRASH among the scenario's faults");
  proto::Fault always_crash = *crash;
  always_crash.clear_enable_probability();

  std::vector<FaultMatrixCell> cells;
  // Losing unsynced writes is what every crash does to every file at once.
  cells.push_back(run_cell(cell_scenario(scenario, always_crash, nullptr), "", "lost_unsynced_write", options));
  for (proto::FaultKind kind : file_faults()) {
    for (const std::string& target : storage_files()) {
      const proto::Fault fault = aimed_fault(scenario, kind, target);
      cells.push_back(run_cell(cell_scenario(scenario, always_crash, &fault), target, fault_kind_name(kind), options));
    }
  }
  return cells;
}

std::string format_fault_matrix(const std::vector<FaultMatrixCell>& cells) {
  std::string text = "| file | fault | seeds | faults injected | clean | detected | wrong data | crashed |\n"
                     "|---|---|---:|---:|---:|---:|---:|---:|\n";
  FaultMatrixCell total;
  char line[512];
  for (const FaultMatrixCell& cell : cells) {
    std::snprintf(line, sizeof line, "| %s | %s | %llu | %llu | %llu | %llu | %llu | %llu |\n",
                  cell.target.empty() ? "every file" : cell.target.c_str(), cell.fault.c_str(),
                  static_cast<unsigned long long>(cell.seeds), static_cast<unsigned long long>(cell.faults_injected),
                  static_cast<unsigned long long>(cell.clean), static_cast<unsigned long long>(cell.detected),
                  static_cast<unsigned long long>(cell.wrong), static_cast<unsigned long long>(cell.crashed));
    text += line;
    total.seeds += cell.seeds;
    total.faults_injected += cell.faults_injected;
    total.clean += cell.clean;
    total.detected += cell.detected;
    total.wrong += cell.wrong;
    total.crashed += cell.crashed;
  }
  std::snprintf(line, sizeof line, "| **all** | | %llu | %llu | %llu | %llu | %llu | %llu |\n",
                static_cast<unsigned long long>(total.seeds), static_cast<unsigned long long>(total.faults_injected),
                static_cast<unsigned long long>(total.clean), static_cast<unsigned long long>(total.detected),
                static_cast<unsigned long long>(total.wrong), static_cast<unsigned long long>(total.crashed));
  text += line;
  return text;
}

}  // namespace cairn::sim
