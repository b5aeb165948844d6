// The linearizability checker on hand-made histories (classic anomalies of registers, cas
// registers and key-value maps, operations of unknown outcome, per-key partitioning, the search
// budget), its building blocks, and properties against generated histories: histories produced
// by really executing operations are always linearizable, a corrupted read in a sequential
// history never is, and on small random histories the checker agrees with a brute-force search.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <map>

#include "sim/checkers/linearizability_checker.h"
#include "sim/checkers/linearizability_report.h"
#include "sim/checkers/linearization_search.h"
#include "sim/checkers/linearized_set.h"
#include "sim/checkers/visited_configurations.h"
#include "tests/support/reaching_property.h"

namespace cairn::sim::linearizability {
namespace {

constexpr int64_t kNever = kNeverCompleted;

Operation make(uint64_t process, Function function, Value value, int64_t invoke, int64_t complete,
               Outcome outcome = Outcome::kOk) {
  return {.process = process,
          .function = function,
          .value = std::move(value),
          .invoke_time = invoke,
          .complete_time = outcome == Outcome::kUnknown ? kNever : complete,
          .outcome = outcome};
}

Operation write(uint64_t process, Value value, int64_t invoke, int64_t complete, Outcome outcome = Outcome::kOk) {
  return make(process, Function::kWrite, std::move(value), invoke, complete, outcome);
}

Operation read(uint64_t process, Value value, int64_t invoke, int64_t complete, Outcome outcome = Outcome::kOk) {
  return make(process, Function::kRead, std::move(value), invoke, complete, outcome);
}

Operation cas(uint64_t process, Value expected, Value value, int64_t invoke, int64_t complete,
              Outcome outcome = Outcome::kOk) {
  Operation operation = make(process, Function::kCas, std::move(value), invoke, complete, outcome);
  operation.expected = std::move(expected);
  return operation;
}

Operation erase(uint64_t process, int64_t invoke, int64_t complete, Outcome outcome = Outcome::kOk) {
  return make(process, Function::kDelete, std::nullopt, invoke, complete, outcome);
}

Operation on(std::string key, Operation operation) {
  operation.key = std::move(key);
  return operation;
}

CheckResult check(const History& history, ModelKind model = ModelKind::kCasRegister,
                  uint64_t max_states = kDefaultMaxStatesPerPartition) {
  Result<CheckResult> result = check_linearizability(history, model, {.max_states_per_partition = max_states});
  EXPECT_TRUE(result.ok()) << result.status();
  return result.ok() ? *result : CheckResult{.verdict = Verdict::kUnknown};
}

Verdict verdict(const History& history, ModelKind model = ModelKind::kCasRegister) { return check(history, model).verdict; }

// --- registers -------------------------------------------------------------------------------

TEST(Linearizability, EmptyHistoryIsLinearizable) {
  EXPECT_EQ(verdict({}, ModelKind::kRegister), Verdict::kLinearizable);
}

TEST(Linearizability, ReadOfANeverWrittenRegisterIsNil) {
  EXPECT_EQ(verdict({read(1, std::nullopt, 0, 10)}, ModelKind::kRegister), Verdict::kLinearizable);
  EXPECT_EQ(verdict({read(1, "a", 0, 10)}, ModelKind::kRegister), Verdict::kNotLinearizable);
}

TEST(Linearizability, ReadAfterACompletedWriteSeesIt) {
  EXPECT_EQ(verdict({write(1, "a", 0, 10), read(2, "a", 20, 30)}, ModelKind::kRegister), Verdict::kLinearizable);
}

TEST(Linearizability, StaleReadAfterAWriteCompletedIsAViolation) {
  const History history{write(1, "a", 0, 10), write(1, "b", 20, 30), read(2, "a", 40, 50)};
  const CheckResult result = check(history, ModelKind::kRegister);
  ASSERT_EQ(result.verdict, Verdict::kNotLinearizable);
  ASSERT_TRUE(result.violation.has_value());
  EXPECT_EQ(result.violation->prefix.size(), 2u);
  EXPECT_EQ(result.violation->state_after_prefix, Value("b"));
  ASSERT_EQ(result.violation->could_not_place.size(), 1u);
  EXPECT_EQ(result.violation->could_not_place[0].function, Function::kRead);
  EXPECT_EQ(result.violation->must_precede.invoke_time, 40);
  const std::string explanation = format_violation(result);
  EXPECT_NE(explanation.find("reads \"a\", but the value is \"b\""), std::string::npos) << explanation;
  EXPECT_NE(explanation.find("2 operation(s)"), std::string::npos) << explanation;
}

TEST(Linearizability, ReadConcurrentWithAWriteMaySeeEitherValue) {
  EXPECT_EQ(verdict({write(1, "a", 0, 10), write(1, "b", 20, 60), read(2, "a", 30, 40)}, ModelKind::kRegister),
            Verdict::kLinearizable);
  EXPECT_EQ(verdict({write(1, "a", 0, 10), write(1, "b", 20, 60), read(2, "b", 30, 40)}, ModelKind::kRegister),
            Verdict::kLinearizable);
}

TEST(Linearizability, ReadsMayNotGoBackInTime) {
  // b overlaps both reads, but once a read saw b a later read cannot see a again.
  const History history{write(1, "a", 0, 10), write(1, "b", 20, 100), read(2, "b", 30, 40), read(3, "a", 50, 60)};
  EXPECT_EQ(verdict(history, ModelKind::kRegister), Verdict::kNotLinearizable);
}

TEST(Linearizability, ConcurrentWritesMayBeSeenInEitherOrderButOnlyOne) {
  // Two concurrent writes; readers during them may see a then b, or b then a.
  const Operation a = write(1, "a", 0, 100);
  const Operation b = write(2, "b", 0, 100);
  EXPECT_EQ(verdict({a, b, read(3, "a", 10, 20), read(3, "b", 30, 40)}, ModelKind::kRegister), Verdict::kLinearizable);
  EXPECT_EQ(verdict({a, b, read(3, "b", 10, 20), read(3, "a", 30, 40)}, ModelKind::kRegister), Verdict::kLinearizable);
  // But not both orders: a -> b -> a would need a written twice.
  EXPECT_EQ(verdict({a, b, read(3, "a", 10, 20), read(3, "b", 30, 40), read(3, "a", 50, 60)}, ModelKind::kRegister),
            Verdict::kNotLinearizable);
  // And two readers may not disagree on the order.
  EXPECT_EQ(verdict({a, b, read(3, "a", 10, 20), read(3, "b", 30, 40), read(4, "b", 10, 20), read(4, "a", 30, 40)},
                    ModelKind::kRegister),
            Verdict::kNotLinearizable);
  // After both complete, every reader sees the same winner.
  EXPECT_EQ(verdict({a, b, read(3, "b", 110, 120), read(4, "a", 130, 140)}, ModelKind::kRegister),
            Verdict::kNotLinearizable);
}

TEST(Linearizability, OperationsTouchingAtOneInstantAreConcurrent) {
  EXPECT_EQ(verdict({write(1, "a", 0, 10), read(2, std::nullopt, 10, 20)}, ModelKind::kRegister), Verdict::kLinearizable);
  EXPECT_EQ(verdict({write(1, "a", 0, 10), read(2, std::nullopt, 11, 20)}, ModelKind::kRegister), Verdict::kNotLinearizable);
}

TEST(Linearizability, FailedOperationsTookNoEffect) {
  EXPECT_EQ(verdict({write(1, "a", 0, 10, Outcome::kFail), read(2, std::nullopt, 20, 30)}, ModelKind::kRegister),
            Verdict::kLinearizable);
  EXPECT_EQ(verdict({write(1, "a", 0, 10, Outcome::kFail), read(2, "a", 20, 30)}, ModelKind::kRegister),
            Verdict::kNotLinearizable);
  // A failed read says nothing, whatever it carries.
  EXPECT_EQ(verdict({write(1, "a", 0, 10), read(2, "zzz", 20, 30, Outcome::kFail)}, ModelKind::kRegister),
            Verdict::kLinearizable);
}

// --- unknown outcomes ------------------------------------------------------------------------

TEST(Linearizability, UnknownWriteThatWasReadMustHaveTakenEffect) {
  const History history{write(1, "a", 0, 10), write(2, "b", 20, 0, Outcome::kUnknown), read(3, "b", 30, 40)};
  const CheckResult result = check(history, ModelKind::kRegister);
  EXPECT_EQ(result.verdict, Verdict::kLinearizable);
  EXPECT_EQ(result.stats.unknown_operations, 1u);
}

TEST(Linearizability, UnknownWriteMayNeverTakeEffect) {
  const History history{write(1, "a", 0, 10), write(2, "b", 20, 0, Outcome::kUnknown), read(3, "a", 30, 40),
                        read(3, "a", 1000, 1010)};
  EXPECT_EQ(verdict(history, ModelKind::kRegister), Verdict::kLinearizable);
}

TEST(Linearizability, UnknownWriteMayTakeEffectLongAfterItsClientGaveUp) {
  const History history{write(1, "a", 0, 10), write(2, "b", 20, 0, Outcome::kUnknown), read(3, "a", 30, 40),
                        read(3, "b", 5000, 5010)};
  EXPECT_EQ(verdict(history, ModelKind::kRegister), Verdict::kLinearizable);
}

TEST(Linearizability, UnknownWriteCannotTakeEffectBeforeItsInvocation) {
  const History history{read(3, "b", 0, 10), write(2, "b", 20, 0, Outcome::kUnknown)};
  EXPECT_EQ(verdict(history, ModelKind::kRegister), Verdict::kNotLinearizable);
}

TEST(Linearizability, UnknownWriteTakesEffectAtMostOnce) {
  const History history{write(1, "a", 0, 10), write(2, "b", 20, 0, Outcome::kUnknown), read(3, "b", 30, 40),
                        write(1, "c", 50, 60), read(3, "b", 70, 80)};
  EXPECT_EQ(verdict(history, ModelKind::kRegister), Verdict::kNotLinearizable);
}

TEST(Linearizability, UnknownWritesNobodyObservedAreDroppedBeforeTheSearch) {
  History history{write(1, "a", 0, 10)};
  for (uint64_t process = 2; process < 40; ++process) {
    history.push_back(write(process, "lost-" + std::to_string(process), 20, 0, Outcome::kUnknown));
  }
  history.push_back(read(1, "a", 30, 40));
  const CheckResult result = check(history, ModelKind::kRegister);
  EXPECT_EQ(result.verdict, Verdict::kLinearizable);
  EXPECT_EQ(result.stats.dropped_unobserved_unknown, 38u);
}

TEST(Linearizability, UnknownReadsAreDropped) {
  const CheckResult result = check({write(1, "a", 0, 10), read(2, "never-written", 20, 0, Outcome::kUnknown)},
                                   ModelKind::kRegister);
  EXPECT_EQ(result.verdict, Verdict::kLinearizable);
  EXPECT_EQ(result.stats.dropped_unknown_reads, 1u);
}

// --- cas registers ---------------------------------------------------------------------------

TEST(Linearizability, CasSucceedsOnlyOnTheExpectedValue) {
  EXPECT_EQ(verdict({write(1, "1", 0, 10), cas(2, "1", "2", 20, 30), read(3, "2", 40, 50)}), Verdict::kLinearizable);
  EXPECT_EQ(verdict({write(1, "3", 0, 10), cas(2, "1", "2", 20, 30)}), Verdict::kNotLinearizable);
  EXPECT_EQ(verdict({cas(2, std::nullopt, "1", 0, 10), read(3, "1", 20, 30)}), Verdict::kLinearizable);
}

TEST(Linearizability, FailedCasChangesNothing) {
  EXPECT_EQ(verdict({write(1, "1", 0, 10), cas(2, "5", "6", 20, 30, Outcome::kFail), read(3, "1", 40, 50)}),
            Verdict::kLinearizable);
  EXPECT_EQ(verdict({write(1, "1", 0, 10), cas(2, "1", "6", 20, 30, Outcome::kFail), read(3, "6", 40, 50)}),
            Verdict::kNotLinearizable);
}

TEST(Linearizability, TwoCasFromTheSameValueCannotBothSucceed) {
  const History history{write(1, "0", 0, 10), cas(2, "0", "1", 20, 40), cas(3, "0", "2", 20, 40)};
  const CheckResult result = check(history);
  EXPECT_EQ(result.verdict, Verdict::kNotLinearizable);
  ASSERT_TRUE(result.violation.has_value());
  const std::string explanation = format_violation(result);
  EXPECT_NE(explanation.find("expects \"0\""), std::string::npos) << explanation;
}

TEST(Linearizability, ConcurrentCasChainInEitherOrder) {
  // 0 -> 1 -> 2 is the only order that works; it is allowed because all overlap.
  const History history{write(1, "0", 0, 10), cas(3, "1", "2", 20, 40), cas(2, "0", "1", 21, 41),
                        read(4, "2", 50, 60)};
  EXPECT_EQ(verdict(history), Verdict::kLinearizable);
}

TEST(Linearizability, UnknownCasMustBeAppliedWhenItsResultIsRead) {
  EXPECT_EQ(verdict({write(1, "1", 0, 10), cas(2, "1", "2", 20, 0, Outcome::kUnknown), read(3, "2", 30, 40)}),
            Verdict::kLinearizable);
  // ... and it can only apply when the value matched at some point after its invocation.
  EXPECT_EQ(verdict({write(1, "7", 0, 10), cas(2, "1", "2", 20, 0, Outcome::kUnknown), read(3, "2", 30, 40)}),
            Verdict::kNotLinearizable);
}

TEST(Linearizability, UnknownCasThatNeverMatchedIsOmitted) {
  // The value is never "1" after the cas is invoked, so it cannot have taken effect; its result
  // "2" is read, but from the write. (Placing it last would not do: a cas cannot apply there.)
  const History history{write(1, "1", 0, 10), write(1, "3", 11, 15), cas(2, "1", "2", 20, 0, Outcome::kUnknown),
                        write(3, "2", 30, 40), read(4, "2", 50, 60)};
  EXPECT_EQ(verdict(history), Verdict::kLinearizable);
}

TEST(Linearizability, UnknownWriteSeenOnlyByACasMustHaveTakenEffect) {
  EXPECT_EQ(verdict({write(1, "a", 0, 10), write(2, "b", 20, 0, Outcome::kUnknown), cas(3, "b", "c", 30, 40),
                     read(4, "c", 50, 60)}),
            Verdict::kLinearizable);
}

// --- key-value maps and partitioning ---------------------------------------------------------

TEST(Linearizability, DeleteMakesAKeyAbsent) {
  EXPECT_EQ(verdict({on("k", write(1, "1", 0, 10)), on("k", erase(1, 20, 30)), on("k", read(2, std::nullopt, 40, 50))},
                    ModelKind::kKeyValue),
            Verdict::kLinearizable);
  EXPECT_EQ(verdict({on("k", write(1, "1", 0, 10)), on("k", erase(1, 20, 30)), on("k", read(2, "1", 40, 50))},
                    ModelKind::kKeyValue),
            Verdict::kNotLinearizable);
}

TEST(Linearizability, KeysArePartitionedAndCheckedIndependently) {
  // As one register this is a stale read; as two keys it is fine.
  const History history{on("x", write(1, "1", 0, 10)), on("y", write(2, "2", 20, 30)), on("x", read(3, "1", 40, 50))};
  const CheckResult result = check(history, ModelKind::kKeyValue);
  EXPECT_EQ(result.verdict, Verdict::kLinearizable);
  EXPECT_EQ(result.stats.partitions, 2u);
  History single = history;
  for (Operation& operation : single) operation.key.clear();
  EXPECT_EQ(verdict(single, ModelKind::kKeyValue), Verdict::kNotLinearizable);
}

TEST(Linearizability, ViolationNamesItsKeyAndOnlyTheBadKeys) {
  const History history{on("good", write(1, "1", 0, 10)), on("good", read(2, "1", 20, 30)),
                        on("bad", write(1, "1", 0, 10)), on("bad", read(2, "2", 20, 30)),
                        on("worse", read(2, "9", 20, 30))};
  const CheckResult result = check(history, ModelKind::kKeyValue);
  ASSERT_EQ(result.verdict, Verdict::kNotLinearizable);
  EXPECT_EQ(result.violation->key, "bad");
  EXPECT_EQ(result.violating_keys, (std::vector<std::string>{"bad", "worse"}));
  EXPECT_NE(format_violation(result).find("key \"bad\""), std::string::npos);
}

TEST(Linearizability, ModelsRejectFunctionsTheyDoNotHave) {
  Result<CheckResult> with_cas = check_linearizability({cas(1, "1", "2", 0, 10)}, ModelKind::kRegister);
  ASSERT_FALSE(with_cas.ok());
  EXPECT_NE(with_cas.status().message().find("cas"), std::string::npos);
  EXPECT_FALSE(check_linearizability({erase(1, 0, 10)}, ModelKind::kCasRegister).ok());
  EXPECT_TRUE(check_linearizability({erase(1, 0, 10)}, ModelKind::kKeyValue).ok());
}

TEST(Linearizability, CompletionBeforeInvocationIsBadInput) {
  Result<CheckResult> result = check_linearizability({write(1, "a", 10, 5)}, ModelKind::kRegister);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kInvalidArgument);
}

// --- the budget ------------------------------------------------------------------------------

// Many concurrent writes with distinct values and reads that pin down one order: small budgets
// cannot finish.
History hard_history(int writers) {
  History history;
  for (int i = 0; i < writers; ++i) history.push_back(write(static_cast<uint64_t>(i), std::to_string(i), 0, 1000));
  for (int i = writers - 1; i >= 0; --i) {
    history.push_back(read(100, std::to_string(i), 10 + 10 * (writers - i), 15 + 10 * (writers - i)));
  }
  return history;
}

TEST(Linearizability, ExhaustedBudgetGivesUnknownNotAGuess) {
  const History history = hard_history(10);
  const CheckResult small = check(history, ModelKind::kRegister, 3);
  EXPECT_EQ(small.verdict, Verdict::kUnknown);
  EXPECT_EQ(small.undecided_keys, std::vector<std::string>{""});
  EXPECT_LE(small.stats.states_explored, 3u);
  const CheckResult enough = check(history, ModelKind::kRegister);
  EXPECT_EQ(enough.verdict, Verdict::kLinearizable);
  EXPECT_GT(enough.stats.states_explored, 3u);
}

TEST(Linearizability, ADefiniteViolationWinsOverAnUndecidedKey) {
  History history;
  for (Operation operation : hard_history(10)) history.push_back(on("hard", operation));
  history.push_back(on("broken", read(1, "x", 0, 10)));
  const CheckResult result = check(history, ModelKind::kKeyValue, 3);
  EXPECT_EQ(result.verdict, Verdict::kNotLinearizable);
  EXPECT_EQ(result.undecided_keys, std::vector<std::string>{"hard"});
  EXPECT_EQ(result.violating_keys, std::vector<std::string>{"broken"});
}

TEST(Linearizability, TheVerdictIsDeterministic) {
  const History history = hard_history(9);
  const CheckResult first = check(history, ModelKind::kRegister, 50);
  const CheckResult second = check(history, ModelKind::kRegister, 50);
  EXPECT_EQ(first.verdict, second.verdict);
  EXPECT_EQ(first.stats.states_explored, second.stats.states_explored);
  EXPECT_EQ(first.stats.steps, second.stats.steps);
}

// --- building blocks -------------------------------------------------------------------------

TEST(LinearizedSet, EqualSetsEncodeEquallyWhateverTheInsertionOrder) {
  LinearizedSet forward(300);
  LinearizedSet backward(300);
  for (std::size_t i = 0; i < 300; i += 3) forward.insert(i);
  for (std::size_t i = 299; i-- > 0;) {
    if (i % 3 == 0) backward.insert(i);
  }
  std::vector<uint64_t> a;
  std::vector<uint64_t> b;
  forward.encode(a);
  backward.encode(b);
  EXPECT_EQ(a, b);
  EXPECT_EQ(forward.fingerprint(), backward.fingerprint());
  backward.erase(99);
  b.clear();
  backward.encode(b);
  EXPECT_NE(a, b);
}

TEST(LinearizedSet, PrefixShapedSetsEncodeCompactly) {
  LinearizedSet set(64 * 1000);
  for (std::size_t i = 0; i < 64 * 900; ++i) set.insert(i);
  set.erase(64 * 100 + 5);
  std::vector<uint64_t> encoding;
  set.encode(encoding);
  EXPECT_LE(encoding.size(), 5u);  // ones, one literal word, ones
}

RC_GTEST_PROP_CASES(LinearizedSet, EncodingIsInjective, 500, ()) {
  const auto first = *rc::gen::container<std::vector<bool>>(200, rc::gen::arbitrary<bool>());
  auto second = first;
  const auto flip = *rc::gen::inRange<std::size_t>(0, 200);
  second[flip] = !second[flip];
  auto encode = [](const std::vector<bool>& bits) {
    LinearizedSet set(bits.size());
    for (std::size_t i = 0; i < bits.size(); ++i) {
      if (bits[i]) set.insert(i);
    }
    std::vector<uint64_t> encoding;
    set.encode(encoding);
    return encoding;
  };
  RC_ASSERT(encode(first) == encode(first));
  RC_ASSERT(encode(first) != encode(second));
}

RC_GTEST_PROP_CASES(LinearizedSet, EncodingAfterEditsEqualsAFreshSetsEncoding, 500, ()) {
  // encode() keeps bounds between calls; edits in any order must not make them stale.
  constexpr std::size_t kCapacity = 400;
  LinearizedSet edited(kCapacity);
  std::vector<bool> contents(kCapacity, false);
  const auto steps = *rc::gen::resize(100, rc::gen::inRange(1, 600));
  for (int step = 0; step < steps; ++step) {
    // Mostly a growing prefix, as in a search, with erases anywhere.
    std::size_t index = *rc::gen::inRange<std::size_t>(0, kCapacity);
    if (*rc::gen::inRange(0, 4) != 0) index = std::find(contents.begin(), contents.end(), false) - contents.begin();
    if (index == kCapacity) continue;
    if (contents[index]) {
      edited.erase(index);
    } else {
      edited.insert(index);
    }
    contents[index] = !contents[index];
    if (*rc::gen::inRange(0, 3) != 0) continue;
    LinearizedSet fresh(kCapacity);
    for (std::size_t i = 0; i < kCapacity; ++i) {
      if (contents[i]) fresh.insert(i);
    }
    std::vector<uint64_t> expected;
    std::vector<uint64_t> actual;
    fresh.encode(expected);
    edited.encode(actual);
    RC_ASSERT(actual == expected);
    RC_ASSERT(edited.fingerprint() == fresh.fingerprint());
  }
}

TEST(VisitedConfigurations, RemembersPairsOfSetAndState) {
  VisitedConfigurations visited;
  LinearizedSet set(10);
  set.insert(3);
  EXPECT_TRUE(visited.insert(set, 1));
  EXPECT_FALSE(visited.insert(set, 1));
  EXPECT_TRUE(visited.insert(set, 2));
  set.insert(4);
  EXPECT_TRUE(visited.insert(set, 1));
  for (uint32_t state = 10; state < 5000; ++state) EXPECT_TRUE(visited.insert(set, state));  // through growth
  EXPECT_FALSE(visited.insert(set, 1));
  EXPECT_EQ(visited.size(), 3u + 4990u);
}

// --- properties ------------------------------------------------------------------------------

// A witness is valid when it follows the specification and never puts an operation before one
// that completed before it was invoked.
bool valid_witness(const std::vector<SearchOperation>& operations, const std::vector<uint32_t>& order) {
  std::vector<bool> placed(operations.size(), false);
  ValueId state = kNilValue;
  for (uint32_t index : order) {
    for (std::size_t other = 0; other < operations.size(); ++other) {
      if (!placed[other] && other != index && operations[other].complete_time < operations[index].invoke_time) {
        return false;
      }
    }
    const std::optional<ValueId> next = apply_operation(state, operations[index].operation);
    if (!next || placed[index]) return false;
    state = *next;
    placed[index] = true;
  }
  for (std::size_t i = 0; i < operations.size(); ++i) {
    if (!placed[i] && operations[i].complete_time != kNever) return false;
  }
  return true;
}

// Exhaustive search without memo or list tricks: the reference the real search must agree with.
bool brute_force_linearizable(const std::vector<SearchOperation>& operations, std::vector<bool>& placed, ValueId state) {
  bool all_known_placed = true;
  for (std::size_t i = 0; i < operations.size(); ++i) all_known_placed &= placed[i] || operations[i].complete_time == kNever;
  if (all_known_placed) return true;
  for (std::size_t i = 0; i < operations.size(); ++i) {
    if (placed[i]) continue;
    bool minimal = true;
    for (std::size_t j = 0; j < operations.size(); ++j) {
      minimal &= placed[j] || j == i || operations[j].complete_time >= operations[i].invoke_time;
    }
    const std::optional<ValueId> next = minimal ? apply_operation(state, operations[i].operation) : std::nullopt;
    if (!next) continue;
    placed[i] = true;
    const bool found = brute_force_linearizable(operations, placed, *next);
    placed[i] = false;
    if (found) return true;
  }
  return false;
}

rc::Gen<SearchOperation> small_operation() {
  return rc::gen::exec([] {
    const auto function = *rc::gen::element(Function::kRead, Function::kWrite, Function::kCas, Function::kDelete);
    const auto invoke = *rc::gen::inRange<int64_t>(0, 20);
    const bool unknown = function != Function::kRead && *rc::gen::inRange(0, 4) == 0;
    const auto length = *rc::gen::inRange<int64_t>(0, 8);
    return SearchOperation{.invoke_time = invoke,
                           .complete_time = unknown ? kNever : invoke + length,
                           .operation = {.function = function,
                                         .value = *rc::gen::inRange<ValueId>(0, 3),
                                         .expected = function == Function::kCas ? *rc::gen::inRange<ValueId>(0, 3) : 0}};
  });
}

RC_GTEST_PROP_CASES(LinearizationSearch, AgreesWithBruteForceOnSmallHistories, 500, ()) {
  // Full-size ranges from the first test on (RapidCheck otherwise starts with tiny values).
  const auto count = *rc::gen::resize(100, rc::gen::inRange<std::size_t>(0, 8));
  const auto operations =
      *rc::gen::container<std::vector<SearchOperation>>(count, rc::gen::resize(100, small_operation()));
  const SearchOutcome outcome = search_linearization(operations, 1'000'000);
  std::vector<bool> placed(operations.size(), false);
  const bool expected = brute_force_linearizable(operations, placed, kNilValue);
  RC_TAG(expected ? "linearizable" : "violation", operations.size() >= 5 ? "5+" : "small");
  RC_ASSERT(outcome.verdict != SearchVerdict::kBudgetExhausted);
  RC_ASSERT((outcome.verdict == SearchVerdict::kLinearizable) == expected);
  if (expected) RC_ASSERT(valid_witness(operations, outcome.linearization));
}

// A random run against a sequential key-value map: each operation takes effect at a random
// instant inside its interval; processes issue one operation at a time.
struct GeneratedRun {
  History history;
  std::vector<std::size_t> effect_order;  // indices, in the order the operations took effect
};

GeneratedRun generate_run(int processes, int operations, int keys, int values, bool overlapping, bool with_unknown) {
  struct Planned {
    Operation operation;
    int64_t effect = 0;
    bool lost = false;  // an unknown operation that never took effect
  };
  std::vector<Planned> planned;
  std::vector<int64_t> clock(static_cast<std::size_t>(processes), 0);
  int64_t sequential_clock = 0;
  for (int i = 0; i < operations; ++i) {
    const auto process = static_cast<std::size_t>(*rc::gen::inRange(0, processes));
    int64_t& now = overlapping ? clock[process] : sequential_clock;
    Planned next;
    next.operation.process = process;
    next.operation.key = "k" + std::to_string(*rc::gen::inRange(0, keys));
    next.operation.function =
        *rc::gen::element(Function::kRead, Function::kRead, Function::kWrite, Function::kCas, Function::kDelete);
    next.operation.invoke_time = now + *rc::gen::inRange<int64_t>(1, 50) * 1000;
    next.operation.complete_time = next.operation.invoke_time + *rc::gen::inRange<int64_t>(0, 200) * 1000;
    // Distinct instants inside the interval; the operation index breaks ties deterministically.
    next.effect = *rc::gen::inRange<int64_t>(next.operation.invoke_time, next.operation.complete_time + 1) * 1000 + i;
    next.operation.invoke_time *= 1000;
    next.operation.complete_time *= 1000;
    next.operation.complete_time += 999;
    now = next.operation.complete_time / 1000 + 1;
    if (next.operation.function == Function::kWrite || next.operation.function == Function::kCas) {
      next.operation.value = std::to_string(*rc::gen::inRange(0, values));
    }
    if (with_unknown && *rc::gen::inRange(0, 6) == 0) {
      next.operation.outcome = Outcome::kUnknown;
      next.lost = *rc::gen::arbitrary<bool>();
    }
    planned.push_back(next);
  }
  std::vector<std::size_t> order(planned.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return planned[a].effect < planned[b].effect; });
  std::map<std::string, std::string> model;
  GeneratedRun run;
  for (std::size_t index : order) {
    Operation& operation = planned[index].operation;
    auto current = model.find(operation.key);
    const Value value = current == model.end() ? Value{} : Value{current->second};
    if (operation.function == Function::kCas) {
      // Half of the cas operations expect the current value, so that some succeed.
      operation.expected = *rc::gen::arbitrary<bool>() ? value : Value{std::to_string(*rc::gen::inRange(0, values))};
    }
    if (planned[index].lost) continue;
    switch (operation.function) {
      case Function::kRead: operation.value = value; break;
      case Function::kWrite: model[operation.key] = *operation.value; break;
      case Function::kCas:
        if (operation.expected == value) {
          model[operation.key] = *operation.value;
        } else if (operation.outcome != Outcome::kUnknown) {
          operation.outcome = Outcome::kFail;
        } else {
          planned[index].lost = true;  // an unknown cas that did not match took no effect
        }
        break;
      case Function::kDelete: model.erase(operation.key); break;
    }
    if (!planned[index].lost) run.effect_order.push_back(index);
  }
  for (Planned& entry : planned) {
    if (entry.operation.outcome == Outcome::kUnknown) entry.operation.complete_time = kNever;
    entry.operation.source_line = run.history.size() + 1;
    run.history.push_back(entry.operation);
  }
  return run;
}

RC_GTEST_PROP_CASES(Linearizability, ExecutedHistoriesAreAlwaysLinearizable, 500, ()) {
  const int processes = *rc::gen::inRange(1, 8);
  const int operations = *rc::gen::inRange(1, 120);
  const int keys = *rc::gen::inRange(1, 4);
  const GeneratedRun run = generate_run(processes, operations, keys, 4, true, true);
  Result<CheckResult> result = check_linearizability(run.history, ModelKind::kKeyValue);
  RC_ASSERT(result.ok());
  RC_ASSERT(result->verdict == Verdict::kLinearizable);
}

RC_GTEST_PROP_CASES(Linearizability, ACorruptedReadInASequentialHistoryIsAlwaysCaught, 500, ()) {
  const int operations = *rc::gen::inRange(2, 100);
  GeneratedRun run = generate_run(*rc::gen::inRange(1, 5), operations, *rc::gen::inRange(1, 3), 5, false, false);
  std::vector<std::size_t> reads;
  for (std::size_t i = 0; i < run.history.size(); ++i) {
    if (run.history[i].function == Function::kRead) reads.push_back(i);
  }
  RC_PRE(!reads.empty());
  Operation& victim = run.history[*rc::gen::elementOf(reads)];
  const Value corrupted = victim.value == Value{"corrupt"} ? Value{"other"} : Value{"corrupt"};
  victim.value = *rc::gen::arbitrary<bool>() || !victim.value ? corrupted : Value{};
  Result<CheckResult> result = check_linearizability(run.history, ModelKind::kKeyValue);
  RC_ASSERT(result.ok());
  RC_ASSERT(result->verdict == Verdict::kNotLinearizable);
  RC_ASSERT(result->violation->must_precede.source_line == victim.source_line);
}

}  // namespace
}  // namespace cairn::sim::linearizability
