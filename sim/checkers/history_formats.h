// Internal to history_file.cc: the parser of each history format, and the line splitting with
// its length limit that they share. Use history_file.h instead.
#pragma once

#include <charconv>
#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>

#include "sim/checkers/history_file.h"

namespace cairn::sim::linearizability {

// Calls `visit(line_number, line)` for every line (without its "\n" or "\r\n"), stopping at the
// first error; a line longer than the limit is an error.
Status for_each_line(std::string_view text, const HistoryLimits& limits,
                     const std::function<Status(uint64_t, std::string_view)>& visit);

// The whole of `text` as a decimal integer of type T, or nullopt (overflow, sign, stray bytes).
template <typename T>
std::optional<T> parse_decimal(std::string_view text) {
  T number{};
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), number);
  if (error != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return number;
}

Result<ParsedHistory> parse_json_lines_history(std::string_view text, const HistoryParseOptions& options);
Result<ParsedHistory> parse_jepsen_log_history(std::string_view text, const HistoryParseOptions& options);
Result<ParsedHistory> parse_edn_history(std::string_view text, const HistoryParseOptions& options);

// The operation fields of a Jepsen log line, after its prefix: "3 :invoke :read nil". Whether a
// line is an operation at all (`is_operation`) is decided by its first two fields alone.
struct JepsenLogLine {
  bool is_operation = false;
  std::string_view process = {};  // "3", or ":nemesis"
  std::string_view type = {};     // "invoke" (without the colon)
  std::string_view function = {};
  std::string_view value = {};    // the rest: the value's EDN, then possibly an error
};
JepsenLogLine split_jepsen_log_line(std::string_view line);

}  // namespace cairn::sim::linearizability
