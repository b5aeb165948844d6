// Runs one scenario with one seed: builds the simulated cluster, runs the workload through the
// fault phase and the quiesce phase, checks the history, and reports. This is what
// `cairn-sim run` executes, and what every scenario test calls.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/proto/scenario.pb.h"
#include "core/runtime/logger.h"
#include "sim/checkers/register_checker.h"
#include "sim/sim_network.h"

namespace cairn::sim {

struct RunOptions {
  std::string trace_log_path;          // empty: no event log
  LogLevel log_level = LogLevel::kInfo; // node log lines in the event log from this level up
  std::string history_path;            // empty: no history file (JSON lines, one operation each)
  std::string perfetto_path;           // empty: no Perfetto (Chrome trace-event JSON) export
};

struct RunReport {
  std::string scenario;
  uint64_t seed = 0;
  bool ok = false;
  uint64_t trace_hash = 0;
  double sim_seconds = 0;
  double wall_seconds = 0;
  uint64_t events = 0;            // externally visible events folded into the trace hash
  uint64_t loop_events = 0;       // events the loop ran (timers, deliveries)
  uint64_t fiber_switches = 0;
  uint64_t messages = 0;          // messages sent
  NetworkStats network;
  std::map<std::string, uint64_t> faults;
  std::vector<std::string> enabled_faults;  // what this seed's swarm draw turned on
  uint64_t ops_ok = 0;
  uint64_t ops_failed = 0;
  uint64_t ops_unknown = 0;
  std::vector<CheckOutcome> checks;
  std::map<std::string, uint64_t> outcomes;  // workload-specific counters (storage workload)
  uint32_t servers = 0;
  uint32_t clients = 0;
  std::string client_kind;  // what the clients use: "register", "key-value" (empty: no clients)
  uint32_t regions = 0;
  std::map<std::string, uint64_t> knobs;          // raft_kv: the configuration this seed drew
  std::map<std::string, uint64_t> probes;         // coverage probes hit, by name
  std::map<std::string, uint64_t> buggify_fired;  // buggify sites that fired, by name
  uint64_t buggify_sites_reached = 0;             // distinct sites reached (fired or not)
  uint64_t buggify_sites_active = 0;              // of those, active for this seed
};

// Runs the scenario (already validated by the loader). Errors are setup failures only (an
// unwritable trace log); a failed check is a report with ok == false.
Result<RunReport> run_scenario(const proto::Scenario& scenario, uint64_t seed, const RunOptions& options);

}  // namespace cairn::sim
