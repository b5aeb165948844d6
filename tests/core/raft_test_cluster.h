// RaftTestCluster: several pure Raft state machines (core/raft) wired together by hand, for the
// script tests and the property tests. It plays the driver's part exactly as the Ready contract
// (core/raft/ready.h) says — persist, then send, then apply, then advance — with an in-memory
// "disk" per replica that survives crash(), and a message queue the test controls: deliver in
// order, drop, partition, duplicate, reorder. Every change is shown to a RaftSafetyOracle, so
// any test that drives the cluster also checks Raft's safety properties.
//
// Like the driver (core/replica/raft_replica.cc), a leader that sent a snapshot reports it failed
// when the follower has not confirmed it `kSnapshotTimeoutTicks` of the leader's ticks later: Raft
// holds a follower in the snapshot state until told, and a lost snapshot or a lost answer to one
// would otherwise stop that follower's replication for good.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/raft/raft.h"
#include "sim/checkers/raft_safety_oracle.h"

namespace cairn::raft::testing {

// The replicated state machine of the tests: the list of commands applied, with its index.
struct TestStateMachine {
  uint64_t applied_index = 0;
  std::vector<std::string> commands;  // data of every applied normal entry with data, in order
};

// What survives a crash: the persisted Raft state and the state machine (applied atomically
// with its index, as the KV engine does).
struct TestDisk {
  proto::RaftHardState hard_state;
  proto::RaftSnapshotMetadata snapshot;
  std::vector<proto::RaftEntry> entries;  // after the snapshot
  TestStateMachine state;
};

struct InFlightMessage {
  proto::RaftMessage message;
  std::optional<TestStateMachine> snapshot_data;  // travels beside a RAFT_SNAPSHOT
};

class RaftTestCluster {
 public:
  // Replicas `voters` and `learners` start with that membership at index 0; `blank` replicas
  // start with none (they join through a membership change and a snapshot or log catch-up).
  RaftTestCluster(const std::vector<ReplicaId>& voters, const std::vector<ReplicaId>& learners, RaftOptions base,
                  const std::vector<ReplicaId>& blank = {});

  Raft& raft(ReplicaId id);
  bool up(ReplicaId id) const;
  std::vector<ReplicaId> ids() const;
  const TestStateMachine& state(ReplicaId id) const { return replicas_.at(id).disk.state; }
  sim::RaftSafetyOracle& oracle() { return oracle_; }
  std::deque<InFlightMessage>& in_flight() { return in_flight_; }
  std::vector<ReadState>& read_states(ReplicaId id) { return replicas_.at(id).read_states; }

  // Carries out `id`'s Ready if it has one; returns whether it did.
  bool process_ready(ReplicaId id);
  // Delivers the oldest queued message (dropping it if the link is cut or the target is down);
  // returns its description, or nullopt if nothing was queued.
  std::optional<std::string> deliver_next();
  // Delivers, drops or duplicates the queued message at `position` (position < queue size):
  // the property tests reorder, lose and repeat messages with these.
  std::string deliver_at(std::size_t position);
  void drop_at(std::size_t position);
  void duplicate_at(std::size_t position);
  // Processes Readies and delivers messages until nothing is left; returns each delivered
  // message's description in order. Asserts it ends within `max_rounds` rounds.
  std::vector<std::string> stabilize(int max_rounds = 1000);

  // Ticks `id`, then reports the snapshots it sent that are overdue (see above).
  void tick(ReplicaId id);
  void crash(ReplicaId id);
  void restart(ReplicaId id);
  // Storage damage at a crash: the last `count` durable entries of a (crashed) replica are gone.
  // With `detected`, recovery knows (as after a damaged write-ahead log) and restarts the replica
  // catching up; without, the loss is silent — what Raft cannot survive.
  void lose_durable_suffix(ReplicaId id, std::size_t count, bool detected);
  // Storage damage at a crash that took the whole log, its membership marker included, and the
  // state machine's state with it: recovery (the driver's, raft.md "Storage damage") brings the
  // replica back blank and catching up, with only its term and vote. Harsher than the driver
  // allows once its state machine has synced (it restarts from the applied point then), which
  // is what Raft must survive anyway.
  void lose_log(ReplicaId id);
  // Compacts `id`'s log up to `index` and persists the snapshot point.
  Status compact(ReplicaId id, uint64_t index);

  // Links: a cut link drops every message sent over it in that direction.
  void cut(ReplicaId from, ReplicaId to) { cut_links_.insert({from, to}); }
  void isolate(ReplicaId id);
  void partition(const std::set<ReplicaId>& side_a, const std::set<ReplicaId>& side_b);
  void heal() { cut_links_.clear(); }

  // The leader of the newest term among live replicas, or 0.
  ReplicaId leader() const;

  // Asynchronous apply: committed entries wait in each replica's apply queue until
  // apply_pending() applies them (process_ready applies at once otherwise), as a driver whose
  // apply fiber lags behind its Raft loop. stabilize() drains the queues.
  void defer_apply() { deferred_apply_ = true; }
  // Applies up to `count` queued entries of `id` and reports them to Raft (applied_to).
  void apply_pending(ReplicaId id, std::size_t count);

 private:
  static constexpr uint64_t kSnapshotTimeoutTicks = 20;

  struct SnapshotCheck {
    ReplicaId follower = 0;
    uint64_t index = 0;
    uint64_t due_tick = 0;
  };

  struct Replica {
    std::unique_ptr<Raft> raft;
    TestDisk disk;
    // Snapshot data that arrived, by index, until a Ready installs one (messages may be
    // duplicated and reordered, so several can wait at once).
    std::map<uint64_t, TestStateMachine> received_snapshots;
    std::vector<ReadState> read_states;
    uint64_t ticks = 0;                          // since this incarnation started
    std::deque<proto::RaftEntry> apply_queue;    // handed out, not yet applied (lost in a crash)
    std::vector<SnapshotCheck> snapshot_checks;  // the driver's timers; a crash stops them
  };

  void check_snapshots(Replica& replica);

  void persist(Replica& replica, const Ready& ready);
  void apply(Replica& replica, ReplicaId id, const std::vector<proto::RaftEntry>& entries);
  void observe(ReplicaId id);
  RaftOptions options_for(ReplicaId id) const;

  RaftOptions base_;
  bool deferred_apply_ = false;
  std::map<ReplicaId, Replica> replicas_;
  std::deque<InFlightMessage> in_flight_;
  std::set<std::pair<ReplicaId, ReplicaId>> cut_links_;
  sim::RaftSafetyOracle oracle_;
  uint64_t incarnations_ = 0;
};

// One line describing a message, as the script tests print it.
std::string describe_message(const proto::RaftMessage& message);
// One line describing a replica's state.
std::string describe_replica(const Raft& raft);

}  // namespace cairn::raft::testing
