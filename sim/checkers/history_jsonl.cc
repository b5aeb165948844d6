// The JSON-lines history format: one completed operation per line (see history_file.h).
#include "sim/checkers/history_formats.h"
#include "sim/checkers/json_reader.h"

namespace cairn::sim::linearizability {
namespace {

using Kind = JsonValue::Kind;

Status field_error(std::string_view field, std::string_view message) {
  return Status::invalid_argument("field \"" + std::string(field) + "\" " + std::string(message));
}

Result<const JsonValue*> required(const JsonValue& object, std::string_view field, Kind kind) {
  const JsonValue* value = object.find(field);
  if (value == nullptr) return field_error(field, "is missing");
  if (value->kind != kind) {
    return field_error(field, "must be " + std::string(json_kind_name(kind)) + ", not " +
                                  std::string(json_kind_name(value->kind)));
  }
  return value;
}

template <typename T>
Result<T> integer_field(const JsonValue& object, std::string_view field) {
  CAIRN_ASSIGN_OR_RETURN(const JsonValue* value, required(object, field, Kind::kNumber));
  std::optional<T> number = parse_decimal<T>(value->text);
  if (!number) return field_error(field, "must be an integer in range, not " + value->text);
  return *number;
}

// null or absent is nil; strings, numbers and booleans are values, compared as text.
Result<Value> value_field(const JsonValue& object, std::string_view field) {
  const JsonValue* value = object.find(field);
  if (value == nullptr) return Value{};
  switch (value->kind) {
    case Kind::kNull: return Value{};
    case Kind::kString:
    case Kind::kNumber: return Value{value->text};
    case Kind::kBoolean: return Value{value->boolean ? "true" : "false"};
    case Kind::kArray:
    case Kind::kObject: break;
  }
  return field_error(field, "must be a string, a number or null, not " + std::string(json_kind_name(value->kind)));
}

Result<std::string> key_field(const JsonValue& object) {
  const JsonValue* key = object.find("key");
  if (key == nullptr || key->kind == Kind::kNull) return std::string();
  if (key->kind != Kind::kString && key->kind != Kind::kNumber) {
    return field_error("key", "must be a string or a number, not " + std::string(json_kind_name(key->kind)));
  }
  return key->text;
}

Result<Outcome> outcome_field(const JsonValue& object) {
  CAIRN_ASSIGN_OR_RETURN(const JsonValue* type, required(object, "type", Kind::kString));
  if (type->text == "ok") return Outcome::kOk;
  if (type->text == "fail") return Outcome::kFail;
  if (type->text == "unknown" || type->text == "info") return Outcome::kUnknown;
  return field_error("type", "must be \"ok\", \"fail\" or \"unknown\", not \"" + type->text + "\"");
}

Result<Operation> operation_from_object(const JsonValue& object) {
  if (object.kind != Kind::kObject) {
    return Status::invalid_argument("expected a JSON object, got " + std::string(json_kind_name(object.kind)));
  }
  Operation operation;
  CAIRN_ASSIGN_OR_RETURN(operation.process, integer_field<uint64_t>(object, "process"));
  CAIRN_ASSIGN_OR_RETURN(const JsonValue* function, required(object, "f", Kind::kString));
  std::optional<Function> parsed_function = parse_function_name(function->text);
  if (!parsed_function) return field_error("f", "must be read, write, cas or delete, not \"" + function->text + "\"");
  operation.function = *parsed_function;
  CAIRN_ASSIGN_OR_RETURN(operation.outcome, outcome_field(object));
  CAIRN_ASSIGN_OR_RETURN(operation.invoke_time, integer_field<int64_t>(object, "invoke_ns"));
  if (operation.outcome != Outcome::kUnknown) {
    CAIRN_ASSIGN_OR_RETURN(operation.complete_time, integer_field<int64_t>(object, "complete_ns"));
    if (operation.complete_time == kNeverCompleted) return field_error("complete_ns", "is out of range");
  }
  CAIRN_ASSIGN_OR_RETURN(operation.key, key_field(object));
  if (operation.function != Function::kDelete) {
    CAIRN_ASSIGN_OR_RETURN(operation.value, value_field(object, "value"));
  }
  if (operation.function == Function::kCas) {
    CAIRN_ASSIGN_OR_RETURN(operation.expected, value_field(object, "expected"));
  }
  return operation;
}

}  // namespace

Result<ParsedHistory> parse_json_lines_history(std::string_view text, const HistoryParseOptions& options) {
  ParsedHistory parsed;
  Status status = for_each_line(text, options.limits, [&](uint64_t number, std::string_view line) -> Status {
    const std::string where = "line " + std::to_string(number) + ": ";
    if (line.find_first_not_of(" \t") == std::string_view::npos) return Status{};
    if (parsed.operations.size() >= options.limits.max_operations) {
      return Status::resource_exhausted(where + "more than " + std::to_string(options.limits.max_operations) +
                                        " operations in one history");
    }
    Result<JsonValue> object = parse_json(line);
    if (!object.ok()) return Status::invalid_argument(where + object.status().message());
    Result<Operation> operation = operation_from_object(*object);
    if (!operation.ok()) return Status::invalid_argument(where + operation.status().message());
    operation->source_line = number;
    parsed.operations.push_back(std::move(*operation));
    return Status{};
  });
  if (!status.ok()) return status;
  return parsed;
}

}  // namespace cairn::sim::linearizability
