// The generic history that the linearizability checker judges: completed operations on
// registers or on a map of registers, each with when it was invoked, when it completed, and
// whether it took effect (ok), certainly did not (fail), or may have (unknown: the client
// timed out or crashed). Every history file format (history_file.h) parses into this, so the
// checker never sees where a history came from.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/runtime/status.h"

namespace cairn::sim::linearizability {

enum class Function { kRead, kWrite, kCas, kDelete };

enum class Outcome {
  kOk,       // took effect, and a read returned `value`
  kFail,     // certainly did not take effect (a failed cas, a request refused before it started)
  kUnknown,  // may have taken effect at any time after its invoke, or never
};

// A register's content: nullopt is nil (never written, or deleted). Values compare as text, so
// the integer 5 and the string "5" are the same value; formats render values canonically.
using Value = std::optional<std::string>;

// Completion time of an operation that never completed: later than any other event.
inline constexpr int64_t kNeverCompleted = std::numeric_limits<int64_t>::max();

struct Operation {
  uint64_t process = 0;
  Function function = Function::kRead;
  std::string key = {};      // empty for single-register histories
  Value value = {};          // read: the value read; write: the value written; cas: the new value
  Value expected = {};       // cas: the value it compared against
  int64_t invoke_time = 0;   // nanoseconds or a position in the history; only the order matters
  int64_t complete_time = kNeverCompleted;
  Outcome outcome = Outcome::kOk;
  uint64_t source_line = 0;  // where the history file described it (0: not from a file)
};

using History = std::vector<Operation>;

std::string_view function_name(Function function);
std::string_view outcome_name(Outcome outcome);
std::optional<Function> parse_function_name(std::string_view name);

// "nil" or the value in double quotes.
std::string describe_value(const Value& value);

// One line for explanations: `process 3 cas "1" -> "2" [10, 25] ok (line 7)`.
std::string describe_operation(const Operation& operation);

// Checks what the checker relies on: an ok or failed operation completed no earlier than it was
// invoked; only a cas has an expected value (nil is a legal one); a delete has no value. Unknown
// operations may have any completion time (the checker treats it as never).
Status validate_history(const History& history);

}  // namespace cairn::sim::linearizability
