// xoshiro256** seeded through SplitMix64, with hand-written distributions (see random.h).
#include "core/runtime/random.h"

#include <cmath>

#include "core/runtime/assert.h"

namespace cairn {

uint64_t mix64(uint64_t value) {
  value += 0x9e3779b97f4a7c15ULL;
  value = (value ^ (value >> 30)) * 0xbf58476d1ce4e5b9ULL;
  value = (value ^ (value >> 27)) * 0x94d049bb133111ebULL;
  return value ^ (value >> 31);
}

uint64_t derive_seed(uint64_t parent, std::string_view name) {
  // FNV-1a over the name, then mixed with the parent so that equal names under different
  // parents give unrelated streams.
  uint64_t hash = 0xcbf29ce484222325ULL;
  for (unsigned char c : name) {
    hash ^= c;
    hash *= 0x100000001b3ULL;
  }
  return mix64(mix64(parent) ^ hash);
}

uint64_t derive_seed(uint64_t parent, uint64_t index) { return mix64(mix64(parent) ^ mix64(index + 0x51ed270b)); }

Random::Random(uint64_t seed) {
  uint64_t x = seed;
  for (auto& word : state_) {
    x += 0x9e3779b97f4a7c15ULL;
    word = mix64(x);
  }
}

// 64x64 -> 128-bit multiply (GCC's __int128 is an extension; __extension__ keeps -Wpedantic quiet).
__extension__ using uint128 = unsigned __int128;

static inline uint64_t rotate_left(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t Random::next_u64() {
  const uint64_t result = rotate_left(state_[1] * 5, 7) * 9;
  const uint64_t t = state_[1] << 17;
  state_[2] ^= state_[0];
  state_[3] ^= state_[1];
  state_[1] ^= state_[2];
  state_[0] ^= state_[3];
  state_[2] ^= t;
  state_[3] = rotate_left(state_[3], 45);
  return result;
}

uint64_t Random::uniform(uint64_t bound) {
  CAIRN_ASSERT(bound > 0);
  uint128 product = static_cast<uint128>(next_u64()) * bound;
  uint64_t low = static_cast<uint64_t>(product);
  if (low < bound) {
    const uint64_t threshold = -bound % bound;
    while (low < threshold) {
      product = static_cast<uint128>(next_u64()) * bound;
      low = static_cast<uint64_t>(product);
    }
  }
  return static_cast<uint64_t>(product >> 64);
}

int64_t Random::uniform_between(int64_t low, int64_t high) {
  CAIRN_ASSERT(low <= high);
  const uint64_t span = static_cast<uint64_t>(high) - static_cast<uint64_t>(low);
  if (span == UINT64_MAX) return static_cast<int64_t>(next_u64());
  return static_cast<int64_t>(static_cast<uint64_t>(low) + uniform(span + 1));
}

double Random::uniform_double() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }

double Random::uniform_double_between(double low, double high) {
  CAIRN_ASSERT(low <= high);
  return low + (high - low) * uniform_double();
}

bool Random::chance(double probability) {
  if (probability <= 0) return false;
  if (probability >= 1) return true;
  return uniform_double() < probability;
}

Duration Random::exponential(Duration mean) {
  // 1 - u lies in (0, 1], so the logarithm is finite.
  const double u = 1.0 - uniform_double();
  return Duration{static_cast<int64_t>(-std::log(u) * static_cast<double>(mean.count()))};
}

Duration Random::uniform_duration(Duration low, Duration high) {
  return Duration{uniform_between(low.count(), high.count())};
}

Random Random::fork() { return Random(mix64(next_u64())); }

}  // namespace cairn
