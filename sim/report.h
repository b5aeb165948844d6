// Rendering a RunReport: the human summary `cairn-sim run` prints by default, and the one-line
// JSON object it prints with --json. The JSON's fields are a contract:
//   {"scenario":…, "seed":…, "ok":bool, "trace_hash":"<16 hex>", "sim_seconds":…,
//    "wall_seconds":…, "events":…, "messages":…, "faults":{<kind>:count,…},
//    "ops":{"ok":…,"failed":…,"unknown":…}, "checks":{"<name>":"pass"|"fail"}}
// followed by extra fields (details of failures, network counters) that may grow.
#pragma once

#include <string>

#include "sim/scenario_runner.h"

namespace cairn::sim {

std::string format_human_report(const RunReport& report, const std::string& scenario_path);
std::string format_json_report(const RunReport& report);
// "build/bin/cairn-sim run scenarios/x.textproto --seed 7": the program as it was invoked
// (set_replay_program, from argv[0]; "cairn-sim" until then), so the line works where it ran.
std::string replay_command(const std::string& scenario_path, uint64_t seed);
void set_replay_program(const std::string& path);
const std::string& replay_program();

}  // namespace cairn::sim
