// The sequential specifications the linearizability checker compares histories against.
//
//   register       read, write
//   cas-register   read, write, cas (ok iff the current value equals the expected one)
//   kv             a map of independent cas-registers plus delete (the key becomes absent);
//                  a read of an absent key returns nil
//
// Every register starts nil. Histories are split per key before checking (P-compositionality:
// a history of independent objects is linearizable iff each object's sub-history is), so all
// three models reduce to one register per partition; they differ only in which functions they
// accept. Inside the search, values are interned to small integers so that a model state is a
// single number, cheap to compare and to remember.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "core/runtime/status.h"
#include "sim/checkers/history.h"

namespace cairn::sim::linearizability {

enum class ModelKind { kRegister, kCasRegister, kKeyValue };

std::string_view model_kind_name(ModelKind kind);  // "register", "cas-register", "kv"
std::optional<ModelKind> parse_model_kind(std::string_view name);

// Bad input (not a bug) when the history uses a function the model does not have.
Status check_functions_allowed(ModelKind kind, const History& history);

// A register's state with its value interned: kNilValue or an index into the partition's values.
using ValueId = uint32_t;
inline constexpr ValueId kNilValue = 0;

// One operation as the sequential specification sees it.
struct ModelOperation {
  Function function = Function::kRead;
  ValueId value = kNilValue;     // read: the value returned; write: written; cas: the new value
  ValueId expected = kNilValue;  // cas only
};

// The register's specification: the state after `operation` when applied to `state`, or nullopt
// when the operation could not have behaved as recorded from that state (a read returning
// another value, a successful cas whose expected value is not the current one).
std::optional<ValueId> apply_operation(ValueId state, const ModelOperation& operation);

}  // namespace cairn::sim::linearizability
