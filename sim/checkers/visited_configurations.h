// The memo of Lowe's improvement to the Wing–Gong search: every (set of linearized operations,
// model state) the search has already explored. Reaching the same pair again by a different
// order of the same operations cannot lead anywhere new, so the search prunes it; this turns an
// exponential search into one that is usually linear in the history's length.
//
// An open-addressing table keyed by the set's fingerprint mixed with the state; each entry points
// at the pair's canonical encoding in one arena, which is compared on a fingerprint match, so a
// fingerprint collision can never prune a configuration wrongly.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "sim/checkers/linearizability_model.h"
#include "sim/checkers/linearized_set.h"

namespace cairn::sim::linearizability {

class VisitedConfigurations {
 public:
  VisitedConfigurations();

  // Records (linearized, state); false when that configuration had been recorded before.
  bool insert(const LinearizedSet& linearized, ValueId state);

  std::size_t size() const { return size_; }
  std::size_t memory_bytes() const;

 private:
  struct Slot {
    uint64_t hash = 0;
    uint64_t offset = kEmpty;  // of the entry's length word in arena_
  };
  static constexpr uint64_t kEmpty = ~uint64_t{0};

  bool stored_equals(uint64_t offset, const std::vector<uint64_t>& encoding) const;
  void grow();

  std::vector<Slot> slots_;
  std::vector<uint64_t> arena_;  // per entry: its length, then its encoding
  std::vector<uint64_t> scratch_;
  std::size_t size_ = 0;
};

}  // namespace cairn::sim::linearizability
