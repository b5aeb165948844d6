// RaftKvWorkload: a simulated run of the replicated key-value store on Raft. Every server node
// runs a KvNode (core/kv/kv_node.h), the same code cairnd runs; every client is its own node
// running one fiber that loops: think, pick an operation (put, delete, compare-and-set, read,
// lease read, stale read) on a small key space, run it with a deadline, and record it in the
// history that the linearizability checker judges (sim/checkers/history.h). Written values are
// unique ("c1001-17"), so a read names the exact write it saw.
//
// It also observes every replica for the Raft safety oracle (sim/checkers/raft_safety_oracle.h):
// each Ready's log and role, each applied entry, and each write a client was told succeeded.
// From the same observations it knows who leads each group (a ClusterView, for leader-aware
// faults), how far every replica has applied (REPLICAS_CATCH_UP), and at which log index every
// written value landed (READ_YOUR_WRITES, MONOTONIC_READS).
//
// Knobs: RaftTuning fixes the Raft and storage settings; RaftKnobRanges draws some of them per
// seed instead (knobs()), so a sweep covers configurations as well as schedules.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/kv/kv_client.h"
#include "core/kv/kv_node.h"
#include "core/proto/scenario.pb.h"
#include "sim/checkers/history.h"
#include "sim/checkers/raft_safety_oracle.h"
#include "sim/checkers/register_checker.h"
#include "sim/checkers/session_checker.h"
#include "sim/cluster_view.h"
#include "sim/sim_node.h"
#include "sim/simulator.h"

namespace cairn::sim {

// What a raft_kv run did, for reports and sweeps.
struct RaftKvOutcomes {
  uint64_t writes_ok = 0;
  uint64_t writes_failed = 0;  // compare-and-set mismatches and refused writes
  uint64_t reads_ok = 0;
  uint64_t stale_reads = 0;
  uint64_t unknown = 0;        // timed out: may or may not have taken effect
  uint64_t leaders = 0;        // distinct (term, leader) pairs the oracle saw
  uint64_t committed_entries = 0;
  uint64_t membership_changes = 0;
  uint64_t leadership_transfers = 0;
  std::map<std::string, uint64_t> counters() const;
};

class RaftKvWorkload final : public node::RaftObserver, public ClusterView {
 public:
  static constexpr NodeId kFirstClientId = 1001;
  static constexpr NodeId kAdministratorId = 1000;

  // `faults_end` (global virtual ns): when the fault phase ends and membership churn stops.
  RaftKvWorkload(Simulator& simulator, const proto::RaftKvWorkload& config, std::vector<NodeId> servers,
                 int64_t faults_end);

  // The knobs this seed runs with (those drawn from knob_ranges and those fixed), by name.
  const std::map<std::string, uint64_t>& knobs() const { return knobs_; }

  // What each server node runs at every start.
  BootFunction server_boot_function();
  void add_clients(const std::string& region, const proto::DiskModel& disk);
  void start();
  // Ends the clients (operations in flight stay unknown).
  void stop();

  const std::vector<NodeId>& client_ids() const { return client_ids_; }
  const linearizability::History& history() const { return history_; }
  const RaftSafetyOracle& oracle() const { return oracle_; }
  RaftKvOutcomes outcomes() const;

  // The checks this workload answers.
  CheckOutcome check_linearizable() const;
  CheckOutcome check_raft_safety() const;
  // In the second half of the quiesce phase, every client completed an operation successfully.
  CheckOutcome check_liveness(int64_t quiesce_started_at, int64_t ended_at) const;
  // Replicas on these servers are not judged by REPLICAS_CATCH_UP: their disks were corrupted
  // (latent errors, bit flips, misdirected writes), and a replica whose log cannot be read back
  // stays down until it is replaced, which the simulator does not do yet.
  void excuse_from_catch_up(std::set<NodeId> servers) { excused_from_catch_up_ = std::move(servers); }
  // Call at the start of the quiesce phase and at its end: by the end every member of every group
  // has applied what the group had committed when the faults stopped, and on an idle cluster
  // (clients_stop_at_quiesce) all its leader committed.
  void mark_quiesce_started();
  void mark_run_ended();
  CheckOutcome check_replicas_caught_up() const;
  // OPERATIONS_COMPLETED (operations_walkthrough): every step done, and the configuration it
  // leads to reached.
  CheckOutcome check_operations_completed() const;
  CheckOutcome check_read_your_writes() const;
  CheckOutcome check_monotonic_reads() const;

  // ClusterView
  std::vector<uint64_t> groups_with_leader() const override;
  NodeId leader_of(uint64_t group) const override;
  std::vector<NodeId> followers_of(uint64_t group) const override;

  // RaftObserver
  void on_raft_state(NodeId node, const raft::Raft& raft) override;
  void on_applied(NodeId node, uint64_t group, const proto::RaftEntry& entry) override;

 private:
  void run_server(Runtime& runtime, const BootContext& context);
  void run_client(Runtime& runtime);
  void run_administrator(Runtime& runtime);
  // One churn cycle on `group` (raft_kv_workload.cc): voters removed or demoted, then brought
  // back, one or two at a time, or one voter replaced by another in a joint change.
  void churn_membership(Runtime& runtime, uint64_t group);
  void transfer_leadership(Runtime& runtime, uint64_t group);
  // The walkthrough of docs/operations.md on group 1 (raft_kv_operations.cc).
  void run_operations_walkthrough(Runtime& runtime);
  // Sends `change` until it is done or its effect is seen (`reached` on the leader's last
  // reported configuration); a promotion refused because the learner is behind is tried again.
  void change_until(Runtime& runtime, kv::KvClient& admin, const std::string& step,
                    const proto::RaftMembershipChange& change, const std::function<bool(const raft::Membership&)>& reached);
  // The first voters of the groups (initial_voters; all servers when unset).
  std::vector<NodeId> initial_voters() const;
  std::unique_ptr<kv::KvClient> administrator_client(Runtime& runtime, uint64_t group);
  // Whether the group's leader, last seen, is in a plain configuration in which each replica of
  // `goal` is a voter (true) or a learner (false).
  bool membership_reached(uint64_t group, const std::vector<std::pair<NodeId, bool>>& goal) const;
  kv::KvNodeOptions node_options(bool bootstrap) const;
  void draw_knobs();
  uint64_t group_of(const std::string& key) const;
  // Records where an applied entry put its value, or its delete (for the session checks).
  void record_write_order(uint64_t group, const proto::RaftEntry& entry);
  // Shortfalls of the members of every group against `committed` (group -> index), by name.
  void find_lagging_replicas(const std::map<uint64_t, uint64_t>& committed, const std::string& when);

  // What the observer last saw of one replica.
  struct ReplicaView {
    raft::Role role = raft::Role::kFollower;
    uint64_t term = 0;
    uint64_t committed = 0;
    uint64_t applied = 0;
    uint64_t incarnation = 0;  // of the node's process that reported it
  };
  struct GroupView;
  // The walkthrough waits (up to 20 s) until every voter of group 1 applied what its leader had
  // committed.
  void wait_until_voters_applied(Runtime& runtime);
  struct GroupView {
    std::map<NodeId, ReplicaView> replicas;
    NodeId leader = 0;             // the leader of the highest term seen
    uint64_t leader_term = 0;
    raft::Membership membership;   // as that leader last reported it
  };

  Simulator* simulator_;
  proto::RaftKvWorkload config_;
  std::vector<NodeId> servers_;
  int64_t faults_end_ = 0;
  std::vector<NodeId> client_ids_;
  uint64_t membership_changes_ = 0;
  uint64_t membership_change_failures_ = 0;
  uint64_t leadership_transfers_ = 0;
  // The walkthrough: the steps done so far, in order, and whether it reached its end.
  std::vector<std::string> walkthrough_steps_done_;
  bool walkthrough_completed_ = false;
  uint64_t promotions_refused_ = 0;
  linearizability::History history_;
  RaftSafetyOracle oracle_;
  uint64_t stale_reads_ = 0;
  uint64_t stale_reads_invalid_ = 0;
  std::vector<std::string> stale_read_problems_;
  std::set<std::string> written_values_;
  std::map<std::string, uint64_t> knobs_;
  std::map<uint64_t, GroupView> group_views_;
  WriteOrder write_order_;
  // REPLICAS_CATCH_UP: the committed prefix when the faults stopped, per group, and what was
  // found lagging at the end.
  std::map<uint64_t, uint64_t> committed_at_quiesce_;
  std::vector<std::string> catch_up_problems_;
  std::set<NodeId> excused_from_catch_up_;
};

}  // namespace cairn::sim
