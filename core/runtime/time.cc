// Formatting helpers for durations (see time.h).
#include "core/runtime/time.h"

#include <cstdio>

namespace cairn {

std::string format_duration(Duration d) {
  char text[48];
  const int64_t nanos = d.count();
  const char* sign = nanos < 0 ? "-" : "";
  const uint64_t magnitude = nanos < 0 ? static_cast<uint64_t>(-(nanos + 1)) + 1 : static_cast<uint64_t>(nanos);
  std::snprintf(text, sizeof text, "%s%llu.%06llus", sign, static_cast<unsigned long long>(magnitude / 1000000000ULL),
                static_cast<unsigned long long>((magnitude % 1000000000ULL) / 1000ULL));
  return text;
}

}  // namespace cairn
