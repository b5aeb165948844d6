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

TEST(CheckersCatchBugs, WriteQuorumOfOneLetsReadsMissAcknowledgedWrites) {
  // A write acknowledged by one replica is lost when that replica's disk is replaced, and a read
  // of one replica misses what another acknowledged.
  auto scenario = load_scenario_file(CAIRN_SOURCE_DIR "/scenarios/register_recovery.textproto");
  ASSERT_TRUE(scenario.ok()) << scenario.status().message();
  proto::Scenario sloppy = *scenario;
  sloppy.mutable_workload()->mutable_register_()->set_write_quorum(1);
  sloppy.mutable_workload()->mutable_register_()->set_read_quorum(1);
  EXPECT_GE(failing_seeds(sloppy, 10, proto::READS_SEE_ACKNOWLEDGED_WRITES), 5);
}

TEST(CheckersCatchBugs, WriteQuorumOfOneLeavesAcknowledgedWritesOnTooFewDisks) {
  // Ending the run in the middle of the faults (no quiesce phase), a write acknowledged by one
  // replica may be on one disk only: the durability check must see it. Majority writes never are.
  auto scenario = load_scenario_file(CAIRN_SOURCE_DIR "/scenarios/register_partitions.textproto");
  ASSERT_TRUE(scenario.ok()) << scenario.status().message();
  scenario->set_quiesce_seconds(0);
  scenario->clear_checks();
  scenario->add_checks(proto::ACKNOWLEDGED_WRITES_DURABLE);
  EXPECT_EQ(failing_seeds(*scenario, 20, proto::ACKNOWLEDGED_WRITES_DURABLE), 0);
  proto::Scenario sloppy = *scenario;
  sloppy.mutable_workload()->mutable_register_()->set_write_quorum(1);
  sloppy.mutable_workload()->mutable_register_()->set_read_quorum(1);
  EXPECT_GE(failing_seeds(sloppy, 20, proto::ACKNOWLEDGED_WRITES_DURABLE), 2);
}

TEST(CheckersCatchBugs, StaleReadsCheckedAsLinearizableFailUnderPartitions) {
  // Follower reads may lag: recorded as if they were linearizable, the checker must catch them
  // when partitions leave followers behind, while the same seeds pass when they are not.
  auto scenario = load_scenario_file(CAIRN_SOURCE_DIR "/scenarios/raft_kv_partitions.textproto");
  ASSERT_TRUE(scenario.ok()) << scenario.status().message();
  proto::RaftKvWorkload& workload = *scenario->mutable_workload()->mutable_raft_kv();
  workload.set_stale_read_fraction(0.4);
  workload.set_read_fraction(0.1);
  workload.set_lease_read_fraction(0);
  scenario->set_duration_seconds(8);
  EXPECT_EQ(failing_seeds(*scenario, 6, proto::LINEARIZABLE), 0);
  proto::Scenario sloppy = *scenario;
  sloppy.mutable_workload()->mutable_raft_kv()->set_check_stale_reads(true);
  EXPECT_GE(failing_seeds(sloppy, 6, proto::LINEARIZABLE), 3);
}

}  // namespace
}  // namespace cairn::sim
