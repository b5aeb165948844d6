// The jepsen-log history format: the operation lines of a Jepsen log (see history_file.h).
#include "sim/checkers/history_formats.h"
#include "sim/checkers/jepsen_events.h"

namespace cairn::sim::linearizability {
namespace {

bool is_blank(char c) { return c == ' ' || c == '\t'; }

std::string_view next_field(std::string_view& text) {
  while (!text.empty() && is_blank(text.front())) text.remove_prefix(1);
  std::size_t end = 0;
  while (end < text.size() && !is_blank(text[end])) ++end;
  const std::string_view field = text.substr(0, end);
  text.remove_prefix(end);
  return field;
}

bool is_number(std::string_view text) {
  if (text.empty()) return false;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

bool is_keyword(std::string_view text) { return text.size() > 1 && text.front() == ':'; }

// The text after the logger's prefix ("INFO  jepsen.util - ", "... jepsen.util: "), or all of it.
std::string_view after_prefix(std::string_view line) {
  for (std::string_view marker : {std::string_view("jepsen.util - "), std::string_view("jepsen.util: ")}) {
    const std::size_t found = line.find(marker);
    if (found != std::string_view::npos) return line.substr(found + marker.size());
  }
  return line;
}

// Jepsen separates the value from an :info's error with a tab; with spaces only, the EDN
// reader stops after the first form anyway.
std::string_view value_column(std::string_view rest) {
  while (!rest.empty() && is_blank(rest.front())) rest.remove_prefix(1);
  return rest.substr(0, rest.find('\t'));
}

Result<HistoryEvent> event_from_line(uint64_t number, const JepsenLogLine& fields, bool key_value_tuples) {
  const std::string where = "line " + std::to_string(number) + ": ";
  HistoryEvent event;
  event.line = number;
  std::optional<uint64_t> process = parse_decimal<uint64_t>(fields.process);
  if (!process) return Status::invalid_argument(where + "process number out of range");
  event.process = *process;
  event.type = *parse_event_type(fields.type);
  std::optional<Function> function =
      is_keyword(fields.function) ? parse_function_name(fields.function.substr(1)) : std::nullopt;
  if (!function) {
    return Status::invalid_argument(where + "unsupported operation '" + std::string(fields.function.substr(0, 40)) +
                                    "' (expected :read, :write, :cas or :delete)");
  }
  event.function = *function;
  EdnReader reader(value_column(fields.value), number);
  CAIRN_ASSIGN_OR_RETURN(std::optional<EdnValue> value, reader.next());
  CAIRN_RETURN_IF_ERROR(read_event_value(value ? &*value : nullptr, key_value_tuples, event));
  return event;
}

}  // namespace

JepsenLogLine split_jepsen_log_line(std::string_view line) {
  std::string_view rest = after_prefix(line);
  JepsenLogLine fields;
  fields.process = next_field(rest);
  const std::string_view type = next_field(rest);
  fields.is_operation = (is_number(fields.process) || is_keyword(fields.process)) && is_keyword(type) &&
                        parse_event_type(type.substr(1)).has_value();
  if (!fields.is_operation) return fields;
  fields.type = type.substr(1);
  fields.function = next_field(rest);
  fields.value = rest;
  return fields;
}

Result<ParsedHistory> parse_jepsen_log_history(std::string_view text, const HistoryParseOptions& options) {
  ParsedHistory parsed;
  EventPairing pairing(options.limits.max_operations);
  uint64_t events = 0;
  Status status = for_each_line(text, options.limits, [&](uint64_t number, std::string_view line) -> Status {
    const JepsenLogLine fields = split_jepsen_log_line(line);
    if (!fields.is_operation) {
      if (line.find_first_not_of(" \t") != std::string_view::npos) ++parsed.skipped_lines;
      return Status{};
    }
    ++events;
    if (!is_number(fields.process)) {
      ++parsed.nemesis_events;
      return Status{};
    }
    CAIRN_ASSIGN_OR_RETURN(HistoryEvent event, event_from_line(number, fields, options.key_value_tuples));
    return pairing.add(event);
  });
  if (!status.ok()) return status;
  if (events == 0 && parsed.skipped_lines > 0) {
    return Status::invalid_argument("no Jepsen operation lines (\"<process> :invoke :read nil\") among " +
                                    std::to_string(parsed.skipped_lines) + " lines");
  }
  parsed.superseded_invocations = pairing.superseded_invocations();
  parsed.operations = std::move(pairing).finish();
  return parsed;
}

}  // namespace cairn::sim::linearizability
