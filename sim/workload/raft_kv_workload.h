// RaftKvWorkload: a simulated run of the replicated key-value store on Raft. Every server node
// runs a KvNode (core/kv/kv_node.h), the same code cairnd runs; every client is its own node
// running one fiber that loops: think, pick an operation (put, delete, compare-and-set, read,
// lease read, stale read) on a small key space, run it with a deadline, and record it in the
// history that the linearizability checker judges (sim/checkers/history.h). Written values are
// unique ("c1001-17"), so a read names the exact write it saw.
//
// It also observes every replica for the Raft safety oracle (sim/checkers/raft_safety_oracle.h):
// each Ready's log and role, each applied entry, and each write a client was told succeeded.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/kv/kv_node.h"
#include "core/proto/scenario.pb.h"
#include "sim/checkers/history.h"
#include "sim/checkers/raft_safety_oracle.h"
#include "sim/checkers/register_checker.h"
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
  std::map<std::string, uint64_t> counters() const;
};

class RaftKvWorkload final : public replica::RaftObserver {
 public:
  static constexpr NodeId kFirstClientId = 1001;
  static constexpr NodeId kAdministratorId = 1000;

  // `faults_end` (global virtual ns): when the fault phase ends and membership churn stops.
  RaftKvWorkload(Simulator& simulator, const proto::RaftKvWorkload& config, std::vector<NodeId> servers,
                 int64_t faults_end);

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

  // RaftObserver
  void on_ready(NodeId node, const raft::Raft& raft) override;
  void on_applied(NodeId node, uint64_t group, const proto::RaftEntry& entry) override;

 private:
  void run_server(Runtime& runtime, const BootContext& context);
  void run_client(Runtime& runtime);
  void run_administrator(Runtime& runtime);
  // One churn cycle on `group`: remove a voter, re-add it as a learner, promote it.
  void churn_membership(Runtime& runtime, uint64_t group);
  kv::KvNodeOptions node_options(bool bootstrap) const;
  uint64_t group_of(const std::string& key) const;

  Simulator* simulator_;
  proto::RaftKvWorkload config_;
  std::vector<NodeId> servers_;
  int64_t faults_end_ = 0;
  std::vector<NodeId> client_ids_;
  uint64_t membership_changes_ = 0;
  uint64_t membership_change_failures_ = 0;
  linearizability::History history_;
  RaftSafetyOracle oracle_;
  uint64_t stale_reads_ = 0;
  uint64_t stale_reads_invalid_ = 0;
  std::vector<std::string> stale_read_problems_;
  std::set<std::string> written_values_;
};

}  // namespace cairn::sim
