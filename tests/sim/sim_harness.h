// Helpers for tests that build a small simulated world by hand: a Simulator with a network and
// nodes that run a given function, without a scenario file.
#pragma once

#include <functional>
#include <memory>

#include "sim/fault_plan.h"
#include "sim/sim_network.h"
#include "sim/sim_node.h"
#include "sim/simulator.h"

namespace cairn::sim::testing {

inline proto::NetworkModel fixed_latency_network(double milliseconds) {
  proto::NetworkModel model;
  model.mutable_local_latency_ms()->set_min(milliseconds);
  model.mutable_local_latency_ms()->set_max(milliseconds);
  model.mutable_wan_latency_ms()->set_min(milliseconds);
  model.mutable_wan_latency_ms()->set_max(milliseconds);
  return model;
}

inline proto::DiskModel fast_disk() {
  proto::DiskModel model;
  model.set_sector_size(512);
  for (proto::Range* range : {model.mutable_read_latency_ms(), model.mutable_write_latency_ms(),
                              model.mutable_sync_latency_ms()}) {
    range->set_min(0.1);
    range->set_max(0.1);
  }
  return model;
}

// A world of `nodes` nodes (ids 1..n, one region) running `boot`, with an optional fault plan.
class World {
 public:
  World(uint64_t seed, int nodes, BootFunction boot, const FaultPlan* plan = nullptr, double latency_ms = 1.0)
      : simulator(seed) {
    simulator.install_network(std::make_unique<SimNetwork>(simulator, fixed_latency_network(latency_ms), plan));
    for (int i = 1; i <= nodes; ++i) {
      SimNodeOptions options{.id = static_cast<NodeId>(i), .region = "r", .disk = fast_disk(), .faults = plan};
      simulator.add_node(std::make_unique<SimNode>(simulator, options, boot));
    }
  }
  SimNode& node(NodeId id) { return *simulator.find_node(id); }
  void start_all() {
    for (const auto& [id, node] : simulator.nodes()) node->start();
  }
  void run_for(Duration duration) { simulator.run_until(simulator.now() + duration.count()); }

  Simulator simulator;
};

inline FaultPlan plan_with(proto::FaultKind kind, double rate) {
  proto::FaultProfile profile;
  proto::Fault* fault = profile.add_faults();
  fault->set_kind(kind);
  fault->mutable_rate()->set_min(rate);
  fault->mutable_rate()->set_max(rate);
  Random random(1);
  return FaultPlan::choose(profile, {1, 2, 3}, random);
}

}  // namespace cairn::sim::testing
