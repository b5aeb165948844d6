// Per-node simulated clocks with drift, offset and steps (see sim_clock.h).
#include "sim/sim_clock.h"

#include <cmath>

#include "core/runtime/assert.h"

namespace cairn::sim {

SimClock::SimClock(Duration monotonic_base) : boot_monotonic_(monotonic_base), monotonic_base_(monotonic_base) {}

MonotonicTime SimClock::monotonic(int64_t global_nanos) const {
  const double elapsed = static_cast<double>(global_nanos - rebase_global_);
  const auto local = static_cast<int64_t>(elapsed * (1.0 + drift_ppm_ * 1e-6));
  return MonotonicTime(monotonic_base_ + Duration{local});
}

WallTime SimClock::wall(int64_t global_nanos) const {
  // The wall clock counts from the epoch at global time 0 on every node, however long ago each
  // booted (its monotonic base): a machine's calendar clock does not depend on its uptime.
  return WallTime(Duration{kEpochNanos} + (monotonic(global_nanos).time_since_epoch() - boot_monotonic_) + wall_offset_);
}

int64_t SimClock::global_delay(Duration local) const {
  if (local <= Duration::zero()) return 0;
  return static_cast<int64_t>(std::ceil(static_cast<double>(local.count()) / (1.0 + drift_ppm_ * 1e-6)));
}

void SimClock::set_drift_ppm(double ppm, int64_t global_nanos) {
  CAIRN_ASSERT(ppm >= -100000 && ppm <= 100000, "clock drift out of range");
  // Rebase so that the monotonic reading is continuous across the change.
  monotonic_base_ = monotonic(global_nanos).time_since_epoch();
  rebase_global_ = global_nanos;
  drift_ppm_ = ppm;
}

}  // namespace cairn::sim
