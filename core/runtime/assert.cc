// Implementation of the always-on assertion failure path (see assert.h).
#include "core/runtime/assert.h"

#include <cstdio>
#include <cstdlib>

namespace cairn {

void assertion_failed(const char* file, int line, const char* condition, const std::string& message) {
  if (message.empty()) {
    std::fprintf(stderr, "%s:%d: assertion failed: %s\n", file, line, condition);
  } else {
    std::fprintf(stderr, "%s:%d: assertion failed: %s (%s)\n", file, line, condition, message.c_str());
  }
  std::fflush(stderr);
  std::abort();
}

}  // namespace cairn
