// Bitset, fingerprint and run-length encoding of linearized operations (see linearized_set.h).
#include "sim/checkers/linearized_set.h"

#include <algorithm>

#include "core/runtime/assert.h"

namespace cairn::sim::linearizability {
namespace {

constexpr uint64_t kAllOnes = ~uint64_t{0};
constexpr int kKindShift = 62;
constexpr uint64_t kZeroRun = 0;
constexpr uint64_t kOneRun = 1;
constexpr uint64_t kLiteralRun = 2;

// SplitMix64's finalizer: a fixed, well-mixed word per operation index, so fingerprints are
// deterministic across runs and machines.
uint64_t operation_word(uint64_t index) {
  uint64_t z = index + 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

bool uniform(uint64_t word) { return word == 0 || word == kAllOnes; }

}  // namespace

LinearizedSet::LinearizedSet(std::size_t capacity) : words_((capacity + 63) / 64, 0), capacity_(capacity) {}

void LinearizedSet::insert(std::size_t index) {
  CAIRN_ASSERT(index < capacity_ && !contains(index), "operation " + std::to_string(index) + " inserted twice");
  words_[index / 64] |= uint64_t{1} << (index % 64);
  end_words_ = std::max(end_words_, index / 64 + 1);
  fingerprint_ ^= operation_word(index);
  ++size_;
}

void LinearizedSet::erase(std::size_t index) {
  CAIRN_ASSERT(index < capacity_ && contains(index), "operation " + std::to_string(index) + " erased but absent");
  words_[index / 64] &= ~(uint64_t{1} << (index % 64));
  full_words_ = std::min(full_words_, index / 64);
  fingerprint_ ^= operation_word(index);
  --size_;
}

bool LinearizedSet::contains(std::size_t index) const {
  return index < capacity_ && (words_[index / 64] >> (index % 64) & 1) != 0;
}

void LinearizedSet::encode(std::vector<uint64_t>& out) const {
  while (end_words_ > 0 && words_[end_words_ - 1] == 0) --end_words_;
  while (full_words_ < end_words_ && words_[full_words_] == kAllOnes) ++full_words_;
  const std::size_t end = end_words_;
  std::size_t begin = full_words_;
  if (begin > 0) out.push_back((kOneRun << kKindShift) | begin);  // maximal: the next word is not all ones
  while (begin < end) {
    const uint64_t word = words_[begin];
    std::size_t stop = begin + 1;
    if (uniform(word)) {
      while (stop < end && words_[stop] == word) ++stop;
      out.push_back(((word == 0 ? kZeroRun : kOneRun) << kKindShift) | (stop - begin));
    } else {
      while (stop < end && !uniform(words_[stop])) ++stop;
      out.push_back((kLiteralRun << kKindShift) | (stop - begin));
      out.insert(out.end(), words_.begin() + static_cast<std::ptrdiff_t>(begin),
                 words_.begin() + static_cast<std::ptrdiff_t>(stop));
    }
    begin = stop;
  }
}

}  // namespace cairn::sim::linearizability
