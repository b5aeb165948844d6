// Time as the core sees it. There are two clocks and their types do not mix:
//  - MonotonicTime: never goes backwards; for timeouts, leases and measuring durations.
//  - WallTime: calendar time in nanoseconds since the Unix epoch; may jump and be skewed
//    between nodes (the simulator makes it so); for hybrid logical clocks and display only.
// Both are read from the Runtime, never from the OS directly.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace cairn {

using Duration = std::chrono::nanoseconds;

// Tag types: time points of different clocks cannot be compared or subtracted by mistake.
// They deliberately have no now(); time comes from Runtime::now() and Runtime::wall_now().
struct MonotonicClockTag {
  using duration = Duration;
  using rep = duration::rep;
  using period = duration::period;
  using time_point = std::chrono::time_point<MonotonicClockTag, Duration>;
  static constexpr bool is_steady = true;
};
struct WallClockTag {
  using duration = Duration;
  using rep = duration::rep;
  using period = duration::period;
  using time_point = std::chrono::time_point<WallClockTag, Duration>;
  static constexpr bool is_steady = false;
};

using MonotonicTime = MonotonicClockTag::time_point;
using WallTime = WallClockTag::time_point;

inline constexpr Duration nanoseconds(int64_t n) { return Duration{n}; }
inline constexpr Duration microseconds(int64_t n) { return std::chrono::microseconds{n}; }
inline constexpr Duration milliseconds(int64_t n) { return std::chrono::milliseconds{n}; }
inline constexpr Duration seconds(int64_t n) { return std::chrono::seconds{n}; }

// Converts fractional seconds (as scenario files give them) to a Duration, rounding to nanoseconds.
inline Duration seconds_to_duration(double s) { return Duration{static_cast<int64_t>(s * 1e9 + (s >= 0 ? 0.5 : -0.5))}; }
inline double to_seconds(Duration d) { return static_cast<double>(d.count()) / 1e9; }
inline double to_milliseconds(Duration d) { return static_cast<double>(d.count()) / 1e6; }

// "1.234567s": a human-readable duration for logs.
std::string format_duration(Duration d);

}  // namespace cairn
