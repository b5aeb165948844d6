// A small, strict JSON reader for one line of a JSON-lines history. It builds a tree of values,
// keeps numbers as their literal text (histories compare values as text), decodes string
// escapes including \uXXXX to UTF-8, and bounds nesting so hostile input cannot exhaust the
// stack. Errors name the column where the input went wrong.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "core/runtime/status.h"

namespace cairn::sim::linearizability {

inline constexpr std::size_t kMaxJsonDepth = 32;

struct JsonValue {
  enum class Kind { kNull, kBoolean, kNumber, kString, kArray, kObject };
  Kind kind = Kind::kNull;
  bool boolean = false;
  std::string text = {};               // a string's content, or a number's literal
  std::vector<JsonValue> items = {};   // an array's elements, or an object's values
  std::vector<std::string> keys = {};  // an object's keys, parallel to items

  // An object's member named `key` (the last one, if repeated), or nullptr.
  const JsonValue* find(std::string_view key) const;
};

std::string_view json_kind_name(JsonValue::Kind kind);

// Parses exactly one JSON value; whitespace may surround it, nothing else may.
Result<JsonValue> parse_json(std::string_view text);

}  // namespace cairn::sim::linearizability
