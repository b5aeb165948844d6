// Nemesis: injects the episodic faults of a run's fault plan — partitions, clogs, swizzled clogs,
// crashes, pauses, wipes, clock steps — during the fault phase, each ending after a drawn
// duration, and heals everything at once when the quiesce phase begins. (The name is Jepsen's.)
// Per-message and per-operation faults live in the network and the disks.
//
// An episode starts either at random times (Poisson arrivals at the fault's rate) or, when the
// fault names a coverage probe (`on_probe`), at the moment a server hits that probe, with the
// fault's rate as the chance per hit: a crash just after a vote is granted, just after an append
// is acknowledged, just before an apply. Crashes, pauses, wipes, isolations and clogs can be
// aimed (`target`) at the current leader of a Raft group or at one of its followers, as the
// workload's ClusterView last saw them.
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
#include <string>
#include <vector>

#include "core/runtime/random.h"
#include "sim/cluster_view.h"
#include "sim/fault_plan.h"
#include "sim/sim_network.h"
#include "sim/simulator.h"

namespace cairn::sim {

class Nemesis {
 public:
  // `view` (optional) tells who leads, for faults aimed at leaders or followers.
  Nemesis(Simulator& simulator, const FaultPlan& plan, std::vector<NodeId> servers, std::vector<NodeId> clients,
          const ClusterView* view = nullptr);

  // Clock offsets and drift, drawn once per server (call before the servers start).
  void apply_clock_faults();
  // Starts injecting episodes until global time `until`, and listens to the run's coverage
  // probes for the triggered ones.
  void start(int64_t until);
  // Ends every episode now: lifts partitions and clogs, unpauses and restarts every server.
  void heal_all();

 private:
  // Faults are named by their index in plan_->active().
  void schedule_next(std::size_t fault);
  void on_probe(NodeId node, std::string_view name);
  // Runs `action` after `delay` unless heal_all() cancels it first.
  void schedule_tracked(Duration delay, std::function<void()> action);
  void end_network_episode_after(Duration duration, const ActiveFault& fault, std::function<void()> end);
  // `trigger`: the server that hit the fault's probe (0 for a random arrival).
  void begin_episode(const ActiveFault& fault, NodeId trigger);
  // Whom an aimed episode strikes: the trigger, or the leader or a follower of a random group.
  NodeId subject_of(const ActiveFault& fault, NodeId trigger);
  void partition(const ActiveFault& fault, Duration duration, NodeId subject);
  void clog(const ActiveFault& fault, Duration duration, NodeId subject);
  void swizzle_clog(const ActiveFault& fault, Duration duration);
  void take_down(const ActiveFault& fault, Duration duration, NodeId subject);
  void bring_up(NodeId node);
  std::vector<NodeId> up_servers() const;
  NodeId random_server();
  // Every link to and from `node`.
  std::vector<Link> links_of(NodeId node) const;
  // Splits the servers into two non-empty random groups (the first of size `first_size` if > 0).
  // Swaps `subject` from the majority into the minority (a no-op when it is already there).
  static void move_into_minority(std::vector<NodeId>& minority, std::vector<NodeId>& majority, NodeId subject);
  std::pair<std::vector<NodeId>, std::vector<NodeId>> split(std::size_t first_size);

  Simulator* simulator_;
  const FaultPlan* plan_;
  std::vector<NodeId> servers_;
  std::vector<NodeId> clients_;
  const ClusterView* view_;
  Random random_;
  int64_t until_ = 0;
  bool healed_ = false;
  std::map<std::string, std::vector<std::size_t>, std::less<>> triggers_;  // probe -> faults it starts
  std::set<TimerId> pending_;                 // scheduled arrivals and episode ends
  std::set<NodeId> down_;                     // crashed or wiped servers awaiting restart
  std::map<NodeId, TimerId> scheduled_restarts_;
  std::set<NodeId> paused_;
  std::map<NodeId, Duration> uncorrected_steps_;  // clock steps with a duration, not yet stepped back
  std::map<NodeId, TimerId> scheduled_unpauses_;
};

}  // namespace cairn::sim
