// Log level names and the key=value line format (see logger.h).
#include "core/runtime/logger.h"

namespace cairn {
namespace {

bool needs_quotes(std::string_view value) {
  if (value.empty()) return true;
  for (char c : value) {
    if (c == ' ' || c == '"' || c == '=' || c == '\\' || static_cast<unsigned char>(c) < 0x20) return true;
  }
  return false;
}

void append_value(std::string& line, std::string_view value) {
  if (!needs_quotes(value)) {
    line += value;
    return;
  }
  line += '"';
  for (char c : value) {
    if (c == '"' || c == '\\') {
      line += '\\';
      line += c;
    } else if (c == '\n') {
      line += "\\n";
    } else if (static_cast<unsigned char>(c) < 0x20) {
      line += '?';
    } else {
      line += c;
    }
  }
  line += '"';
}

}  // namespace

std::string_view log_level_name(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug: return "debug";
    case LogLevel::kInfo: return "info";
    case LogLevel::kWarning: return "warning";
    case LogLevel::kError: return "error";
  }
  return "unknown";
}

bool parse_log_level(std::string_view text, LogLevel& level) {
  if (text == "debug") level = LogLevel::kDebug;
  else if (text == "info") level = LogLevel::kInfo;
  else if (text == "warning" || text == "warn") level = LogLevel::kWarning;
  else if (text == "error") level = LogLevel::kError;
  else return false;
  return true;
}

std::string format_log_fields(LogLevel level, std::string_view component, std::string_view message,
                              std::initializer_list<LogField> fields) {
  std::string line = "level=";
  line += log_level_name(level);
  line += " component=";
  append_value(line, component);
  line += " msg=";
  line += '"';
  for (char c : message) line += (c == '"' ? '\'' : c);
  line += '"';
  for (const LogField& field : fields) {
    line += ' ';
    line += field.key;
    line += '=';
    append_value(line, field.value);
  }
  return line;
}

}  // namespace cairn
