// Wing–Gong–Lowe linearization search over one partition (see linearization_search.h).
#include "sim/checkers/linearization_search.h"

#include <algorithm>
#include <tuple>

#include "core/runtime/assert.h"
#include "sim/checkers/linearized_set.h"
#include "sim/checkers/visited_configurations.h"

namespace cairn::sim::linearizability {
namespace {

struct TimedEntry {
  int64_t time = 0;
  bool is_return = false;
  uint32_t operation = 0;
};

// Calls and returns in the order the search walks them; at equal times calls come first.
std::vector<TimedEntry> sorted_entries(const std::vector<SearchOperation>& operations) {
  std::vector<TimedEntry> entries;
  entries.reserve(operations.size() * 2);
  for (uint32_t i = 0; i < operations.size(); ++i) {
    entries.push_back({.time = operations[i].invoke_time, .is_return = false, .operation = i});
    entries.push_back({.time = operations[i].complete_time, .is_return = true, .operation = i});
  }
  std::sort(entries.begin(), entries.end(), [](const TimedEntry& a, const TimedEntry& b) {
    return std::tie(a.time, a.is_return, a.operation) < std::tie(b.time, b.is_return, b.operation);
  });
  return entries;
}

// The doubly linked list of entries, with Lowe's lift and unlift: linearizing an operation
// removes its call and its return; backtracking puts them back where they were (the removed
// nodes keep their links, as in dancing links, so unlifting in reverse order is exact).
class EntryList {
 public:
  static constexpr int32_t kEnd = -1;

  explicit EntryList(const std::vector<TimedEntry>& entries)
      : previous_(entries.size() + 1), next_(entries.size() + 1), match_(entries.size() + 1, kEnd),
        operation_(entries.size() + 1, 0), is_return_(entries.size() + 1, false) {
    std::vector<int32_t> call_of_operation(entries.size() / 2, kEnd);
    for (std::size_t i = 0; i <= entries.size(); ++i) {
      previous_[i] = static_cast<int32_t>(i) - 1;
      next_[i] = i == entries.size() ? kEnd : static_cast<int32_t>(i + 1);
    }
    for (std::size_t i = 0; i < entries.size(); ++i) {
      const int32_t node = static_cast<int32_t>(i + 1);
      operation_[node] = entries[i].operation;
      is_return_[node] = entries[i].is_return;
      if (entries[i].is_return) {
        match_[call_of_operation[entries[i].operation]] = node;
      } else {
        call_of_operation[entries[i].operation] = node;
      }
    }
  }

  int32_t first() const { return next_[kHead]; }
  int32_t next(int32_t node) const { return next_[node]; }
  bool is_return(int32_t node) const { return is_return_[node]; }
  uint32_t operation(int32_t node) const { return operation_[node]; }

  void lift(int32_t call) {
    unlink(call);
    unlink(match_[call]);
  }

  void unlift(int32_t call) {
    relink(match_[call]);
    relink(call);
  }

 private:
  static constexpr int32_t kHead = 0;

  void unlink(int32_t node) {
    next_[previous_[node]] = next_[node];
    if (next_[node] != kEnd) previous_[next_[node]] = previous_[node];
  }

  void relink(int32_t node) {
    next_[previous_[node]] = node;
    if (next_[node] != kEnd) previous_[next_[node]] = node;
  }

  std::vector<int32_t> previous_;
  std::vector<int32_t> next_;
  std::vector<int32_t> match_;  // a call's return node
  std::vector<uint32_t> operation_;
  std::vector<bool> is_return_;
};

class Search {
 public:
  Search(const std::vector<SearchOperation>& operations, uint64_t max_states)
      : operations_(operations), entries_(sorted_entries(operations)), list_(entries_),
        rank_(operations.size()), linearized_(operations.size()), max_states_(max_states) {
    // Numbering operations by call order keeps linearized sets prefix-shaped (linearized_set.h).
    uint32_t next_rank = 0;
    for (const TimedEntry& entry : entries_) {
      if (!entry.is_return) rank_[entry.operation] = next_rank++;
    }
  }

  SearchOutcome run() {
    SearchOutcome outcome;
    outcome.verdict = walk();
    outcome.states_explored = visited_.size();
    outcome.steps = steps_;
    if (outcome.verdict == SearchVerdict::kLinearizable) {
      for (const Frame& frame : stack_) outcome.linearization.push_back(list_.operation(frame.call));
    } else {
      outcome.linearization = longest_;
    }
    if (outcome.verdict == SearchVerdict::kNotLinearizable) explain_failure(outcome);
    return outcome;
  }

 private:
  struct Frame {
    int32_t call = 0;
    ValueId previous_state = kNilValue;
  };

  SearchVerdict walk() {
    int32_t entry = list_.first();
    while (entry != EntryList::kEnd) {
      if (!list_.is_return(entry)) {
        if (visited_.size() >= max_states_) return SearchVerdict::kBudgetExhausted;
        entry = try_linearize(entry) ? list_.first() : list_.next(entry);
        continue;
      }
      // Everything left returns at +infinity: unknown operations, which may be left out.
      if (operations_[list_.operation(entry)].complete_time == kNeverCompleted) return SearchVerdict::kLinearizable;
      if (stack_.empty()) return SearchVerdict::kNotLinearizable;
      entry = backtrack();
    }
    return SearchVerdict::kLinearizable;
  }

  // Linearizes the operation of `call` next if the specification allows it from the current
  // state and the resulting configuration is new.
  bool try_linearize(int32_t call) {
    ++steps_;
    const uint32_t operation = list_.operation(call);
    const std::optional<ValueId> next_state = apply_operation(state_, operations_[operation].operation);
    if (!next_state) return false;
    linearized_.insert(rank_[operation]);
    if (!visited_.insert(linearized_, *next_state)) {
      linearized_.erase(rank_[operation]);
      return false;
    }
    stack_.push_back({.call = call, .previous_state = state_});
    state_ = *next_state;
    list_.lift(call);
    remember_if_longest();
    return true;
  }

  // Undoes the latest linearization; returns the entry after its call, the next alternative.
  int32_t backtrack() {
    const Frame frame = stack_.back();
    stack_.pop_back();
    unchanged_prefix_ = std::min(unchanged_prefix_, stack_.size());
    state_ = frame.previous_state;
    linearized_.erase(rank_[list_.operation(frame.call)]);
    list_.unlift(frame.call);
    return list_.next(frame.call);
  }

  // Keeps the longest prefix seen for the explanation. Only the part of the stack that changed
  // since the last copy is copied, so this costs O(1) amortized per push and pop.
  void remember_if_longest() {
    if (stack_.size() <= longest_.size()) return;
    longest_.resize(std::min(unchanged_prefix_, longest_.size()));
    for (std::size_t i = longest_.size(); i < stack_.size(); ++i) longest_.push_back(list_.operation(stack_[i].call));
    unchanged_prefix_ = stack_.size();
  }

  // After the longest prefix, the earliest return not yet placed bounds what could come next:
  // exactly the operations invoked before it (calls before it in walk order).
  void explain_failure(SearchOutcome& outcome) const {
    std::vector<bool> placed(operations_.size(), false);
    for (uint32_t operation : longest_) placed[operation] = true;
    for (const TimedEntry& entry : entries_) {
      if (placed[entry.operation]) continue;
      if (!entry.is_return) {
        outcome.next_candidates.push_back(entry.operation);
        continue;
      }
      CAIRN_ASSERT(entry.time != kNeverCompleted, "a failed search must leave a completed operation unplaced");
      outcome.first_unplaced_return = entry.operation;
      return;
    }
    CAIRN_PANIC("a failed search placed every operation");
  }

  const std::vector<SearchOperation>& operations_;
  std::vector<TimedEntry> entries_;
  EntryList list_;
  std::vector<uint32_t> rank_;  // an operation's position in call order
  LinearizedSet linearized_;
  VisitedConfigurations visited_;
  std::vector<Frame> stack_;
  ValueId state_ = kNilValue;
  uint64_t max_states_ = 0;
  uint64_t steps_ = 0;
  std::vector<uint32_t> longest_;
  std::size_t unchanged_prefix_ = 0;  // stack_ and longest_ agree on this many first entries
};

}  // namespace

SearchOutcome search_linearization(const std::vector<SearchOperation>& operations, uint64_t max_states) {
  CAIRN_ASSERT(operations.size() < (uint64_t{1} << 30), "too many operations for one search");
  return Search(operations, max_states).run();
}

}  // namespace cairn::sim::linearizability
