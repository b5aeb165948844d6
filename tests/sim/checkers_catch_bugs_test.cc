// Proof that the checks can fail: the same scenario with quorums too small to be linearizable
// (read_quorum + write_quorum <= servers) must produce violations, while the default majority
// quorums on the same seeds pass. Without this, a checker that always said "pass" would go
// unnoticed.
#include <gtest/gtest.h>

#include "sim/scenario_loader.h"
#include "sim/scenario_runner.h"

namespace cairn::sim {
namespace {

int failing_seeds(const proto::Scenario& scenario, uint64_t seeds, proto::Check check) {
  int failures = 0;
  for (uint64_t seed = 1; seed <= seeds; ++seed) {
    auto report = run_scenario(scenario, seed, RunOptions{});
    EXPECT_TRUE(report.ok());
    for (const CheckOutcome& outcome : report->checks) {
      if (outcome.check == check && !outcome.passed) ++failures;
    }
  }
  return failures;
}

TEST(CheckersCatchBugs, SloppyQuorumsBreakLinearizabilityAndMajoritiesDoNot) {
  auto scenario = load_scenario_file(CAIRN_SOURCE_DIR "/scenarios/register_partitions.textproto");
  ASSERT_TRUE(scenario.ok()) << scenario.status().message();
  EXPECT_EQ(failing_seeds(*scenario, 8, proto::READS_SEE_ACKNOWLEDGED_WRITES), 0);
  proto::Scenario sloppy = *scenario;
  sloppy.mutable_workload()->mutable_register_()->set_read_quorum(2);
  sloppy.mutable_workload()->mutable_register_()->set_write_quorum(1);
  EXPECT_GE(failing_seeds(sloppy, 8, proto::READS_SEE_ACKNOWLEDGED_WRITES), 4);
}

TEST(CheckersCatchBugs, WriteQuorumOfOneLosesAcknowledgedWrites) {
  // A write acknowledged by one replica is lost when that replica's disk is replaced.
  auto scenario = load_scenario_file(CAIRN_SOURCE_DIR "/scenarios/register_recovery.textproto");
  ASSERT_TRUE(scenario.ok()) << scenario.status().message();
  proto::Scenario sloppy = *scenario;
  sloppy.mutable_workload()->mutable_register_()->set_write_quorum(1);
  sloppy.mutable_workload()->mutable_register_()->set_read_quorum(1);
  int failures = 0;
  for (uint64_t seed = 1; seed <= 10; ++seed) {
    auto report = run_scenario(sloppy, seed, RunOptions{});
    ASSERT_TRUE(report.ok());
    if (!report->ok) ++failures;
  }
  EXPECT_GE(failures, 5);
}

}  // namespace
}  // namespace cairn::sim
