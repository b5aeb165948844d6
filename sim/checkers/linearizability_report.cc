// Human and JSON presentations of a linearizability verdict (see linearizability_report.h).
#include "sim/checkers/linearizability_report.h"

#include <algorithm>

namespace cairn::sim::linearizability {
namespace {

// An explanation shows the end of the prefix, where the trouble is, not all of it.
constexpr std::size_t kPrefixTailShown = 8;
constexpr std::size_t kCandidatesShown = 16;
constexpr std::size_t kKeysShown = 10;

std::string quoted_keys(const std::vector<std::string>& keys, std::size_t skip) {
  std::string text;
  for (std::size_t i = skip; i < keys.size() && i < skip + kKeysShown; ++i) {
    text += (text.empty() ? "" : ", ") + describe_value(keys[i]);
  }
  if (keys.size() > skip + kKeysShown) text += ", ...";
  return text;
}

std::string describe_key(const std::string& key) { return key.empty() ? "the register" : "key " + describe_value(key); }

void write_value(JsonWriter& json, const char* name, const Value& value) {
  if (value) json.key(name).value(*value);
}

void write_operation_json(const Operation& operation, JsonWriter& json) {
  json.begin_object();
  json.key("process").value(operation.process);
  json.key("f").value(function_name(operation.function));
  if (!operation.key.empty()) json.key("key").value(operation.key);
  if (operation.function == Function::kCas) write_value(json, "expected", operation.expected);
  write_value(json, "value", operation.value);
  json.key("invoke").value(operation.invoke_time);
  if (operation.outcome != Outcome::kUnknown) json.key("complete").value(operation.complete_time);
  json.key("type").value(outcome_name(operation.outcome));
  if (operation.source_line > 0) json.key("line").value(operation.source_line);
  json.end_object();
}

void write_keys_json(const char* name, const std::vector<std::string>& keys, JsonWriter& json) {
  json.key(name).begin_array();
  for (const std::string& key : keys) json.value(key);
  json.end_array();
}

void write_violation_json(const Violation& violation, JsonWriter& json) {
  json.begin_object();
  json.key("key").value(violation.key);
  json.key("prefix_length").value(static_cast<uint64_t>(violation.prefix.size()));
  json.key("prefix_tail").begin_array();
  const std::size_t shown = std::min(violation.prefix.size(), kPrefixTailShown);
  for (std::size_t i = violation.prefix.size() - shown; i < violation.prefix.size(); ++i) {
    write_operation_json(violation.prefix[i], json);
  }
  json.end_array();
  write_value(json, "state_after_prefix", violation.state_after_prefix);
  json.key("could_not_place").begin_array();
  for (const Operation& operation : violation.could_not_place) {
    json.begin_object();
    json.key("operation");
    write_operation_json(operation, json);
    json.key("reason").value(placement_failure_reason(operation, violation.state_after_prefix));
    json.end_object();
  }
  json.end_array();
  json.key("must_precede");
  write_operation_json(violation.must_precede, json);
  json.end_object();
}

}  // namespace

std::string placement_failure_reason(const Operation& operation, const Value& state) {
  const std::string current = "the value is " + describe_value(state);
  switch (operation.function) {
    case Function::kRead: return "reads " + describe_value(operation.value) + ", but " + current;
    case Function::kCas: return "expects " + describe_value(operation.expected) + ", but " + current;
    case Function::kWrite:
    case Function::kDelete: break;
  }
  // Never for the longest prefix (a write always applies, and would have made it longer), but
  // the text stays truthful if someone asks about another state.
  return "fits, but every order that continues with it fails later";
}

std::string format_violation(const CheckResult& result) {
  if (!result.violation) return {};
  const Violation& violation = *result.violation;
  std::string text = "not linearizable: " + describe_key(violation.key);
  if (result.violating_keys.size() > 1) {
    text += " (also " + std::to_string(result.violating_keys.size() - 1) +
            " other key(s): " + quoted_keys(result.violating_keys, 1) + ")";
  }
  text += "\n  the longest linearizable prefix found has " + std::to_string(violation.prefix.size()) +
          " operation(s)";
  const std::size_t shown = std::min(violation.prefix.size(), kPrefixTailShown);
  text += shown < violation.prefix.size() ? "; its last " + std::to_string(shown) + ":\n" : (shown > 0 ? ":\n" : "\n");
  for (std::size_t i = violation.prefix.size() - shown; i < violation.prefix.size(); ++i) {
    text += "    " + describe_operation(violation.prefix[i]) + "\n";
  }
  text += "  after it the value is " + describe_value(violation.state_after_prefix) + "\n";
  text += "  none of the operations that real time allows next can be placed:\n";
  for (std::size_t i = 0; i < violation.could_not_place.size() && i < kCandidatesShown; ++i) {
    const Operation& operation = violation.could_not_place[i];
    text += "    " + describe_operation(operation) + ": " +
            placement_failure_reason(operation, violation.state_after_prefix) + "\n";
  }
  if (violation.could_not_place.size() > kCandidatesShown) {
    text += "    ... and " + std::to_string(violation.could_not_place.size() - kCandidatesShown) + " more\n";
  }
  text += "  the next operation must be one of these, since every other one was invoked after this one\n"
          "  completed, and this one had to take effect by then:\n    " +
          describe_operation(violation.must_precede) + "\n";
  return text;
}

void write_check_result_json(const CheckResult& result, JsonWriter& json) {
  json.key("verdict").value(verdict_name(result.verdict));
  json.key("operations").value(result.stats.operations);
  json.key("checked_operations").value(result.stats.checked_operations);
  json.key("dropped_failed").value(result.stats.dropped_failed);
  json.key("dropped_unknown_reads").value(result.stats.dropped_unknown_reads);
  json.key("dropped_unobserved_unknown").value(result.stats.dropped_unobserved_unknown);
  json.key("partitions").value(result.stats.partitions);
  json.key("states_explored").value(result.stats.states_explored);
  json.key("steps").value(result.stats.steps);
  write_keys_json("violating_keys", result.violating_keys, json);
  write_keys_json("undecided_keys", result.undecided_keys, json);
  if (result.violation) {
    json.key("violation");
    write_violation_json(*result.violation, json);
  }
}

}  // namespace cairn::sim::linearizability
