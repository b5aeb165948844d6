// JSON-lines histories, written (history_writer.h).
#include "sim/checkers/history_writer.h"

#include <fstream>

#include "sim/json_writer.h"

namespace cairn::sim::linearizability {
namespace {

void write_value(JsonWriter& json, std::string_view name, const Value& value) {
  json.key(name);
  if (value) {
    json.value(*value);
  } else {
    json.null_value();
  }
}

}  // namespace

std::string format_json_lines(const History& history) {
  std::string text;
  for (const Operation& operation : history) {
    JsonWriter json;
    json.begin_object();
    json.key("process").value(operation.process);
    json.key("f").value(function_name(operation.function));
    if (!operation.key.empty()) json.key("key").value(operation.key);
    if (operation.function != Function::kDelete) write_value(json, "value", operation.value);
    if (operation.function == Function::kCas) write_value(json, "expected", operation.expected);
    json.key("invoke_ns").value(operation.invoke_time);
    json.key("complete_ns").value(operation.complete_time == kNeverCompleted ? int64_t{-1} : operation.complete_time);
    json.key("type").value(outcome_name(operation.outcome));
    json.end_object();
    text += json.text();
    text += '\n';
  }
  return text;
}

Status write_json_lines_file(const std::string& path, const History& history) {
  std::ofstream out(path);
  if (!out) return Status::io_error("cannot write the history file '" + path + "'");
  out << format_json_lines(history);
  return out.good() ? Status{} : Status::io_error("error writing the history file '" + path + "'");
}

}  // namespace cairn::sim::linearizability
