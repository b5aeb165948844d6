// SimClock: one simulated node's clocks, derived from the simulator's global virtual time.
//
//   monotonic = base + (global - rebase_point) * (1 + drift)     (never decreases)
//   wall      = epoch + (monotonic - boot base) + offset + steps  (may jump either way)
//
// Drift makes a node's timers fire early or late relative to other nodes (a sleep of d local
// time takes d / (1 + drift) global time); offset and steps skew only the wall clock, as NTP
// adjustments do on a real machine.
#pragma once

#include <cstdint>

#include "core/runtime/time.h"

namespace cairn::sim {

class SimClock {
 public:
  // `monotonic_base`: the node's monotonic reading at global time 0 (machines boot at
  // different times, so code must not assume nodes share a monotonic origin).
  explicit SimClock(Duration monotonic_base);

  MonotonicTime monotonic(int64_t global_nanos) const;
  WallTime wall(int64_t global_nanos) const;
  // Global nanoseconds that pass while this node's clock advances by `local` (rounded up).
  int64_t global_delay(Duration local) const;

  // Drift in parts per million (e.g. 100 = 0.01 % fast); must be within [-100000, 100000].
  void set_drift_ppm(double ppm, int64_t global_nanos);
  void set_offset(Duration offset) { wall_offset_ = offset; }
  void step(Duration jump) { wall_offset_ += jump; }
  double drift_ppm() const { return drift_ppm_; }
  Duration wall_offset() const { return wall_offset_; }

  // Wall-clock time at global time 0: 2026-01-01T00:00:00Z.
  static constexpr int64_t kEpochNanos = 1767225600LL * 1000000000LL;

 private:
  Duration boot_monotonic_;  // the monotonic reading at global time 0
  Duration monotonic_base_;
  int64_t rebase_global_ = 0;
  double drift_ppm_ = 0;
  Duration wall_offset_{0};
};

}  // namespace cairn::sim
