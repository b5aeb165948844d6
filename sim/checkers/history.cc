// Names, descriptions and validation of history operations (see history.h).
#include "sim/checkers/history.h"

namespace cairn::sim::linearizability {
namespace {

std::string describe_time(int64_t time) { return time == kNeverCompleted ? "never" : std::to_string(time); }

// Where an operation came from, for error messages that point into the file.
std::string located(const Operation& operation, std::string_view message) {
  const std::string where =
      operation.source_line > 0 ? "line " + std::to_string(operation.source_line) : "operation";
  return where + ": " + std::string(message);
}

}  // namespace

std::string_view function_name(Function function) {
  switch (function) {
    case Function::kRead: return "read";
    case Function::kWrite: return "write";
    case Function::kCas: return "cas";
    case Function::kDelete: return "delete";
  }
  return "?";
}

std::string_view outcome_name(Outcome outcome) {
  switch (outcome) {
    case Outcome::kOk: return "ok";
    case Outcome::kFail: return "fail";
    case Outcome::kUnknown: return "unknown";
  }
  return "?";
}

std::optional<Function> parse_function_name(std::string_view name) {
  for (Function function : {Function::kRead, Function::kWrite, Function::kCas, Function::kDelete}) {
    if (function_name(function) == name) return function;
  }
  return std::nullopt;
}

std::string describe_value(const Value& value) {
  if (!value) return "nil";
  std::string quoted = "\"";
  for (char c : *value) {
    if (c == '"' || c == '\\') quoted += '\\';
    quoted += static_cast<unsigned char>(c) < 0x20 ? '?' : c;
  }
  return quoted + "\"";
}

std::string describe_operation(const Operation& operation) {
  std::string text = "process " + std::to_string(operation.process) + " ";
  if (!operation.key.empty()) text += "key " + describe_value(operation.key) + " ";
  text += function_name(operation.function);
  switch (operation.function) {
    case Function::kRead:
      text += operation.outcome == Outcome::kOk ? " -> " + describe_value(operation.value) : "";
      break;
    case Function::kWrite: text += " " + describe_value(operation.value); break;
    case Function::kCas:
      text += " " + describe_value(operation.expected) + " -> " + describe_value(operation.value);
      break;
    case Function::kDelete: break;
  }
  const bool completed = operation.outcome != Outcome::kUnknown && operation.complete_time != kNeverCompleted;
  text += " [" + describe_time(operation.invoke_time) + ", " +
          (completed ? describe_time(operation.complete_time) : std::string("never")) + "] ";
  text += outcome_name(operation.outcome);
  if (operation.source_line > 0) text += " (line " + std::to_string(operation.source_line) + ")";
  return text;
}

Status validate_history(const History& history) {
  for (const Operation& operation : history) {
    if (operation.invoke_time == kNeverCompleted) {
      return Status::invalid_argument(located(operation, "an operation must be invoked at a finite time"));
    }
    if (operation.outcome != Outcome::kUnknown && operation.complete_time < operation.invoke_time) {
      return Status::invalid_argument(located(operation, "the operation completes (" +
                                                             describe_time(operation.complete_time) +
                                                             ") before it is invoked (" +
                                                             describe_time(operation.invoke_time) + ")"));
    }
    if (operation.outcome != Outcome::kUnknown && operation.complete_time == kNeverCompleted) {
      return Status::invalid_argument(
          located(operation, std::string("an operation with outcome ") +
                                 std::string(outcome_name(operation.outcome)) + " must have a completion time"));
    }
    if (operation.function != Function::kCas && operation.expected) {
      return Status::invalid_argument(located(operation, "only a cas has an expected value"));
    }
    if (operation.function == Function::kDelete && operation.value) {
      return Status::invalid_argument(located(operation, "a delete carries no value"));
    }
  }
  return Status{};
}

}  // namespace cairn::sim::linearizability
