// Jepsen events and their pairing into operations (see jepsen_events.h).
#include "sim/checkers/jepsen_events.h"

namespace cairn::sim::linearizability {
namespace {

std::string at_line(uint64_t line) { return "line " + std::to_string(line) + ": "; }

bool is_pair(const EdnValue* value) {
  return value != nullptr && (value->kind == EdnValue::Kind::kVector || value->kind == EdnValue::Kind::kList) &&
         value->items.size() == 2;
}

std::string shown(const EdnValue* value) {
  std::string text = value == nullptr ? "nil" : edn_text(*value);
  return text.size() > 60 ? text.substr(0, 57) + "..." : text;
}

// The values an event must carry: what a read returned, what a write or cas tried.
bool needs_value(const HistoryEvent& event) {
  if (event.function == Function::kRead) return event.type == EventType::kOk;
  return event.type == EventType::kInvoke && event.function != Function::kDelete;
}

std::string_view type_name(EventType type) {
  switch (type) {
    case EventType::kInvoke: return ":invoke";
    case EventType::kOk: return ":ok";
    case EventType::kFail: return ":fail";
    case EventType::kInfo: return ":info";
  }
  return "?";
}

}  // namespace

std::optional<EventType> parse_event_type(std::string_view name) {
  if (name == "invoke") return EventType::kInvoke;
  if (name == "ok") return EventType::kOk;
  if (name == "fail") return EventType::kFail;
  if (name == "info") return EventType::kInfo;
  return std::nullopt;
}

Value history_value(const EdnValue& value) {
  switch (value.kind) {
    case EdnValue::Kind::kNil: return std::nullopt;
    case EdnValue::Kind::kString:
    case EdnValue::Kind::kInteger: return value.text;
    default: return edn_text(value);
  }
}

Status read_event_value(const EdnValue* value, bool key_value_tuples, HistoryEvent& event) {
  const bool needed = needs_value(event);
  if (key_value_tuples && !event.key) {
    if (is_pair(value)) {
      if (value->items[0].kind == EdnValue::Kind::kNil) return Status::invalid_argument(at_line(event.line) + "a key cannot be nil");
      event.key = history_value(value->items[0]).value_or("");
      value = &value->items[1];
    } else if (needed || event.type == EventType::kInvoke) {
      return Status::invalid_argument(at_line(event.line) + "expected a [key value] tuple (independent keys), got " +
                                      shown(value));
    }
  }
  if (!needed) return Status{};
  if (event.function != Function::kCas) {
    event.value = value == nullptr ? Value{} : history_value(*value);
    return Status{};
  }
  if (!is_pair(value)) {
    return Status::invalid_argument(at_line(event.line) + "a cas value must be [expected new], got " + shown(value));
  }
  event.expected = history_value(value->items[0]);
  event.value = history_value(value->items[1]);
  return Status{};
}

Status EventPairing::add(const HistoryEvent& event) {
  Status status = event.type == EventType::kInvoke ? invoke(event) : complete(event);
  ++position_;
  return status;
}

Status EventPairing::invoke(const HistoryEvent& event) {
  if (operations_.size() >= max_operations_) {
    return Status::resource_exhausted(at_line(event.line) + "more than " + std::to_string(max_operations_) +
                                      " operations in one history");
  }
  if (open_.contains(event.process)) ++superseded_;  // it stays unknown
  open_[event.process] = operations_.size();
  operations_.push_back({.process = event.process,
                         .function = event.function,
                         .key = event.key.value_or(""),
                         .value = event.value,
                         .expected = event.expected,
                         .invoke_time = position_,
                         .complete_time = kNeverCompleted,
                         .outcome = Outcome::kUnknown,
                         .source_line = event.line});
  return Status{};
}

Status EventPairing::complete(const HistoryEvent& event) {
  const std::string process = "process " + std::to_string(event.process);
  auto open = open_.find(event.process);
  if (open == open_.end()) {
    return Status::invalid_argument(at_line(event.line) + process + " completes (" + std::string(type_name(event.type)) +
                                    " " + std::string(function_name(event.function)) + ") an operation it never invoked");
  }
  Operation& operation = operations_[open->second];
  open_.erase(open);
  if (operation.function != event.function) {
    return Status::invalid_argument(at_line(event.line) + process + " invoked a " +
                                    std::string(function_name(operation.function)) + " on line " +
                                    std::to_string(operation.source_line) + ", but this completes a " +
                                    std::string(function_name(event.function)));
  }
  if (event.key) {
    if (!operation.key.empty() && operation.key != *event.key) {
      return Status::invalid_argument(at_line(event.line) + process + " invoked on key " +
                                      describe_value(operation.key) + " but completes on key " +
                                      describe_value(*event.key));
    }
    operation.key = *event.key;
  }
  switch (event.type) {
    case EventType::kOk:
      operation.outcome = Outcome::kOk;
      operation.complete_time = position_;
      if (operation.function == Function::kRead) operation.value = event.value;
      break;
    case EventType::kFail:
      operation.outcome = Outcome::kFail;
      operation.complete_time = position_;
      break;
    case EventType::kInfo:
    case EventType::kInvoke: break;  // unknown: may take effect any time from now on, or never
  }
  return Status{};
}

History EventPairing::finish() && { return std::move(operations_); }

}  // namespace cairn::sim::linearizability
