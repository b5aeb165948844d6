// How a linearizability verdict is shown: a human explanation (for the terminal and test
// failure messages) and one JSON object (for `cairn-sim check-history --json`).
#pragma once

#include <string>

#include "sim/checkers/linearizability_checker.h"
#include "sim/json_writer.h"

namespace cairn::sim::linearizability {

// Why `operation` cannot be the next one from `state`: `reads "1", but the value is "3"`.
std::string placement_failure_reason(const Operation& operation, const Value& state);

// The violation, if any, as an indented multi-line explanation; empty when there is none.
std::string format_violation(const CheckResult& result);

// Writes the result's fields into the object `json` is currently inside. A nil value is left
// out, as in the JSON-lines history format.
void write_check_result_json(const CheckResult& result, JsonWriter& json);

}  // namespace cairn::sim::linearizability
