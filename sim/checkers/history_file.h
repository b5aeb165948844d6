// Reading a history file for the linearizability checker, in any of three formats, detected
// from the content unless named:
//
// jsonl — Cairn's own: one completed operation per line, a JSON object (what
// `cairn-sim run --history` writes):
//     {"process":3,"f":"write","invoke_ns":100,"complete_ns":250,"type":"ok","value":"c3-1"}
//     {"process":4,"f":"cas","key":"k1","expected":"1","value":"2","invoke_ns":120,"complete_ns":-1,"type":"unknown"}
//   process    non-negative integer (required)
//   f          "read" | "write" | "cas" | "delete" (required)
//   type       "ok" | "fail" | "unknown" (or "info") (required)
//   invoke_ns  integer (required); complete_ns: integer, required unless the type is unknown
//   value      read: the value read; write: the value written; cas: the new value
//   expected   cas: the value compared against
//   key        optional (a string or a number); operations on different keys are independent
//   Values are strings, numbers or null (nil); a missing value is nil. Other fields (the
//   simulator's "version") are ignored.
//
// jepsen-log — the operation lines of a Jepsen log (jepsen.util), invocations and completions
// on separate lines, paired by process:
//     INFO  jepsen.util - 3	:invoke	:cas	[1 4]
//     INFO  jepsen.util - 3	:ok	:cas	[1 4]
//   Fields are tab or space separated, after an optional prefix ending in "jepsen.util - " or
//   "jepsen.util: "; the value is EDN (nil, an integer, [expected new] for cas) and anything
//   after it (an :info's error) is ignored. Lines that are not operations are skipped, as are
//   the nemesis's (a non-integer process).
//
// edn — Jepsen operation maps, one per line or inside a vector:
//     {:process 0, :type :invoke, :f :read, :key "k", :value nil, :time 1234, :index 0}
//   :key is optional; with --model kv and no :key, values are [key value] tuples (Jepsen's
//   independent workloads), e.g. :value [5 [1 2]] for a cas on key 5.
//
// In both Jepsen formats the order of the events is the real-time order (the event's position is
// its time); :info and never-completed invocations are unknown. Every error names the line.
// Limits keep hostile input bounded: the file size, the line length and the number of
// operations (HistoryLimits); exceeding one is an error, never a crash.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/runtime/status.h"
#include "sim/checkers/history.h"

namespace cairn::sim::linearizability {

enum class HistoryFormat { kAuto, kJsonLines, kJepsenLog, kEdn };

std::string_view history_format_name(HistoryFormat format);  // "auto", "jsonl", "jepsen-log", "edn"
std::optional<HistoryFormat> parse_history_format_name(std::string_view name);

struct HistoryLimits {
  std::size_t max_file_bytes = std::size_t{1} << 30;
  std::size_t max_line_bytes = std::size_t{1} << 20;
  std::size_t max_operations = 10'000'000;
};

struct HistoryParseOptions {
  HistoryFormat format = HistoryFormat::kAuto;
  // Read Jepsen values without a :key as [key value] tuples (jepsen.independent).
  bool key_value_tuples = false;
  HistoryLimits limits = {};
};

struct ParsedHistory {
  History operations = {};
  HistoryFormat format = HistoryFormat::kAuto;  // the format read (never kAuto)
  uint64_t skipped_lines = 0;                   // jepsen-log lines that are not operations
  uint64_t nemesis_events = 0;                  // events of non-client processes, ignored
  uint64_t superseded_invocations = 0;          // left unknown by a new invocation of their process
};

// The format `text` looks like from its first meaningful lines, or kAuto when it cannot tell.
HistoryFormat detect_history_format(std::string_view text);

// Parses `text` (format named or detected) and validates the operations. Errors start with
// "line N: " when they concern one line.
Result<ParsedHistory> parse_history(std::string_view text, const HistoryParseOptions& options);

// Reads and parses a file; errors start with the path.
Result<ParsedHistory> read_history_file(const std::string& path, const HistoryParseOptions& options);

}  // namespace cairn::sim::linearizability
