// Always-on invariant checks. An invariant that does not hold means the program is wrong, so it
// stops loudly in every build (release included), printing where and why; errors that the
// outside world can cause (bad input, I/O failures) are returned as Status values instead.
#pragma once

#include <string>

namespace cairn {

// Prints "file:line: assertion failed: condition (message)" to stderr and aborts.
[[noreturn]] void assertion_failed(const char* file, int line, const char* condition,
                                   const std::string& message);

}  // namespace cairn

// CAIRN_ASSERT(condition) or CAIRN_ASSERT(condition, "explanation " + detail).
#define CAIRN_ASSERT(condition, ...)                                                          \
  do {                                                                                        \
    if (!(condition)) [[unlikely]] {                                                          \
      ::cairn::assertion_failed(__FILE__, __LINE__, #condition, ::std::string{__VA_ARGS__});  \
    }                                                                                         \
  } while (false)

#define CAIRN_PANIC(...) ::cairn::assertion_failed(__FILE__, __LINE__, "panic", ::std::string{__VA_ARGS__})
