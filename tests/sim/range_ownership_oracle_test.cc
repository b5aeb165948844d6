// The range-ownership oracle (sim/checkers/range_ownership_oracle.h): each property it names is
// broken by a hand-made history, and random split-and-merge histories applied by three nodes in
// any interleaving never trouble it.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <string>
#include <vector>

#include "sim/checkers/range_ownership_oracle.h"
#include "tests/shard/random_range_history.h"

namespace cairn::sim {
namespace {

constexpr auto range = shard::testing::range_on_three_nodes;

std::string violations(const RangeOwnershipOracle& oracle) {
  std::string all;
  for (const std::string& violation : oracle.violations()) all += violation + "\n";
  return all;
}

TEST(RangeOwnershipOracle, ASplitAndAMergeAppliedNodeByNodeDivideTheKeySpace) {
  RangeOwnershipOracle oracle({range(1, "", "z", 1)});
  for (uint64_t node : {2, 1}) oracle.observe_applied(node, {range(1, "", "m", 2), range(2, "m", "z", 2)});
  oracle.observe_applied(1, {range(1, "", "z", 3)});  // the merge, on node 1 first
  oracle.observe_applied(3, {range(1, "", "m", 2), range(2, "m", "z", 2)});  // node 3 behind
  oracle.observe_applied(2, {range(1, "", "z", 3)});
  EXPECT_TRUE(oracle.ok()) << violations(oracle);
  ASSERT_EQ(oracle.owners().size(), 1u);
  EXPECT_EQ(oracle.owners()[0].generation(), 3u);
}

TEST(RangeOwnershipOracle, HalvesThatOverlapGiveAKeyTwoOwners) {
  RangeOwnershipOracle oracle({range(1, "", "z", 1)});
  oracle.observe_applied(1, {range(1, "", "n", 2), range(2, "m", "z", 2)});
  EXPECT_NE(violations(oracle).find("one owner per key: range 1 [\"\", \"n\") gen 2 and range 2 [\"m\", \"z\") gen 2"),
            std::string::npos)
      << violations(oracle);
}

TEST(RangeOwnershipOracle, HalvesWithAGapLeaveKeysWithoutOwner) {
  RangeOwnershipOracle oracle({range(1, "", "z", 1)});
  oracle.observe_applied(1, {range(1, "", "l", 2), range(2, "m", "z", 2)});
  EXPECT_NE(violations(oracle).find("no key without owner: no range holds [\"l\", \"m\")"), std::string::npos)
      << violations(oracle);
}

TEST(RangeOwnershipOracle, HalfASplitAloneLeavesKeysWithoutOwner) {
  RangeOwnershipOracle oracle({range(1, "", "z", 1)});
  oracle.observe_applied(1, {range(1, "", "m", 2)});  // the right half never applied
  EXPECT_NE(violations(oracle).find("no key without owner: no range holds [\"m\", \"z\")"), std::string::npos)
      << violations(oracle);
}

TEST(RangeOwnershipOracle, ANodeGoingBackAGenerationIsCaught) {
  RangeOwnershipOracle oracle({range(1, "", "z", 1)});
  oracle.observe_applied(1, {range(1, "", "m", 2), range(2, "m", "z", 2)});
  oracle.observe_applied(1, {range(1, "", "z", 1)});
  EXPECT_NE(violations(oracle).find("generations grow: node 1 applied range 1 [\"\", \"z\") gen 1 after range 1"),
            std::string::npos)
      << violations(oracle);
}

TEST(RangeOwnershipOracle, ASpanChangedWithoutANewGenerationIsCaught) {
  RangeOwnershipOracle oracle({range(1, "", "z", 1), range(2, "z", "zz", 1)});
  oracle.observe_applied(1, {range(1, "", "z", 1)});
  oracle.observe_applied(1, {range(1, "", "y", 1), range(2, "y", "zz", 1)});
  EXPECT_NE(violations(oracle).find("without a new generation"), std::string::npos) << violations(oracle);
  EXPECT_NE(violations(oracle).find("one history"), std::string::npos) << violations(oracle);
}

TEST(RangeOwnershipOracle, TwoNodesApplyingOneGenerationDifferentlyIsCaught) {
  RangeOwnershipOracle oracle({range(1, "", "z", 1)});
  oracle.observe_applied(1, {range(1, "", "m", 2), range(2, "m", "z", 2)});
  oracle.observe_applied(2, {range(1, "", "k", 2), range(2, "k", "z", 2)});
  EXPECT_NE(violations(oracle).find("one history: node 2 applied range 1 [\"\", \"k\") gen 2"), std::string::npos)
      << violations(oracle);
}

TEST(RangeOwnershipOracle, ABootstrapThatDoesNotDivideItsSpanIsCaught) {
  RangeOwnershipOracle oracle({range(1, "", "g", 1), range(2, "h", "z", 1)});
  EXPECT_NE(violations(oracle).find("no range holds [\"g\", \"h\")"), std::string::npos) << violations(oracle);
}

// Three nodes apply a random history's steps, each in order, interleaved at random.
std::string apply_interleaved(uint64_t seed) {
  Random random(seed);
  const shard::testing::RangeHistory history =
      shard::testing::random_range_history(random, 1 + static_cast<int>(random.uniform(60)));
  RangeOwnershipOracle oracle(history.steps.front());
  std::vector<std::size_t> next_step = {1, 1, 1};
  for (;;) {
    std::vector<std::size_t> behind;
    for (std::size_t node = 0; node < next_step.size(); ++node) {
      if (next_step[node] < history.steps.size()) behind.push_back(node);
    }
    if (behind.empty()) break;
    const std::size_t node = behind[random.uniform(behind.size())];
    oracle.observe_applied(node + 1, history.steps[next_step[node]++]);
  }
  if (!oracle.ok()) return violations(oracle);
  if (oracle.owners().size() != history.present.size()) return "the owners are not the history's present ranges";
  return "";
}

RC_GTEST_PROP(RangeOwnershipOracleProperty, HistoriesThatFollowTheRulesPassInAnyInterleaving, ()) {
  const std::string failure = apply_interleaved(*rc::gen::arbitrary<uint64_t>());
  RC_ASSERT(failure == std::string());
}

}  // namespace
}  // namespace cairn::sim
