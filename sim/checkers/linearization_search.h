// The search for a linearization of one partition (one register): Wing and Gong's algorithm
// with Lowe's improvements ("Testing for linearizability", 2017).
//
// The history becomes a list of call and return entries in time order. The search walks the
// list from its head: at a call it tries to apply that operation to the current model state; if
// the specification allows it and the (linearized set, new state) pair is new, the operation is
// linearized and its call and return entries are lifted out of the list, and the walk restarts
// at the head. Reaching a return entry means that operation had to take effect before now and
// cannot: the search backtracks by unlifting the most recently linearized operation and tries
// the next call after it. The history is linearizable iff the list empties.
//
// Operations of unknown outcome return at +infinity, after every other entry. When the walk
// reaches one of their returns, every operation still in the list is of unknown outcome (any
// other would have returned earlier), and those are omitted: they never took effect.
//
// The search is bounded by a number of explored states (visited configurations), never by the
// clock, so its verdict is a pure function of its input.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "sim/checkers/history.h"
#include "sim/checkers/linearizability_model.h"

namespace cairn::sim::linearizability {

struct SearchOperation {
  int64_t invoke_time = 0;
  int64_t complete_time = kNeverCompleted;  // kNeverCompleted: unknown outcome, may be omitted
  ModelOperation operation = {};
};

enum class SearchVerdict { kLinearizable, kNotLinearizable, kBudgetExhausted };

struct SearchOutcome {
  SearchVerdict verdict = SearchVerdict::kBudgetExhausted;
  // Linearizable: a witness, the indices of the operations that took effect, in order (omitted
  // unknown operations are absent). Otherwise: the longest linearizable prefix found.
  std::vector<uint32_t> linearization = {};
  // Not linearizable: every operation that could have come next after the longest prefix by
  // real-time order — none of which the specification allows from the state it reached.
  std::vector<uint32_t> next_candidates = {};
  // Not linearizable: the earliest-returning operation not in the prefix; it had to take effect
  // before it returned, so the candidates above are the only ones that could precede it.
  uint32_t first_unplaced_return = 0;
  uint64_t states_explored = 0;  // configurations recorded in the memo
  uint64_t steps = 0;            // operations tried against the specification
};

// Entries at equal times are ordered calls first, so operations that touch at one instant count
// as concurrent: a tie never produces a violation.
SearchOutcome search_linearization(const std::vector<SearchOperation>& operations, uint64_t max_states);

}  // namespace cairn::sim::linearizability
