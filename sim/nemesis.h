// Nemesis: injects the episodic faults of a run's fault plan — partitions, clogs, crashes,
// pauses, wipes, clock steps — at random times during the fault phase, each ending after a
// drawn duration, and heals everything at once when the quiesce phase begins. (The name is
// Jepsen's.) Per-message and per-operation faults live in the network and the disks.
//
// Partitions split the whole network: servers as the kind says, and every client on one side
// or the other at random (an isolated node is cut off from clients too).
//
// Limits: at most max_down_nodes servers are crashed, paused or wiped at once, and only the
// plan's unreliable nodes are ever wiped.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <vector>

#include "core/runtime/random.h"
#include "sim/fault_plan.h"
#include "sim/sim_network.h"
#include "sim/simulator.h"

namespace cairn::sim {

class Nemesis {
 public:
  Nemesis(Simulator& simulator, const FaultPlan& plan, std::vector<NodeId> servers, std::vector<NodeId> clients);

  // Clock offsets and drift, drawn once per server (call before the servers start).
  void apply_clock_faults();
  // Starts injecting episodes until global time `until`.
  void start(int64_t until);
  // Ends every episode now: lifts partitions and clogs, unpauses and restarts every server.
  void heal_all();

 private:
  void schedule_next(proto::FaultKind kind);
  // Runs `action` after `delay` unless heal_all() cancels it first.
  void schedule_tracked(Duration delay, std::function<void()> action);
  void end_network_episode_after(Duration duration, proto::FaultKind kind, std::function<void()> end);
  void begin_episode(proto::FaultKind kind);
  void partition(proto::FaultKind kind, Duration duration);
  void clog(proto::FaultKind kind, Duration duration);
  void take_down(proto::FaultKind kind, Duration duration);
  void bring_up(NodeId node);
  std::vector<NodeId> up_servers() const;
  // Splits the servers into two non-empty random groups (the first of size `first_size` if > 0).
  std::pair<std::vector<NodeId>, std::vector<NodeId>> split(std::size_t first_size);

  Simulator* simulator_;
  const FaultPlan* plan_;
  std::vector<NodeId> servers_;
  std::vector<NodeId> clients_;
  Random random_;
  int64_t until_ = 0;
  bool healed_ = false;
  std::set<TimerId> pending_;                 // scheduled arrivals and episode ends
  std::set<NodeId> down_;                     // crashed or wiped servers awaiting restart
  std::map<NodeId, TimerId> scheduled_restarts_;
  std::set<NodeId> paused_;
  std::map<NodeId, TimerId> scheduled_unpauses_;
};

}  // namespace cairn::sim
