// LatencyHistogram: log-linear buckets of nanoseconds (latency_histogram.h).
#include "net/cairn/latency_histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace cairn::net {
namespace {

// Values below this each have a bucket of their own.
constexpr uint64_t kLinearLimit = 256;
// Buckets per power of two above kLinearLimit: their width is 1/128 of the power of two.
constexpr uint64_t kSubBucketsPerPower = 128;
constexpr int kSubBucketBits = 7;
// Powers of two from 2^8 to 2^63: 56 of them.
constexpr std::size_t kBucketCount = kLinearLimit + 56 * kSubBucketsPerPower;

}  // namespace

LatencyHistogram::LatencyHistogram() : counts_(kBucketCount, 0) {}

std::size_t LatencyHistogram::bucket_of(uint64_t nanos) {
  if (nanos < kLinearLimit) return static_cast<std::size_t>(nanos);
  // Keep the 8 top bits: the leading one (which power of two) and 7 more (which sub-bucket).
  const int shift = std::bit_width(nanos) - 1 - kSubBucketBits;
  const uint64_t sub_bucket = (nanos >> shift) - kSubBucketsPerPower;
  return static_cast<std::size_t>(kLinearLimit + static_cast<uint64_t>(shift - 1) * kSubBucketsPerPower + sub_bucket);
}

uint64_t LatencyHistogram::lowest_value_of(std::size_t bucket) {
  if (bucket < kLinearLimit) return bucket;
  const uint64_t above = bucket - kLinearLimit;
  const uint64_t shift = above / kSubBucketsPerPower + 1;
  return (kSubBucketsPerPower + above % kSubBucketsPerPower) << shift;
}

uint64_t LatencyHistogram::width_of(std::size_t bucket) {
  if (bucket < kLinearLimit) return 1;
  return uint64_t{1} << ((bucket - kLinearLimit) / kSubBucketsPerPower + 1);
}

void LatencyHistogram::record(Duration latency) {
  const uint64_t nanos = static_cast<uint64_t>(std::max<int64_t>(latency.count(), 0));
  ++counts_[bucket_of(nanos)];
  ++count_;
  sum_nanos_ += static_cast<long double>(nanos);
  min_nanos_ = std::min(min_nanos_, nanos);
  max_nanos_ = std::max(max_nanos_, nanos);
}

void LatencyHistogram::merge(const LatencyHistogram& other) {
  for (std::size_t bucket = 0; bucket < kBucketCount; ++bucket) counts_[bucket] += other.counts_[bucket];
  count_ += other.count_;
  sum_nanos_ += other.sum_nanos_;
  min_nanos_ = std::min(min_nanos_, other.min_nanos_);
  max_nanos_ = std::max(max_nanos_, other.max_nanos_);
}

Duration LatencyHistogram::mean() const {
  if (count_ == 0) return Duration{0};
  return Duration{static_cast<int64_t>(std::llround(sum_nanos_ / static_cast<long double>(count_)))};
}

Duration LatencyHistogram::percentile(double percent) const {
  if (count_ == 0) return Duration{0};
  // The rank of the value asked for, 1-based: the smallest with at least `percent` % at or
  // below it. The epsilon keeps 99.9 % of 1000 at rank 999 despite binary fractions.
  const long double exact_rank = static_cast<long double>(percent) / 100 * static_cast<long double>(count_);
  const uint64_t rank = std::clamp<uint64_t>(static_cast<uint64_t>(std::ceil(exact_rank - 1e-9L)), 1, count_);
  if (rank == count_) return max();  // the largest value is known exactly
  uint64_t seen = 0;
  for (std::size_t bucket = 0; bucket < kBucketCount; ++bucket) {
    seen += counts_[bucket];
    if (seen < rank) continue;
    // The middle of the bucket halves the worst error; min and max are known exactly.
    const uint64_t middle = lowest_value_of(bucket) + width_of(bucket) / 2;
    return Duration{static_cast<int64_t>(std::clamp(middle, min_nanos_, max_nanos_))};
  }
  return max();
}

}  // namespace cairn::net
