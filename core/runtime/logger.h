// Structured logging for code on a Runtime. The runtime decides where lines go and stamps them
// with its own clock (simulated time and node in the simulator, wall time in the daemon), so a
// log line from a simulated run can be lined up with the trace of the same seed.
//
//   rt.logger().log(LogLevel::kInfo, "register", "recovered", {{"version", 42}, {"from", "disk"}});
// gives a line such as
//   t=12.000315s node=2 level=info component=register msg="recovered" version=42 from=disk
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <type_traits>

namespace cairn {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };

std::string_view log_level_name(LogLevel level);
// Parses "debug", "info", "warning"/"warn", "error"; false if unknown.
bool parse_log_level(std::string_view text, LogLevel& level);

struct LogField {
  LogField(std::string_view field_key, std::string_view field_value) : key(field_key), value(field_value) {}
  LogField(std::string_view field_key, const char* field_value) : key(field_key), value(field_value) {}
  LogField(std::string_view field_key, const std::string& field_value) : key(field_key), value(field_value) {}
  template <typename Integer, typename = std::enable_if_t<std::is_integral_v<Integer>>>
  LogField(std::string_view field_key, Integer field_value) : key(field_key), value(std::to_string(field_value)) {}

  std::string_view key;
  std::string value;
};

class Logger {
 public:
  virtual ~Logger() = default;
  virtual bool enabled(LogLevel level) const = 0;
  void log(LogLevel level, std::string_view component, std::string_view message,
           std::initializer_list<LogField> fields = {}) {
    if (enabled(level)) write(level, component, message, fields);
  }

 protected:
  virtual void write(LogLevel level, std::string_view component, std::string_view message,
                     std::initializer_list<LogField> fields) = 0;
};

// Renders "level=info component=x msg=\"...\" k=v ..." (values quoted when they need it).
std::string format_log_fields(LogLevel level, std::string_view component, std::string_view message,
                              std::initializer_list<LogField> fields);

}  // namespace cairn
