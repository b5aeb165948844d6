// Format names, detection, dispatch and file reading for history files (see history_file.h).
#include "sim/checkers/history_file.h"

#include <filesystem>
#include <fstream>

#include "sim/checkers/history_formats.h"

namespace cairn::sim::linearizability {
namespace {

// Detection looks this far into a file; a Jepsen log may open with many lines of set-up noise.
constexpr std::size_t kDetectionLines = 2000;

std::string_view trim_left(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t' || text.front() == '\r')) text.remove_prefix(1);
  return text;
}

// What the first character after a '{' says: a JSON object starts with a quoted name (or is
// empty), an EDN operation map with a keyword.
HistoryFormat format_of_brace(std::string_view after_brace) {
  after_brace = trim_left(after_brace);
  if (after_brace.empty()) return HistoryFormat::kAuto;
  if (after_brace.front() == '"' || after_brace.front() == '}') return HistoryFormat::kJsonLines;
  if (after_brace.front() == ':') return HistoryFormat::kEdn;
  return HistoryFormat::kAuto;
}

HistoryFormat format_of_line(std::string_view line) {
  if (split_jepsen_log_line(line).is_operation) return HistoryFormat::kJepsenLog;
  const std::string_view trimmed = trim_left(line);
  if (trimmed.empty()) return HistoryFormat::kAuto;
  switch (trimmed.front()) {
    case '{': return format_of_brace(trimmed.substr(1));
    case '[':
    case '(':
    case '#':
    case ';': return HistoryFormat::kEdn;
    default: return HistoryFormat::kAuto;
  }
}

Result<ParsedHistory> parse_in_format(std::string_view text, HistoryFormat format, const HistoryParseOptions& options) {
  switch (format) {
    case HistoryFormat::kJsonLines: return parse_json_lines_history(text, options);
    case HistoryFormat::kJepsenLog: return parse_jepsen_log_history(text, options);
    case HistoryFormat::kEdn: return parse_edn_history(text, options);
    case HistoryFormat::kAuto: break;
  }
  return Status::invalid_argument(
      "cannot tell the history's format from its first lines; name it with --format jsonl|jepsen-log|edn");
}

}  // namespace

std::string_view history_format_name(HistoryFormat format) {
  switch (format) {
    case HistoryFormat::kAuto: return "auto";
    case HistoryFormat::kJsonLines: return "jsonl";
    case HistoryFormat::kJepsenLog: return "jepsen-log";
    case HistoryFormat::kEdn: return "edn";
  }
  return "?";
}

std::optional<HistoryFormat> parse_history_format_name(std::string_view name) {
  for (HistoryFormat format : {HistoryFormat::kAuto, HistoryFormat::kJsonLines, HistoryFormat::kJepsenLog, HistoryFormat::kEdn}) {
    if (history_format_name(format) == name) return format;
  }
  return std::nullopt;
}

Status for_each_line(std::string_view text, const HistoryLimits& limits,
                     const std::function<Status(uint64_t, std::string_view)>& visit) {
  uint64_t number = 0;
  while (!text.empty()) {
    ++number;
    const std::size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.size() > limits.max_line_bytes) {
      return Status::resource_exhausted("line " + std::to_string(number) + ": longer than the limit of " +
                                        std::to_string(limits.max_line_bytes) + " bytes");
    }
    CAIRN_RETURN_IF_ERROR(visit(number, line));
  }
  return Status{};
}

HistoryFormat detect_history_format(std::string_view text) {
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);  // a UTF-8 byte order mark
  for (std::size_t examined = 0; examined < kDetectionLines && !text.empty(); ++examined) {
    const std::size_t end = text.find('\n');
    const HistoryFormat format = format_of_line(text.substr(0, end));
    if (format != HistoryFormat::kAuto) return format;
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
  }
  return HistoryFormat::kAuto;
}

Result<ParsedHistory> parse_history(std::string_view text, const HistoryParseOptions& options) {
  if (text.size() > options.limits.max_file_bytes) {
    return Status::resource_exhausted("the history is larger than the limit of " +
                                      std::to_string(options.limits.max_file_bytes) + " bytes");
  }
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  const HistoryFormat format = options.format == HistoryFormat::kAuto ? detect_history_format(text) : options.format;
  CAIRN_ASSIGN_OR_RETURN(ParsedHistory parsed, parse_in_format(text, format, options));
  parsed.format = format;
  CAIRN_RETURN_IF_ERROR(validate_history(parsed.operations));
  return parsed;
}

Result<ParsedHistory> read_history_file(const std::string& path, const HistoryParseOptions& options) {
  std::error_code error;
  if (!std::filesystem::is_regular_file(path, error)) {
    return Status::not_found(path + ": no such file (or not a regular file)");
  }
  const std::uintmax_t size = std::filesystem::file_size(path, error);
  if (error) return Status::io_error(path + ": " + error.message());
  if (size > options.limits.max_file_bytes) {
    return Status::resource_exhausted(path + ": larger than the limit of " +
                                      std::to_string(options.limits.max_file_bytes) + " bytes");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::io_error(path + ": cannot open");
  std::string text(static_cast<std::size_t>(size), '\0');
  in.read(text.data(), static_cast<std::streamsize>(size));
  text.resize(static_cast<std::size_t>(in.gcount()));
  if (in.bad()) return Status::io_error(path + ": read failed");
  Result<ParsedHistory> parsed = parse_history(text, options);
  if (!parsed.ok()) return parsed.status().with_context(path);
  return parsed;
}

}  // namespace cairn::sim::linearizability
