// The linearizability checker: is there a total order of a history's operations that respects
// real time (an operation that completed before another was invoked comes first) and the
// sequential specification of the model (linearizability_model.h)?
//
// Before searching, the history is prepared:
//  - failed operations did not take effect and are dropped, failed reads too;
//  - reads of unknown outcome returned nothing anyone saw and are dropped;
//  - the history is split per key (P-compositionality) and each key searched on its own;
//  - an unknown write, cas or delete whose resulting value no read and no cas ever observes is
//    dropped: placing it can only hide the previous value, so a linearization that uses it
//    stays one without it (docs/simulation.md has the argument).
// Each partition then gets a Wing–Gong–Lowe search (linearization_search.h) bounded by a budget
// of explored states; a partition that runs out makes the verdict unknown, unless another
// partition is definitely not linearizable.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/runtime/status.h"
#include "sim/checkers/history.h"
#include "sim/checkers/linearizability_model.h"

namespace cairn::sim::linearizability {

inline constexpr uint64_t kDefaultMaxStatesPerPartition = 2'000'000;

struct CheckOptions {
  // Explored states (memoized configurations) each partition's search may record before it gives
  // up with an unknown verdict. A count, not a deadline, so verdicts are deterministic.
  uint64_t max_states_per_partition = kDefaultMaxStatesPerPartition;
};

enum class Verdict { kLinearizable, kNotLinearizable, kUnknown };

std::string_view verdict_name(Verdict verdict);  // "linearizable", "not_linearizable", "unknown"

// Why a partition is not linearizable: the longest linearizable prefix the search found, the
// state it leaves, and the operations that real time allows next, none of which the model
// accepts from that state. `must_precede` is the earliest-returning operation not in the prefix:
// every candidate was invoked before it returned, and it is itself one of the candidates.
struct Violation {
  std::string key = {};
  std::vector<Operation> prefix = {};  // in linearization order
  Value state_after_prefix = {};
  std::vector<Operation> could_not_place = {};
  Operation must_precede = {};
};

struct CheckStats {
  uint64_t operations = 0;                  // in the history as given
  uint64_t checked_operations = 0;          // searched, after the drops below
  uint64_t dropped_failed = 0;
  uint64_t dropped_unknown_reads = 0;
  uint64_t dropped_unobserved_unknown = 0;  // unknown writes nobody could have seen
  uint64_t unknown_operations = 0;          // unknown writes, cas and deletes searched
  uint64_t partitions = 0;
  uint64_t states_explored = 0;             // summed over partitions
  uint64_t steps = 0;                       // operations tried against the model, summed
  uint64_t largest_partition_states = 0;
};

struct CheckResult {
  Verdict verdict = Verdict::kLinearizable;
  std::optional<Violation> violation = {};      // the first violating key, in key order
  std::vector<std::string> violating_keys = {};  // every violating key, in key order
  std::vector<std::string> undecided_keys = {};  // keys whose search ran out of budget
  CheckStats stats = {};
};

// Errors (invalid argument) only for histories the model cannot judge: a function the model does
// not have, an operation completing before it was invoked, more than 2^30 operations in a key.
Result<CheckResult> check_linearizability(const History& history, ModelKind model, const CheckOptions& options = {});

}  // namespace cairn::sim::linearizability
