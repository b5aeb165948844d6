// LatencyHistogram: latencies recorded in bounded memory for `cairn bench`, in the manner of
// HdrHistogram. Values up to 255 ns get a bucket each; above that, every power of two is cut into
// 128 equal buckets, so a bucket is at most 1/128 of its lower bound wide and a percentile read
// back from its middle is within 0.4 % of the true value — from 1 ns to the largest Duration, in
// a fixed ~57 KiB. Count, sum, minimum and maximum are kept exactly on the side.
#pragma once

#include <cstdint>
#include <vector>

#include "core/runtime/time.h"

namespace cairn::net {

class LatencyHistogram {
 public:
  LatencyHistogram();

  // Negative latencies (impossible with a monotonic clock) are recorded as zero.
  void record(Duration latency);
  // Adds every value recorded in `other`, as if recorded here.
  void merge(const LatencyHistogram& other);

  uint64_t count() const { return count_; }
  // All zero when nothing was recorded.
  Duration min() const { return count_ == 0 ? Duration{0} : Duration{min_nanos_}; }
  Duration max() const { return Duration{max_nanos_}; }
  Duration mean() const;
  // The value below or at which `percent` of the recorded values lie (0 < percent <= 100),
  // within 0.4 %; never below min() nor above max(), so percentile(100) is max() exactly.
  Duration percentile(double percent) const;

 private:
  static std::size_t bucket_of(uint64_t nanos);
  static uint64_t lowest_value_of(std::size_t bucket);
  static uint64_t width_of(std::size_t bucket);

  std::vector<uint64_t> counts_;
  uint64_t count_ = 0;
  // Long double: a sum of nanoseconds may pass 2^64 in a long enough run.
  long double sum_nanos_ = 0;
  uint64_t min_nanos_ = UINT64_MAX;
  uint64_t max_nanos_ = 0;
};

}  // namespace cairn::net
