// Loading scenario files: protobuf text format, checked field by field. Every error names the
// file, the line and the field, e.g.
//   scenarios/x.textproto:14:5: faults.faults[2].rate.max: a probability must be within [0, 1]
// Fields a scenario leaves out get documented defaults (apply_defaults), so short scenario
// files stay readable.
#pragma once

#include <string>

#include "core/proto/scenario.pb.h"
#include "core/runtime/status.h"

namespace cairn::sim {

// Reads, parses, fills in defaults and validates. INVALID_ARGUMENT with every problem found, one
// per line; NOT_FOUND if the file cannot be read.
Result<proto::Scenario> load_scenario_file(const std::string& path);
// The same for text already in memory; `path` only names it in messages.
Result<proto::Scenario> parse_scenario(const std::string& text, const std::string& path);

// Defaults for fields the file left unset (latencies, disk model, workload sizes).
void apply_defaults(proto::Scenario& scenario);

// Server node ids of a scenario: 1..N in the order of its regions.
uint32_t server_count(const proto::Scenario& scenario);

// "acknowledged_writes_durable" for ACKNOWLEDGED_WRITES_DURABLE.
std::string check_name(proto::Check check);

}  // namespace cairn::sim
