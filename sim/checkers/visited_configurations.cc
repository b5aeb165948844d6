// The visited-configuration memo of the linearizability search (see visited_configurations.h).
#include "sim/checkers/visited_configurations.h"

#include <algorithm>

namespace cairn::sim::linearizability {
namespace {

constexpr std::size_t kInitialSlots = 1024;

uint64_t mix(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  return x ^ (x >> 33);
}

}  // namespace

VisitedConfigurations::VisitedConfigurations() : slots_(kInitialSlots) {}

bool VisitedConfigurations::stored_equals(uint64_t offset, const std::vector<uint64_t>& encoding) const {
  if (arena_[offset] != encoding.size()) return false;
  return std::equal(encoding.begin(), encoding.end(), arena_.begin() + static_cast<std::ptrdiff_t>(offset + 1));
}

bool VisitedConfigurations::insert(const LinearizedSet& linearized, ValueId state) {
  const uint64_t hash = mix(linearized.fingerprint() ^ mix(state + 1));
  bool encoded = false;
  const std::size_t mask = slots_.size() - 1;
  std::size_t index = hash & mask;
  for (; slots_[index].offset != kEmpty; index = (index + 1) & mask) {
    if (slots_[index].hash != hash) continue;
    if (!encoded) {
      scratch_.assign(1, state);
      linearized.encode(scratch_);
      encoded = true;
    }
    if (stored_equals(slots_[index].offset, scratch_)) return false;
  }
  if (!encoded) {
    scratch_.assign(1, state);
    linearized.encode(scratch_);
  }
  slots_[index] = Slot{.hash = hash, .offset = arena_.size()};
  arena_.push_back(scratch_.size());
  arena_.insert(arena_.end(), scratch_.begin(), scratch_.end());
  ++size_;
  if (size_ * 2 > slots_.size()) grow();
  return true;
}

void VisitedConfigurations::grow() {
  std::vector<Slot> old = std::move(slots_);
  slots_.assign(old.size() * 2, Slot{});
  const std::size_t mask = slots_.size() - 1;
  for (const Slot& slot : old) {
    if (slot.offset == kEmpty) continue;
    std::size_t index = slot.hash & mask;
    while (slots_[index].offset != kEmpty) index = (index + 1) & mask;
    slots_[index] = slot;
  }
}

std::size_t VisitedConfigurations::memory_bytes() const {
  return slots_.capacity() * sizeof(Slot) + arena_.capacity() * sizeof(uint64_t);
}

}  // namespace cairn::sim::linearizability
