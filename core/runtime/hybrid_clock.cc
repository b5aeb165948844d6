// The hybrid logical clock (see hybrid_clock.h).
#include "core/runtime/hybrid_clock.h"

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "core/runtime/assert.h"
#include "core/runtime/runtime.h"

namespace cairn {

HlcTimestamp hlc_minus(HlcTimestamp timestamp, Duration duration) {
  CAIRN_ASSERT(duration.count() >= 0, "hlc_minus takes a positive duration");
  const auto milliseconds_back = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(duration).count());
  if (hlc_wall_ms(timestamp) <= milliseconds_back) return 0;
  return make_hlc(hlc_wall_ms(timestamp) - milliseconds_back, hlc_logical(timestamp));
}

std::string format_hlc(HlcTimestamp timestamp) {
  // Days since the epoch to a civil date (Howard Hinnant's days_from_civil, inverted), in plain
  // integer arithmetic: the core reads no calendar from the system.
  const uint64_t wall_ms = hlc_wall_ms(timestamp);
  const auto days = static_cast<int64_t>(wall_ms / 86'400'000) + 719'468;
  const uint64_t ms_of_day = wall_ms % 86'400'000;
  const int64_t era = days / 146'097;
  const int64_t day_of_era = days - era * 146'097;
  const int64_t year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36'524 - day_of_era / 146'096) / 365;
  const int64_t day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
  const int64_t month_index = (5 * day_of_year + 2) / 153;
  const int64_t day = day_of_year - (153 * month_index + 2) / 5 + 1;
  const int64_t month = month_index < 10 ? month_index + 3 : month_index - 9;
  const int64_t year = year_of_era + era * 400 + (month <= 2 ? 1 : 0);
  char text[64];
  std::snprintf(text, sizeof text, "%04lld-%02lld-%02lldT%02llu:%02llu:%02llu.%03lluZ+%llu", static_cast<long long>(year),
                static_cast<long long>(month), static_cast<long long>(day),
                static_cast<unsigned long long>(ms_of_day / 3'600'000), static_cast<unsigned long long>(ms_of_day / 60'000 % 60),
                static_cast<unsigned long long>(ms_of_day / 1000 % 60), static_cast<unsigned long long>(ms_of_day % 1000),
                static_cast<unsigned long long>(hlc_logical(timestamp)));
  return text;
}

HybridClock::HybridClock(Runtime& runtime, Duration max_offset) : runtime_(&runtime), max_offset_(max_offset) {
  CAIRN_ASSERT(max_offset.count() > 0, "the maximum clock offset must be positive");
}

HlcTimestamp HybridClock::wall_timestamp() const {
  const int64_t wall_ms = std::chrono::duration_cast<std::chrono::milliseconds>(runtime_->wall_now().time_since_epoch()).count();
  if (wall_ms <= 0) return 0;
  return make_hlc(std::min(static_cast<uint64_t>(wall_ms), kHlcWallMillisecondsMax), 0);
}

HlcTimestamp HybridClock::now() {
  const HlcTimestamp wall = wall_timestamp();
  // Past the last timestamp by one logical tick; a logical counter at its maximum carries into
  // the milliseconds, which is just the next number.
  last_ = std::max(wall, last_ + 1);
  CAIRN_ASSERT(hlc_wall_ms(last_) <= kHlcWallMillisecondsMax, "the hybrid clock ran past its range");
  return last_;
}

Status HybridClock::observe(HlcTimestamp remote) {
  const HlcTimestamp wall = wall_timestamp();
  const auto max_offset_ms = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(max_offset_).count());
  if (remote > last_ && hlc_wall_ms(remote) > hlc_wall_ms(wall) + max_offset_ms) {
    runtime_->probe("hlc.observed_beyond_max_offset");
    return Status::failed_precondition("a timestamp " + format_hlc(remote) + " is more than the maximum clock offset (" +
                                       format_duration(max_offset_) + ") ahead of this node's clock (" +
                                       format_hlc(wall) + ")");
  }
  last_ = std::max(last_, remote);
  CAIRN_ASSERT(last_ >= remote, "an observed timestamp is folded in");
  return Status{};
}

void HybridClock::observe_committed(HlcTimestamp committed) {
  CAIRN_ASSERT(hlc_wall_ms(committed) <= kHlcWallMillisecondsMax, "a committed timestamp is within the clock's range");
  const auto max_offset_ms = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(max_offset_).count());
  if (committed > last_ && hlc_wall_ms(committed) > hlc_wall_ms(wall_timestamp()) + max_offset_ms) {
    runtime_->probe("hlc.committed_beyond_max_offset");
  }
  last_ = std::max(last_, committed);
  CAIRN_ASSERT(last_ >= committed, "a committed timestamp is folded in");
}

}  // namespace cairn
