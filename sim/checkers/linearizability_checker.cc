// Preparing, partitioning and judging a history (see linearizability_checker.h).
#include "sim/checkers/linearizability_checker.h"

#include <map>

#include "sim/checkers/linearization_search.h"

namespace cairn::sim::linearizability {
namespace {

constexpr std::size_t kMaxOperationsPerPartition = std::size_t{1} << 30;

// Gives every distinct value of a partition a small number; nil is kNilValue.
class ValueInterner {
 public:
  ValueId intern(const Value& value) {
    if (!value) return kNilValue;
    auto [position, inserted] = ids_.try_emplace(*value, static_cast<ValueId>(values_.size()));
    if (inserted) values_.push_back(value);
    return position->second;
  }
  const Value& value(ValueId id) const { return values_[id]; }

 private:
  std::map<std::string, ValueId> ids_;
  std::vector<Value> values_{Value{}};
};

// One key's operations ready for the search; `operations[i]` is what `search[i]` came from.
struct Partition {
  std::string key;
  std::vector<const Operation*> operations;
  std::vector<SearchOperation> search;
  ValueInterner values;
};

// Failed operations took no effect, and an unknown read showed nothing to anyone.
bool worth_searching(const Operation& operation, CheckStats& stats) {
  if (operation.outcome == Outcome::kFail) {
    ++stats.dropped_failed;
    return false;
  }
  if (operation.outcome == Outcome::kUnknown && operation.function == Function::kRead) {
    ++stats.dropped_unknown_reads;
    return false;
  }
  return true;
}

std::map<std::string, std::vector<const Operation*>> group_by_key(const History& history, CheckStats& stats) {
  std::map<std::string, std::vector<const Operation*>> groups;
  for (const Operation& operation : history) {
    if (worth_searching(operation, stats)) groups[operation.key].push_back(&operation);
  }
  return groups;
}

ModelOperation model_operation(const Operation& operation, ValueInterner& values) {
  return {.function = operation.function,
          .value = operation.function == Function::kDelete ? kNilValue : values.intern(operation.value),
          .expected = operation.function == Function::kCas ? values.intern(operation.expected) : kNilValue};
}

// Values some completed read returned or some cas compared against: the only values whose
// presence anything in the history depends on.
std::vector<bool> observed_values(const std::vector<ModelOperation>& model, const std::vector<const Operation*>& operations) {
  std::vector<bool> observed;
  auto mark = [&observed](ValueId id) {
    if (id >= observed.size()) observed.resize(id + 1, false);
    observed[id] = true;
  };
  for (std::size_t i = 0; i < model.size(); ++i) {
    if (model[i].function == Function::kRead && operations[i]->outcome == Outcome::kOk) mark(model[i].value);
    if (model[i].function == Function::kCas) mark(model[i].expected);
  }
  return observed;
}

Partition prepare_partition(const std::string& key, const std::vector<const Operation*>& operations,
                            CheckStats& stats) {
  Partition partition;
  partition.key = key;
  std::vector<ModelOperation> model;
  model.reserve(operations.size());
  for (const Operation* operation : operations) model.push_back(model_operation(*operation, partition.values));
  const std::vector<bool> observed = observed_values(model, operations);
  for (std::size_t i = 0; i < operations.size(); ++i) {
    const Operation& operation = *operations[i];
    const bool unknown = operation.outcome == Outcome::kUnknown;
    if (unknown) {
      const ValueId result = model[i].function == Function::kDelete ? kNilValue : model[i].value;
      if (result >= observed.size() || !observed[result]) {
        ++stats.dropped_unobserved_unknown;
        continue;
      }
      ++stats.unknown_operations;
    }
    partition.operations.push_back(&operation);
    partition.search.push_back({.invoke_time = operation.invoke_time,
                                .complete_time = unknown ? kNeverCompleted : operation.complete_time,
                                .operation = model[i]});
  }
  stats.checked_operations += partition.search.size();
  return partition;
}

Violation explain(const Partition& partition, const SearchOutcome& outcome) {
  Violation violation;
  violation.key = partition.key;
  ValueId state = kNilValue;
  for (uint32_t index : outcome.linearization) {
    violation.prefix.push_back(*partition.operations[index]);
    const std::optional<ValueId> next = apply_operation(state, partition.search[index].operation);
    CAIRN_ASSERT(next.has_value(), "the longest prefix must be a legal sequence");
    state = *next;
  }
  violation.state_after_prefix = partition.values.value(state);
  for (uint32_t index : outcome.next_candidates) violation.could_not_place.push_back(*partition.operations[index]);
  violation.must_precede = *partition.operations[outcome.first_unplaced_return];
  return violation;
}

void record_search(const Partition& partition, const SearchOutcome& outcome, CheckResult& result) {
  result.stats.states_explored += outcome.states_explored;
  result.stats.steps += outcome.steps;
  result.stats.largest_partition_states = std::max(result.stats.largest_partition_states, outcome.states_explored);
  switch (outcome.verdict) {
    case SearchVerdict::kLinearizable: break;
    case SearchVerdict::kNotLinearizable:
      if (!result.violation) result.violation = explain(partition, outcome);
      result.violating_keys.push_back(partition.key);
      break;
    case SearchVerdict::kBudgetExhausted: result.undecided_keys.push_back(partition.key); break;
  }
}

}  // namespace

std::string_view verdict_name(Verdict verdict) {
  switch (verdict) {
    case Verdict::kLinearizable: return "linearizable";
    case Verdict::kNotLinearizable: return "not_linearizable";
    case Verdict::kUnknown: return "unknown";
  }
  return "?";
}

Result<CheckResult> check_linearizability(const History& history, ModelKind model, const CheckOptions& options) {
  CAIRN_RETURN_IF_ERROR(validate_history(history));
  CAIRN_RETURN_IF_ERROR(check_functions_allowed(model, history));
  CheckResult result;
  result.stats.operations = history.size();
  const auto groups = group_by_key(history, result.stats);
  for (const auto& [key, operations] : groups) {
    if (operations.size() >= kMaxOperationsPerPartition) {
      return Status::invalid_argument("key " + describe_value(key) + " has " + std::to_string(operations.size()) +
                                      " operations; at most 2^30 per key can be checked");
    }
    const Partition partition = prepare_partition(key, operations, result.stats);
    ++result.stats.partitions;
    record_search(partition, search_linearization(partition.search, options.max_states_per_partition), result);
  }
  result.verdict = !result.violating_keys.empty()  ? Verdict::kNotLinearizable
                   : !result.undecided_keys.empty() ? Verdict::kUnknown
                                                    : Verdict::kLinearizable;
  return result;
}

}  // namespace cairn::sim::linearizability
