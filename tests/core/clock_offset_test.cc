// The maximum clock offset, end to end in the simulator (core/kv/clock_offset_monitor.h): three
// servers; node 3 leads group 1 when its wall clock jumps ten seconds ahead. Node 3 must find
// itself out of line (both peers beyond the 500 ms maximum), refuse clients with an error that
// names its clock, and hand its leadership over; nodes 1 and 2 (one peer of two beyond: no
// majority) must keep serving; and once node 3's clock is put right it must serve again.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/kv/kv_client.h"
#include "core/kv/kv_node.h"
#include "core/runtime/event.h"
#include "tests/sim/sim_harness.h"

namespace cairn::kv {
namespace {

constexpr NodeId kServers[] = {1, 2, 3};
constexpr NodeId kClientNode = 100;
constexpr NodeId kSkewed = 3;

double gauge_value(sim::SimNode& node, std::string_view name, metrics::Labels labels = {}) {
  return node.metrics().gauge(name, "", std::move(labels)).value();
}

void serve(Runtime& runtime, const sim::BootContext& context) {
  KvNodeOptions options;
  options.voters = {std::begin(kServers), std::end(kServers)};
  options.bootstrap = context.incarnation == 1;
  options.clock_monitor.ping_interval = milliseconds(200);
  options.clock_monitor.measurement_lifetime = seconds(1);
  auto node = KvNode::start(runtime, options);
  ASSERT_TRUE(node.ok()) << node.status().to_string();
  Event forever;
  forever.wait();
}

struct Observations {
  bool led_before = false;
  std::vector<std::string> errors;          // what went wrong that should not have
  std::string refusal;                      // node 3's answer while out of line
  bool wrote_through_others = false;        // a write served by nodes 1 and 2 meanwhile
  bool skewed_led_while_out_of_line = true;
  bool wrote_through_skewed_afterwards = false;
  bool done = false;
};

TEST(ClockOffset, ANodeWhoseClockRunsAheadStopsServingAndTheOthersCarryOn) {
  Observations seen;
  sim::testing::World world(7, 3, serve);
  sim::add_program_node(world.simulator, kClientNode, "r", sim::testing::fast_disk(), [&](Runtime& runtime) {
    KvClientOptions all_options;
    all_options.servers = {std::begin(kServers), std::end(kServers)};
    auto all = KvClient::create(runtime, all_options);
    ASSERT_TRUE(all.ok());
    KvClientOptions skewed_options;
    skewed_options.servers = {kSkewed};
    skewed_options.reply_service = services::kFirstEphemeralService + 1;
    auto skewed = KvClient::create(runtime, skewed_options);
    ASSERT_TRUE(skewed.ok());
    if (auto written = (*all)->put("before", "1", seconds(10)); !written.ok()) seen.errors.push_back(written.status().to_string());
    if (Status moved = (*all)->transfer_leadership(kSkewed, seconds(10)); !moved.ok()) seen.errors.push_back(moved.to_string());
    runtime.sleep(seconds(1));
    seen.led_before = gauge_value(world.node(kSkewed), "cairn_raft_is_leader", {{"group", "1"}}) == 1;

    world.node(kSkewed).clock().step(seconds(10));
    runtime.sleep(seconds(2));  // a few ping rounds, then the supervisor's hand-over
    auto refused = (*skewed)->put("through-3", "x", seconds(1));
    if (!refused.ok()) seen.refusal = refused.status().to_string();
    auto written = (*all)->put("during", "2", seconds(10));
    seen.wrote_through_others = written.ok();
    if (!written.ok()) seen.errors.push_back(written.status().to_string());
    seen.skewed_led_while_out_of_line = gauge_value(world.node(kSkewed), "cairn_raft_is_leader", {{"group", "1"}}) == 1;

    world.node(kSkewed).clock().step(-seconds(10));
    runtime.sleep(seconds(2));
    auto again = (*skewed)->put("after", "3", seconds(10));
    seen.wrote_through_skewed_afterwards = again.ok();
    if (!again.ok()) seen.errors.push_back("after the clock was fixed: " + again.status().to_string());
    seen.done = true;
  });
  world.start_all();
  ASSERT_TRUE(world.simulator.run_until(world.simulator.now() + seconds(60).count(), [&] { return seen.done; }));
  EXPECT_TRUE(seen.errors.empty()) << seen.errors.front();
  EXPECT_TRUE(seen.led_before) << "the test means node 3 to lead when its clock jumps";
  EXPECT_NE(seen.refusal.find("clock is beyond the maximum offset"), std::string::npos) << seen.refusal;
  EXPECT_TRUE(seen.wrote_through_others);
  EXPECT_FALSE(seen.skewed_led_while_out_of_line) << "node 3 kept its leadership with its clock out of line";
  EXPECT_TRUE(seen.wrote_through_skewed_afterwards);
  EXPECT_EQ(gauge_value(world.node(1), "cairn_clock_out_of_line"), 0.0);
  EXPECT_EQ(gauge_value(world.node(kSkewed), "cairn_clock_out_of_line"), 0.0) << "in line again at the end";
}

}  // namespace
}  // namespace cairn::kv
