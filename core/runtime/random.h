// Deterministic pseudo-random numbers for everything in Cairn that needs chance: election
// timeouts, backoff jitter, the simulator's fault decisions and scheduling order. The generator
// (xoshiro256**) and every distribution below are implemented here rather than taken from
// <random>, so a seed produces the same numbers on every standard library.
//
// Seeds form a tree: one root seed per run, and every component derives its own independent
// stream from it by name (derive_seed), so adding a random draw in one component does not shift
// the numbers seen by another.
#pragma once

#include <cstdint>
#include <string_view>

#include "core/runtime/time.h"

namespace cairn {

// Mixes a 64-bit value thoroughly (the SplitMix64 finalizer). Also used to fold trace hashes.
uint64_t mix64(uint64_t value);

// The seed of the stream called `name` below `parent`.
uint64_t derive_seed(uint64_t parent, std::string_view name);
uint64_t derive_seed(uint64_t parent, uint64_t index);

class Random {
 public:
  explicit Random(uint64_t seed);

  uint64_t next_u64();
  // Uniform in [0, bound); bound must be > 0. Unbiased (Lemire's method).
  uint64_t uniform(uint64_t bound);
  // Uniform in [low, high] inclusive.
  int64_t uniform_between(int64_t low, int64_t high);
  // Uniform in [0, 1).
  double uniform_double();
  double uniform_double_between(double low, double high);
  // True with the given probability (clamped to [0, 1]).
  bool chance(double probability);
  // Exponentially distributed with the given mean (for Poisson arrivals of fault episodes).
  Duration exponential(Duration mean);
  // Uniform between two durations, inclusive.
  Duration uniform_duration(Duration low, Duration high);

  // A child generator with an independent stream, derived from this one's next output.
  Random fork();

 private:
  uint64_t state_[4];
};

}  // namespace cairn
