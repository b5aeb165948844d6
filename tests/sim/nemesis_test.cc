// The nemesis: every episodic fault kind is injected when its plan enables it, respects the
// limits on down and unreliable nodes, and heal_all() ends every episode; swizzle-clogging clogs
// a subset one by one and frees it; aimed faults strike the leader or a follower the cluster
// view names; probe-triggered faults strike the server that hit the probe, and only then.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "core/runtime/event.h"
#include "sim/nemesis.h"
#include "sim_harness.h"

namespace cairn::sim {
namespace {

using testing::World;

FaultPlan episodes(proto::FaultKind kind, uint32_t max_down, proto::FaultTarget target = proto::ANY_SERVER,
                   const std::string& on_probe = {}, double rate = 120) {
  proto::FaultProfile profile;
  proto::Fault* fault = profile.add_faults();
  fault->set_kind(kind);
  fault->set_target(target);
  fault->set_on_probe(on_probe);
  fault->mutable_rate()->set_min(rate);
  fault->mutable_rate()->set_max(rate);
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
  const bool network_kind = name.rfind("partition", 0) == 0 || name.rfind("clog", 0) == 0 || name == "swizzle_clog";
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
                                           proto::NODE_WIPE, proto::CLOCK_STEP, proto::SWIZZLE_CLOG),
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

// A cluster view that names one leader and its followers, as a raft_kv workload would.
class FixedView final : public ClusterView {
 public:
  explicit FixedView(NodeId leader) : leader_(leader) {}
  std::vector<uint64_t> groups_with_leader() const override { return {1}; }
  NodeId leader_of(uint64_t) const override { return leader_; }
  std::vector<NodeId> followers_of(uint64_t) const override {
    std::vector<NodeId> followers;
    for (NodeId id = 1; id <= 5; ++id) {
      if (id != leader_) followers.push_back(id);
    }
    return followers;
  }

 private:
  NodeId leader_;
};

void wait_forever(Runtime&, const BootContext&) {
  Event forever;
  forever.wait();
}

// Which servers an aimed fault took down over a minute.
std::set<NodeId> struck_by(proto::FaultKind kind, proto::FaultTarget target, const ClusterView& view) {
  const FaultPlan plan = episodes(kind, 1, target);
  World world(44, 5, wait_forever, &plan);
  Nemesis nemesis(world.simulator, plan, {1, 2, 3, 4, 5}, {}, &view);
  world.start_all();
  nemesis.start(seconds(60).count());
  std::set<NodeId> struck;
  for (int step = 0; step < 600; ++step) {
    world.run_for(milliseconds(100));
    for (NodeId id = 1; id <= 5; ++id) {
      if (!world.node(id).up() || world.node(id).paused()) struck.insert(id);
    }
  }
  return struck;
}

TEST(Nemesis, AimedFaultsStrikeTheLeaderOrItsFollowers) {
  const FixedView view(3);
  EXPECT_EQ(struck_by(proto::NODE_CRASH, proto::LEADER, view), std::set<NodeId>{3});
  EXPECT_EQ(struck_by(proto::NODE_PAUSE, proto::LEADER, view), std::set<NodeId>{3});
  const std::set<NodeId> followers = struck_by(proto::NODE_CRASH, proto::FOLLOWER, view);
  EXPECT_FALSE(followers.contains(3));
  EXPECT_GE(followers.size(), 3u) << "a random follower each time";
}

// Over a minute of majority/minority splits: in how many samples a split was on, and in how many
// of those server 3 was in the minority (cut off from at least three of the four others).
std::pair<int, int> splits_with_three_in_minority(proto::FaultTarget target) {
  const FixedView view(3);
  const FaultPlan plan = episodes(proto::PARTITION_MAJORITY_MINORITY, 1, target);
  World world(45, 5, wait_forever, &plan);
  Nemesis nemesis(world.simulator, plan, {1, 2, 3, 4, 5}, {}, &view);
  world.start_all();
  nemesis.start(seconds(60).count());
  int split = 0;
  int three_in_minority = 0;
  for (int step = 0; step < 600; ++step) {
    world.run_for(milliseconds(100));
    bool any = false;
    for (NodeId a = 1; a <= 5; ++a) {
      for (NodeId b = 1; b <= 5; ++b) any = any || world.simulator.network().blocked(a, b);
    }
    if (!any) continue;
    ++split;
    int cut_from = 0;
    for (NodeId other : {1, 2, 4, 5}) cut_from += world.simulator.network().blocked(3, other) ? 1 : 0;
    if (cut_from >= 3) ++three_in_minority;
  }
  return {split, three_in_minority};
}

TEST(Nemesis, AnAimedMinoritySplitCutsTheLeaderOffFromItsQuorum) {
  const auto [aimed_splits, aimed_leader_cut] = splits_with_three_in_minority(proto::LEADER);
  ASSERT_GT(aimed_splits, 100);
  EXPECT_EQ(aimed_leader_cut, aimed_splits) << "the leader must be in the minority of every aimed split";
  // Unaimed, the leader is often in the majority: the aim is what puts it in the minority.
  const auto [splits, leader_cut] = splits_with_three_in_minority(proto::ANY_SERVER);
  ASSERT_GT(splits, 100);
  EXPECT_GT(splits - leader_cut, 50) << "unaimed splits should often leave the leader with its quorum";
}

TEST(Nemesis, AnAimedOneWayCutSilencesEveryServerTowardTheLeaderOnly) {
  const FixedView view(3);
  const FaultPlan plan = episodes(proto::PARTITION_ASYMMETRIC, 1, proto::LEADER);
  World world(46, 5, wait_forever, &plan);
  Nemesis nemesis(world.simulator, plan, {1, 2, 3, 4, 5}, {}, &view);
  world.start_all();
  nemesis.start(seconds(60).count());
  int cuts = 0;
  for (int step = 0; step < 600; ++step) {
    world.run_for(milliseconds(100));
    if (!world.simulator.network().blocked(1, 3) && !world.simulator.network().blocked(2, 3)) continue;
    ++cuts;
    for (NodeId other : {1, 2, 4, 5}) {
      EXPECT_TRUE(world.simulator.network().blocked(other, 3)) << other << " can still send to the leader";
      EXPECT_FALSE(world.simulator.network().blocked(3, other)) << "the leader cannot send to " << other;
    }
  }
  EXPECT_GT(cuts, 100);
}

TEST(Nemesis, SwizzleClogsASubsetOneByOneAndFreesIt) {
  const FaultPlan plan = episodes(proto::SWIZZLE_CLOG, 2);
  World world(45, 5, wait_forever, &plan);
  Nemesis nemesis(world.simulator, plan, {1, 2, 3, 4, 5}, {});
  world.start_all();
  nemesis.start(seconds(20).count());
  std::set<std::size_t> clogged_counts;
  for (int step = 0; step < 2000; ++step) {
    world.run_for(milliseconds(10));
    std::size_t clogged = 0;
    for (NodeId id = 1; id <= 5; ++id) {
      const NodeId other = id == 1 ? 2 : 1;
      if (world.simulator.network().clogged(id, other) && world.simulator.network().clogged(other, id)) ++clogged;
    }
    clogged_counts.insert(clogged);
  }
  // Nodes are clogged and unclogged one at a time, so the count passes through several values.
  EXPECT_GE(clogged_counts.size(), 3u);
  EXPECT_GT(world.simulator.fault_counts().count("swizzle_clog"), 0u);
  nemesis.heal_all();
  for (NodeId id = 1; id <= 5; ++id) {
    for (NodeId other = 1; other <= 5; ++other) EXPECT_FALSE(world.simulator.network().clogged(id, other));
  }
}

TEST(Nemesis, AFaultOnAProbeStrikesTheServerThatHitIt) {
  // Server 2 hits the probe once, at 3 s; nobody else ever does.
  const FaultPlan plan = episodes(proto::NODE_CRASH, 2, proto::ANY_SERVER, "test.moment", 1.0);
  std::map<NodeId, int64_t> crashed_at;
  World world(46, 5, [](Runtime& runtime, const BootContext& context) {
    if (runtime.node_id() == 2 && context.incarnation == 1) {
      runtime.sleep(seconds(3));
      runtime.probe("test.moment");
    }
    Event forever;
    forever.wait();
  }, &plan);
  Nemesis nemesis(world.simulator, plan, {1, 2, 3, 4, 5}, {});
  world.start_all();
  nemesis.start(seconds(10).count());
  for (int step = 0; step < 100; ++step) {
    world.run_for(milliseconds(100));
    for (NodeId id = 1; id <= 5; ++id) {
      if (!world.node(id).up() && !crashed_at.contains(id)) crashed_at[id] = world.simulator.now();
    }
  }
  ASSERT_EQ(crashed_at.size(), 1u);
  EXPECT_EQ(crashed_at.begin()->first, 2u);
  EXPECT_LE(crashed_at.begin()->second, seconds(3).count() + milliseconds(100).count()) << "at once, not later";
  EXPECT_EQ(world.simulator.coverage().probe_hits().at("test.moment"), 1u);
}

TEST(Nemesis, ProbesStopTriggeringOnceHealed) {
  const FaultPlan plan = episodes(proto::NODE_CRASH, 2, proto::ANY_SERVER, "test.moment", 1.0);
  World world(47, 3, [](Runtime& runtime, const BootContext&) {
    while (true) {
      runtime.sleep(milliseconds(100));
      runtime.probe("test.moment");
    }
  }, &plan);
  Nemesis nemesis(world.simulator, plan, {1, 2, 3}, {});
  world.start_all();
  nemesis.start(seconds(5).count());
  world.run_for(seconds(1));
  nemesis.heal_all();
  world.run_for(seconds(5));
  for (NodeId id = 1; id <= 3; ++id) EXPECT_TRUE(world.node(id).up()) << "node " << id;
}

TEST(FaultPlan, FaultsOfOneKindMayDifferInTargetAndTrigger) {
  proto::FaultProfile profile;
  for (proto::FaultTarget target : {proto::ANY_SERVER, proto::LEADER}) {
    proto::Fault* fault = profile.add_faults();
    fault->set_kind(proto::NODE_CRASH);
    fault->set_target(target);
    fault->mutable_rate()->set_min(1);
    fault->mutable_rate()->set_max(1);
  }
  profile.mutable_faults(1)->set_on_probe("raft.vote.granted");
  Random random(1);
  const FaultPlan plan = FaultPlan::choose(profile, {1, 2, 3}, random);
  ASSERT_EQ(plan.active().size(), 2u);
  EXPECT_EQ(plan.active()[0].name(), "node_crash");
  EXPECT_EQ(plan.active()[1].name(), "node_crash@leader@raft.vote.granted");
  EXPECT_EQ(plan.find(proto::NODE_CRASH), &plan.active()[0]) << "the plain one";
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
