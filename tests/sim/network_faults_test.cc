// Each network fault of the simulator is observed while it lasts and gone once healed:
// partitions (symmetric and one-way) and clogs between nodes, loss, duplication, and messages
// to crashed or restarted nodes. Messages are real envelopes, serialized and parsed.
#include <gtest/gtest.h>

#include <map>

#include "core/runtime/event.h"
#include "sim_harness.h"

namespace cairn::sim {
namespace {

using testing::World;
constexpr ServiceId kPing = 77;

// Every node counts the pings it receives, by sender.
struct PingCounts {
  std::map<std::pair<NodeId, NodeId>, int> received;  // (from, to) -> count
  int of(NodeId from, NodeId to) { return received[{from, to}]; }
};

BootFunction ping_service(PingCounts& counts) {
  return [&counts](Runtime& runtime, const BootContext&) {
    auto binding = runtime.network().bind(kPing, [&counts, &runtime](proto::Envelope&& envelope) {
      ++counts.received[{envelope.source(), runtime.node_id()}];
    });
    ASSERT_TRUE(binding.ok());
    Event forever;
    forever.wait();
  };
}

// Sends `count` pings numbered 1..count (in request_id) from one node to another.
void send_numbered(World& world, NodeId from, NodeId to, uint64_t count) {
  for (uint64_t i = 1; i <= count; ++i) {
    proto::Envelope envelope;
    envelope.set_destination(to);
    envelope.set_service(kPing);
    envelope.set_request_id(i);
    ASSERT_TRUE(world.simulator.network().send(from, envelope).ok());
  }
}

void ping(World& world, NodeId from, NodeId to) {
  proto::Envelope envelope;
  envelope.set_destination(to);
  envelope.set_service(kPing);
  envelope.set_kind(proto::ONE_WAY);
  ASSERT_TRUE(world.simulator.network().send(from, envelope).ok());
}

TEST(NetworkFaults, SymmetricPartitionBlocksBothWaysUntilHealed) {
  PingCounts counts;
  World world(1, 2, ping_service(counts));
  world.start_all();
  world.run_for(milliseconds(10));
  const uint64_t episode = world.simulator.network().block({{1, 2}, {2, 1}});
  ping(world, 1, 2);
  ping(world, 2, 1);
  world.run_for(milliseconds(50));
  EXPECT_EQ(counts.of(1, 2), 0);
  EXPECT_EQ(counts.of(2, 1), 0);
  EXPECT_EQ(world.simulator.network().stats().dropped.at("partition"), 2u);
  world.simulator.network().unblock(episode);
  ping(world, 1, 2);
  ping(world, 2, 1);
  world.run_for(milliseconds(50));
  EXPECT_EQ(counts.of(1, 2), 1);
  EXPECT_EQ(counts.of(2, 1), 1);
}

TEST(NetworkFaults, AsymmetricPartitionBlocksOneDirectionOnly) {
  PingCounts counts;
  World world(2, 2, ping_service(counts));
  world.start_all();
  world.run_for(milliseconds(10));
  world.simulator.network().block({{1, 2}});
  ping(world, 1, 2);
  ping(world, 2, 1);
  world.run_for(milliseconds(50));
  EXPECT_EQ(counts.of(1, 2), 0);
  EXPECT_EQ(counts.of(2, 1), 1);
  world.simulator.network().heal_all();
  ping(world, 1, 2);
  world.run_for(milliseconds(50));
  EXPECT_EQ(counts.of(1, 2), 1);
}

TEST(NetworkFaults, ClogHoldsMessagesAndDeliversThemWhenLifted) {
  PingCounts counts;
  World world(3, 2, ping_service(counts));
  world.start_all();
  world.run_for(milliseconds(10));
  const uint64_t episode = world.simulator.network().clog({{1, 2}});
  for (int i = 0; i < 5; ++i) ping(world, 1, 2);
  world.run_for(seconds(1));
  EXPECT_EQ(counts.of(1, 2), 0) << "held, not delivered";
  world.simulator.network().unclog(episode);
  world.run_for(milliseconds(50));
  EXPECT_EQ(counts.of(1, 2), 5) << "held, not lost";
}

TEST(NetworkFaults, LossDropsAndDuplicationDoubles) {
  {
    PingCounts counts;
    const FaultPlan plan = testing::plan_with(proto::MESSAGE_LOSS, 1.0);
    World world(4, 2, ping_service(counts), &plan);
    world.start_all();
    world.run_for(milliseconds(10));
    for (int i = 0; i < 10; ++i) ping(world, 1, 2);
    world.run_for(milliseconds(50));
    EXPECT_EQ(counts.of(1, 2), 0);
    EXPECT_EQ(world.simulator.fault_counts().at("message_loss"), 10u);
  }
  {
    PingCounts counts;
    const FaultPlan plan = testing::plan_with(proto::MESSAGE_DUPLICATION, 1.0);
    World world(5, 2, ping_service(counts), &plan);
    world.start_all();
    world.run_for(milliseconds(10));
    for (int i = 0; i < 10; ++i) ping(world, 1, 2);
    world.run_for(milliseconds(50));
    EXPECT_EQ(counts.of(1, 2), 20);
  }
}

TEST(NetworkFaults, ReorderingDelaysSomeMessagesPastOthers) {
  std::vector<uint64_t> order;
  const FaultPlan plan = [] {
    proto::FaultProfile profile;
    proto::Fault* fault = profile.add_faults();
    fault->set_kind(proto::MESSAGE_REORDER);
    fault->mutable_rate()->set_min(0.5);
    fault->mutable_rate()->set_max(0.5);
    fault->mutable_magnitude()->set_min(20);
    fault->mutable_magnitude()->set_max(20);
    Random random(1);
    return FaultPlan::choose(profile, {1, 2}, random);
  }();
  World world(6, 2, [&](Runtime& runtime, const BootContext&) {
    auto binding = runtime.network().bind(kPing, [&](proto::Envelope&& envelope) { order.push_back(envelope.request_id()); });
    Event forever;
    forever.wait();
  }, &plan);
  world.start_all();
  world.run_for(milliseconds(10));
  send_numbered(world, 1, 2, 40);
  world.run_for(seconds(1));
  ASSERT_EQ(order.size(), 40u);
  EXPECT_FALSE(std::is_sorted(order.begin(), order.end()));
}

TEST(NetworkFaults, MessagesToACrashedOrRestartedNodeAreDropped) {
  PingCounts counts;
  World world(7, 2, ping_service(counts));
  world.start_all();
  world.run_for(milliseconds(10));
  world.node(2).crash();
  ping(world, 1, 2);
  world.run_for(milliseconds(50));
  EXPECT_EQ(world.simulator.network().stats().dropped.at("node_down"), 1u);
  world.node(2).start();
  world.run_for(milliseconds(1));
  ping(world, 1, 2);
  world.node(2).crash();  // while the message is in flight
  world.node(2).start();
  world.run_for(milliseconds(50));
  EXPECT_EQ(world.simulator.network().stats().dropped.at("connection_reset"), 1u);
  ping(world, 1, 2);
  world.run_for(milliseconds(50));
  EXPECT_EQ(counts.of(1, 2), 1);
}

TEST(NetworkFaults, UnknownDestinationAndOversizedMessagesAreLocalErrors) {
  PingCounts counts;
  World world(8, 1, ping_service(counts));
  proto::Envelope envelope;
  envelope.set_destination(99);
  EXPECT_EQ(world.simulator.network().send(1, envelope).code(), StatusCode::kNotFound);
  envelope.set_destination(1);
  envelope.set_payload(std::string(limits::kMessageBytesMax + 1, 'x'));
  EXPECT_EQ(world.simulator.network().send(1, envelope).code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace cairn::sim

namespace cairn::sim {
namespace {

TEST(NetworkFaults, APausedNodeReceivesNothingUntilItResumes) {
  PingCounts counts;
  World world(9, 2, ping_service(counts));
  world.start_all();
  world.run_for(milliseconds(10));
  world.node(2).pause();
  for (int i = 0; i < 3; ++i) ping(world, 1, 2);
  world.run_for(seconds(1));
  EXPECT_EQ(counts.of(1, 2), 0) << "a frozen process handles nothing";
  world.node(2).unpause();
  world.run_for(milliseconds(1));
  EXPECT_EQ(counts.of(1, 2), 3) << "the buffered messages arrive on resume";
}

}  // namespace
}  // namespace cairn::sim

#include "core/runtime/mailbox.h"

namespace cairn::sim {
namespace {

TEST(NetworkFaults, MailboxQueuesUpToItsCapacityAndCountsTheRest) {
  std::vector<uint64_t> received;
  uint64_t dropped = 0;
  World world(10, 2, [&](Runtime& runtime, const BootContext&) {
    if (runtime.node_id() != 2) return;
    auto mailbox = Mailbox::create(runtime.network(), kPing, 4);
    ASSERT_TRUE(mailbox.ok());
    EXPECT_EQ(Mailbox::create(runtime.network(), kPing, 4).status().code(), StatusCode::kAlreadyExists);
    runtime.sleep(seconds(1));  // let ten messages arrive while nobody receives
    dropped = (*mailbox)->dropped();
    while ((*mailbox)->queued() > 0) received.push_back((*mailbox)->receive().value().request_id());
  });
  world.start_all();
  world.run_for(milliseconds(10));
  send_numbered(world, 1, 2, 10);
  world.run_for(seconds(2));
  EXPECT_EQ(received.size(), 4u);
  EXPECT_EQ(dropped, 6u);
}

}  // namespace
}  // namespace cairn::sim
