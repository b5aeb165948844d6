// RaftReplica: the driver of one replica of one Raft group. It owns the pure state machine
// (core/raft) and does for it everything that touches the world, in one fiber, in the order the
// Ready contract demands (core/raft/ready.h): persist through the write-ahead log
// (raft_log_store.h), send through the network, apply to the StateMachine (state_machine.h)
// with the applied index in the same transaction, then advance.
//
// Inputs reach that fiber through one bounded inbox: messages from peers, wake-ups from a ticker
// fiber (Raft is ticked by this node's clock, however late the driver runs), and requests from
// client-facing fibers (proposals, reads, transfers, membership changes), which wait on a
// promise the driver fulfils once the entry is applied or the read may be served. Everything queued when the driver wakes is handled before the next Ready, so
// concurrent proposals are batched into one write and one append per follower.
//
// Snapshots travel in chunks (kv.proto RaftSnapshotChunk) beside the RAFT_SNAPSHOT message; the
// follower gathers them in any order (a network reorders and duplicates; a stream that had to
// arrive in order was voided by one late chunk, and a lagging follower could never catch up),
// verifies the whole, then steps the message, and installs the data only if Raft decides to. A
// stream that does not complete within a timeout is reported as failed, and Raft retries.
//
// Failure: an error persisting or applying is fatal for this incarnation of the replica (its
// promises could otherwise be broken); the replica stops, and failed() says why. Restarting it
// recovers from disk.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "core/proto/kv.pb.h"
#include "core/raft/raft.h"
#include "core/replica/raft_log_store.h"
#include "core/replica/state_machine.h"
#include "core/runtime/channel.h"
#include "core/runtime/fiber_scope.h"
#include "core/runtime/future.h"
#include "core/runtime/runtime.h"

namespace cairn::replica {

// Watches replicas from outside (the simulator's safety oracle). Calls come from the driver
// fiber, right after the Ready they describe was carried out.
class RaftObserver {
 public:
  virtual ~RaftObserver() = default;
  virtual void on_ready(NodeId node, const raft::Raft& raft) = 0;
  virtual void on_applied(NodeId node, uint64_t group, const proto::RaftEntry& entry) = 0;
};

struct RaftReplicaOptions {
  uint64_t group = 1;
  std::string directory = "raft";  // the write-ahead log goes in directory + "/wal"
  // A new group of these voters is created if the replica has no state yet (the cluster is
  // being created). Empty: the replica joins an existing group and waits for a snapshot.
  std::vector<NodeId> bootstrap_voters = {};
  Duration tick_interval = milliseconds(10);
  raft::RaftOptions raft = {};  // id, group and random seed are filled in by the replica
  uint64_t segment_bytes = uint64_t{4} << 20;
  // A log damaged in the middle is salvaged and the replica catches up from the leader
  // (raft_log_store.h) instead of refusing to start.
  bool salvage_damaged_log = true;
  // The log is compacted once this many applied entries follow the last snapshot point,
  // keeping the newest `compaction_keep_entries` for followers that lag a little.
  uint64_t compact_after_entries = 4096;
  uint64_t compaction_keep_entries = 512;
  std::size_t snapshot_chunk_bytes = std::size_t{256} << 10;
  std::size_t max_snapshot_bytes = std::size_t{1} << 30;
  Duration snapshot_timeout = seconds(5);
  std::size_t inbox_capacity = 8192;
  std::size_t max_pending_requests = 8192;  // proposals and reads waiting for the driver
  RaftObserver* observer = nullptr;
};

struct ProposalOutcome {
  uint64_t index = 0;
  uint64_t term = 0;
  std::string result;  // the state machine's result for the entry
};

struct ReplicaStatus {
  uint64_t group = 0;
  raft::Role role = raft::Role::kFollower;
  uint64_t term = 0;
  NodeId leader = 0;
  uint64_t commit = 0;
  uint64_t applied = 0;
  uint64_t last_index = 0;
  uint64_t snapshot_index = 0;
  proto::RaftMembership membership = {};
};

struct MembershipView {
  raft::Membership membership;
  // On the leader only: the log index each member (itself included) is known to hold. A learner
  // is ready to be promoted once it is close to `commit` (core/kv/membership_rules.h).
  std::map<NodeId, uint64_t> matched = {};
  uint64_t commit = 0;
};

class RaftReplica {
 public:
  // Recovers the replica from its directory (or bootstraps it) and starts its fibers.
  static Result<std::unique_ptr<RaftReplica>> start(Runtime& runtime, RaftReplicaOptions options,
                                                    std::unique_ptr<StateMachine> state_machine);
  ~RaftReplica();
  RaftReplica(const RaftReplica&) = delete;
  RaftReplica& operator=(const RaftReplica&) = delete;

  // From the network (must not block): a message or a snapshot chunk for this group.
  void deliver(proto::RaftMessage message);
  void deliver_chunk(proto::RaftSnapshotChunk chunk);

  // From client-facing fibers. propose() returns once the command is applied (its result), or
  // fails: FAILED_PRECONDITION "not the leader" (see status().leader), UNAVAILABLE (the entry
  // was overwritten: definitely not applied), TIMEOUT (outcome unknown), RESOURCE_EXHAUSTED.
  Result<ProposalOutcome> propose(std::string command, Duration timeout);
  // Waits until a read at the current state is linearizable (ReadIndex, or the lease) and the
  // state machine has applied that far; returns the applied index to read at.
  Result<uint64_t> read_barrier(raft::ReadMode mode, Duration timeout);
  Status transfer_leadership(NodeId target, Duration timeout);
  Result<uint64_t> change_membership(const proto::RaftMembershipChange& change, Duration timeout);

  ReplicaStatus status() const { return status_; }
  // The configuration as Raft holds it right now, with each member's matched index when this
  // replica leads: what a membership change is judged against. (status() may trail it: it is
  // refreshed once a whole Ready is handled, and a change applied meanwhile is already in force.)
  MembershipView membership_view() const;
  StateMachine& state_machine() { return *state_machine_; }
  // The error that stopped the replica (OK while it runs).
  const Status& failed() const { return failure_; }
  uint64_t dropped_messages() const { return dropped_messages_; }

 private:
  struct ProposeRequest {
    std::string data;
    bool membership = false;
    std::shared_ptr<Promise<ProposalOutcome>> promise;
  };
  struct ReadRequest {
    raft::ReadMode mode = raft::ReadMode::kReadIndex;
    std::shared_ptr<Promise<uint64_t>> promise;
  };
  struct TransferRequest {
    NodeId target = 0;
    std::shared_ptr<Promise<bool>> promise;
  };
  struct Tick {};
  struct SnapshotCheck {
    NodeId follower = 0;
    uint64_t index = 0;
  };
  using Event = std::variant<proto::RaftMessage, proto::RaftSnapshotChunk, ProposeRequest, ReadRequest,
                             TransferRequest, Tick, SnapshotCheck>;

  struct PendingProposal {
    uint64_t term = 0;
    std::shared_ptr<Promise<ProposalOutcome>> promise;
  };
  // A snapshot stream being received: its chunks by number, as they come (in any order, some
  // twice), and the RAFT_SNAPSHOT message the last chunk carries.
  struct IncomingSnapshot {
    NodeId from = 0;
    uint64_t term = 0;
    uint64_t index = 0;
    uint32_t chunks = 0;
    std::size_t bytes = 0;
    std::map<uint32_t, std::string> parts;
    std::optional<proto::RaftMessage> message;
  };
  // A complete, verified snapshot waiting for Raft to install it.
  struct ReceivedSnapshot {
    uint64_t index = 0;
    std::vector<std::string> data;
  };

  // The group's metrics in the node's registry, looked up once (they outlive the replica, so a
  // restarted replica continues them). Only written: nothing here reads them back.
  struct Metrics {
    metrics::Counter& proposals;
    metrics::Counter& leader_changes;
    metrics::Gauge& term;
    metrics::Gauge& commit_index;
    metrics::Gauge& applied_index;
    metrics::Gauge& is_leader;
  };
  static Metrics find_metrics(metrics::MetricsRegistry& registry, uint64_t group);

  RaftReplica(Runtime& runtime, RaftReplicaOptions options, std::unique_ptr<StateMachine> state_machine,
              std::unique_ptr<RaftLogStore> log_store);
  Status recover();
  void run();
  void run_ticker();
  // Ticks Raft once for every tick interval of this node's clock since the last tick.
  void advance_clock();
  void handle(Event& event);
  void handle_proposal(ProposeRequest& request);
  void handle_read(ReadRequest& request);
  void handle_chunk(proto::RaftSnapshotChunk& chunk);
  Status process_ready();
  Status install_snapshot(const proto::RaftSnapshotMetadata& snapshot, const proto::RaftHardState& hard_state);
  void send_message(const proto::RaftMessage& message);
  void start_snapshot_stream(const proto::RaftMessage& message);
  Status apply_committed(const std::vector<proto::RaftEntry>& entries);
  void release_reads();
  Status maybe_compact();
  void fail(const Status& status);
  // Updates status_ from Raft and the state machine, and the metrics from status_.
  void refresh_status();
  // Logs a new configuration at info (and this node's removal at warning).
  void log_membership_change();
  void update_metrics(NodeId previous_leader);
  Status rebase_log_without_membership(raft::RaftRecoveredState& recovered, const proto::RaftSnapshotMetadata& applied);
  void fail_pending(const Status& status);
  // Queues a request for the driver and waits (at most `timeout`) for its promise.
  template <typename T, typename Request>
  Result<T> submit(Request request, const std::shared_ptr<Promise<T>>& promise, Duration timeout);

  Runtime* runtime_;
  RaftReplicaOptions options_;
  std::unique_ptr<StateMachine> state_machine_;
  std::unique_ptr<RaftLogStore> log_store_;
  std::unique_ptr<raft::Raft> raft_;
  Channel<Event> inbox_;
  Status failure_;
  ReplicaStatus status_;
  raft::Membership logged_membership_;  // the configuration last logged
  Metrics metrics_;
  uint64_t dropped_messages_ = 0;
  uint64_t next_read_context_ = 0;
  MonotonicTime last_tick_at_{};
  std::map<uint64_t, PendingProposal> pending_proposals_;                    // log index ->
  std::map<std::string, std::shared_ptr<Promise<uint64_t>>> pending_reads_;  // context ->
  std::multimap<uint64_t, std::shared_ptr<Promise<uint64_t>>> reads_waiting_for_apply_;
  std::map<NodeId, IncomingSnapshot> incoming_snapshots_;
  std::optional<ReceivedSnapshot> received_snapshot_;
  std::shared_ptr<Promise<bool>> pending_transfer_;
  NodeId pending_transfer_target_ = 0;
  FiberScope fibers_;  // last: destroyed (cancelled) first, while everything above still lives
};

}  // namespace cairn::replica
