// The nemesis: every episodic fault kind is injected when its plan enables it, respects the
// limits on down and unreliable nodes, and heal_all() ends every episode.
#include <gtest/gtest.h>

#include "core/runtime/event.h"
#include "sim/nemesis.h"
#include "sim_harness.h"

namespace cairn::sim {
namespace {

using testing::World;

FaultPlan episodes(proto::FaultKind kind, uint32_t max_down) {
  proto::FaultProfile profile;
  proto::Fault* fault = profile.add_faults();
  fault->set_kind(kind);
  fault->mutable_rate()->set_min(120);
  fault->mutable_rate()->set_max(120);
  fault->mutable_duration_ms()->set_min(200);
  fault->mutable_duration_ms()->set_max(2000);
  fault->mutable_magnitude()->set_min(-1000);
  fault->mutable_magnitude()->set_max(1000);
  profile.set_max_down_nodes(max_down);
  Random random(1);
  return FaultPlan::choose(profile, {1, 2, 3, 4, 5}, random);
}

class NemesisKinds : public ::testing::TestWithParam<proto::FaultKind> {};

TEST_P(NemesisKinds, InjectsWithinLimitsAndHealsCompletely) {
  const proto::FaultKind kind = GetParam();
  const FaultPlan plan = episodes(kind, 2);
  World world(42, 5, [](Runtime&, const BootContext&) {
    Event forever;
    forever.wait();
  }, &plan);
  Nemesis nemesis(world.simulator, plan, {1, 2, 3, 4, 5}, {});
  world.start_all();
  nemesis.start(seconds(30).count());
  std::size_t most_down = 0;
  bool saw_blocked_link = false;
  for (int step = 0; step < 300; ++step) {
    world.run_for(milliseconds(100));
    std::size_t down = 0;
    for (NodeId id = 1; id <= 5; ++id) {
      if (!world.node(id).up() || world.node(id).paused()) ++down;
      for (NodeId other = 1; other <= 5; ++other) {
        saw_blocked_link = saw_blocked_link || world.simulator.network().blocked(id, other) ||
                           world.simulator.network().clogged(id, other);
      }
    }
    most_down = std::max(most_down, down);
  }
  const std::string name = fault_kind_name(kind);
  ASSERT_GT(world.simulator.fault_counts().count(name), 0u) << name << " was never injected";
  EXPECT_LE(most_down, 2u) << "max_down_nodes exceeded";
  const bool network_kind = name.rfind("partition", 0) == 0 || name.rfind("clog", 0) == 0;
  EXPECT_EQ(saw_blocked_link, network_kind);
  nemesis.heal_all();
  for (NodeId id = 1; id <= 5; ++id) {
    EXPECT_TRUE(world.node(id).up()) << "node " << id;
    EXPECT_FALSE(world.node(id).paused()) << "node " << id;
    for (NodeId other = 1; other <= 5; ++other) {
      EXPECT_FALSE(world.simulator.network().blocked(id, other));
      EXPECT_FALSE(world.simulator.network().clogged(id, other));
    }
  }
}

INSTANTIATE_TEST_SUITE_P(AllEpisodes, NemesisKinds,
                         ::testing::Values(proto::PARTITION_SYMMETRIC, proto::PARTITION_ASYMMETRIC,
                                           proto::PARTITION_ISOLATE_NODE, proto::PARTITION_MAJORITY_MINORITY,
                                           proto::CLOG_LINK, proto::CLOG_NODE, proto::NODE_CRASH, proto::NODE_PAUSE,
                                           proto::NODE_WIPE, proto::CLOCK_STEP),
                         [](const auto& test) { return fault_kind_name(test.param); });

TEST(Nemesis, WipesOnlyUnreliableNodes) {
  const FaultPlan plan = episodes(proto::NODE_WIPE, 5);
  ASSERT_EQ(plan.unreliable_nodes().size(), 2u) << "a minority of five by default";
  std::set<NodeId> wiped;
  World world(43, 5, [&](Runtime& runtime, const BootContext& context) {
    if (context.incarnation > 1 && !runtime.file_system().exists("marker").value()) wiped.insert(runtime.node_id());
    ASSERT_TRUE(write_file_atomically(runtime.file_system(), "marker", "x").ok());
    Event forever;
    forever.wait();
  }, &plan);
  Nemesis nemesis(world.simulator, plan, {1, 2, 3, 4, 5}, {});
  world.start_all();
  nemesis.start(seconds(60).count());
  world.run_for(seconds(60));
  nemesis.heal_all();
  world.run_for(seconds(1));
  ASSERT_FALSE(wiped.empty());
  for (NodeId node : wiped) EXPECT_TRUE(plan.unreliable(node)) << "node " << node << " was wiped";
}

TEST(FaultPlan, SwarmDrawsDifferentSubsetsPerSeed) {
  proto::FaultProfile profile;
  for (proto::FaultKind kind : {proto::MESSAGE_LOSS, proto::NODE_CRASH, proto::PARTITION_SYMMETRIC, proto::DISK_SLOW}) {
    proto::Fault* fault = profile.add_faults();
    fault->set_kind(kind);
    fault->set_enable_probability(0.5);
    fault->mutable_rate()->set_min(0.1);
    fault->mutable_rate()->set_max(0.2);
  }
  std::set<std::vector<int>> subsets;
  for (uint64_t seed = 1; seed <= 64; ++seed) {
    Random random(seed);
    const FaultPlan plan = FaultPlan::choose(profile, {1, 2, 3}, random);
    std::vector<int> on;
    for (const ActiveFault& fault : plan.active()) {
      on.push_back(fault.kind);
      EXPECT_GE(fault.rate, 0.1);
      EXPECT_LE(fault.rate, 0.2);
    }
    subsets.insert(on);
  }
  EXPECT_GE(subsets.size(), 10u) << "64 seeds should cover many of the 16 subsets";
}

}  // namespace
}  // namespace cairn::sim
