// RangeReplica: this node's replica of one range — its Raft state machine (core/raft), the
// requests waiting on it (proposals, reads, a leadership transfer), the snapshot stream it is
// receiving, and its status. It has no fiber and does no I/O of its own: the Store's loop
// (store.h) drives every replica, gathering their ready batches to persist them together, and
// the Store's applier applies their committed entries.
//
// Two sides:
//  - the client side (propose, read_barrier, transfer_leadership, change_membership, status),
//    callable from any fiber: requests go through the Store's inbox and wait on a promise that
//    the loop fulfils once the entry is applied or the read may be served;
//  - the loop side (everything else), called only from the Store's loop.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/metrics/metrics_registry.h"
#include "core/node/applier.h"
#include "core/node/raft_observer.h"
#include "core/node/store_inbox.h"
#include "core/raft/raft.h"
#include "core/node/state_machine.h"
#include "core/runtime/limits.h"
#include "core/runtime/runtime.h"

namespace cairn::node {

struct ReplicaStatus {
  uint64_t group = 0;  // the range id
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

// What every replica of a Store shares.
struct RangeReplicaOptions {
  std::size_t snapshot_chunk_bytes = limits::kSnapshotChunkTargetBytesDefault;  // <= kSnapshotChunkTargetBytesMax
  std::size_t max_snapshot_bytes = std::size_t{1} << 30;
  Duration snapshot_timeout = seconds(5);
  std::size_t max_pending_requests = 8192;  // proposals and reads waiting, per replica
  // The log is compacted once this many applied entries follow the last snapshot point,
  // keeping the newest `compaction_keep_entries` for followers that lag a little.
  uint64_t compact_after_entries = 4096;
  uint64_t compaction_keep_entries = 512;
  RaftObserver* observer = nullptr;
  // Called when the replica's configuration changed (the Store keeps the set of member nodes).
  std::function<void()> on_membership_change = nullptr;
};

class RangeReplica {
 public:
  RangeReplica(Runtime& runtime, RangeId range, const RangeReplicaOptions& options,
               std::shared_ptr<node::StateMachine> state_machine, std::unique_ptr<raft::Raft> raft,
               StoreInbox& inbox);
  ~RangeReplica();
  RangeReplica(const RangeReplica&) = delete;
  RangeReplica& operator=(const RangeReplica&) = delete;

  // --- Client side (any fiber) ----------------------------------------------------------------
  // Returns once the command is applied (its result), or fails: FAILED_PRECONDITION "not the
  // leader" (see status().leader), UNAVAILABLE (the entry was overwritten: definitely not
  // applied), TIMEOUT (outcome unknown), RESOURCE_EXHAUSTED.
  Result<ProposalOutcome> propose(std::string command, Duration timeout);
  // Waits until a read at the current state is linearizable (ReadIndex, or the lease) and the
  // state machine has applied that far; returns the applied index to read at.
  Result<uint64_t> read_barrier(raft::ReadMode mode, Duration timeout);
  Status transfer_leadership(NodeId target, Duration timeout);
  Result<uint64_t> change_membership(const proto::RaftMembershipChange& change, Duration timeout);

  RangeId id() const { return range_; }
  ReplicaStatus status() const { return status_; }
  // The configuration as Raft holds it right now, with each member's matched index when this
  // replica leads: what a membership change is judged against.
  MembershipView membership_view() const;
  node::StateMachine& state_machine() { return *state_machine_; }
  // The error that stopped the replica's Store (OK while it runs).
  const Status& failed() const { return failure_; }

  // --- Loop side ------------------------------------------------------------------------------
  raft::Raft& raft() { return *raft_; }
  const raft::Raft& raft() const { return *raft_; }
  uint64_t term() const { return raft_->term(); }
  const std::shared_ptr<node::StateMachine>& shared_state_machine() const { return state_machine_; }
  void step(const proto::RaftMessage& message);
  // One tick of Raft's clock (never for a quiet replica). A leader that could have gone quiet on
  // `quiesce_after_ticks` ticks in a row (0: never) with nothing waiting here either goes quiet,
  // ignoring followers on `suspected` nodes (raft.h, quiescence). Returns whether it is quiet.
  bool tick(uint32_t quiesce_after_ticks, const std::function<bool(NodeId)>& suspected);
  // A chunk of a snapshot stream; once the stream is whole and verifies, its message is stepped.
  void receive_chunk(proto::RaftSnapshotChunk& chunk);
  void handle_proposal(ProposeRequest& request);
  void handle_read(ReadRequest& request);
  void handle_transfer(TransferRequest& request);
  void check_snapshot(NodeId follower, uint64_t index);
  // How many times the next snapshot stream to `follower` sends each chunk: once, and once more
  // for each stream to it in a row that did not arrive whole, up to kSnapshotChunkCopiesMax. A
  // path that lost a chunk of one stream is likely to lose one of the next, and each retry is a
  // larger snapshot (raft_kv_snapshots, seeds 923160688479 and 157507636827: under 3 % message
  // loss, three streams of 19–24 chunks in a row each lost one, and the follower never caught up).
  uint32_t snapshot_chunk_copies(NodeId follower) const;
  static constexpr uint32_t kSnapshotChunkCopiesMax = 3;
  // The snapshot Raft decided to install: the data received for it, taken (or an error).
  Result<std::vector<std::string>> take_received_snapshot(uint64_t index);
  // After the snapshot was installed: proposals it covers have an unknown outcome.
  void on_snapshot_installed(const proto::RaftSnapshotMetadata& snapshot);
  // The membership after the last entry handed to the applier (starts as Raft's).
  proto::RaftMembership membership_after(const std::vector<proto::RaftEntry>& entries);
  // The ready batch was carried out (persisted, sent, its entries handed to the applier).
  void finish_ready(const raft::Ready& ready);
  // The applier applied entries of this range.
  void on_applied(const ApplierReport& report);
  // The applied index as of the engine's last sync.
  void on_durable(uint64_t applied_index) { durable_applied_ = std::max(durable_applied_, applied_index); }
  // Where the log may be compacted to now (0: not yet); compacting needs the applied entries
  // durable in the state machine.
  uint64_t compaction_point() const;
  void fail(const Status& status);

 private:
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
  struct ReceivedSnapshot {
    uint64_t index = 0;
    std::vector<std::string> data;
  };
  // The range's metrics in the node's registry (they outlive the replica, so a restarted
  // Store continues them). Only written.
  struct Metrics {
    metrics::Counter& proposals;
    metrics::Counter& leader_changes;
    metrics::Gauge& term;
    metrics::Gauge& commit_index;
    metrics::Gauge& applied_index;
    metrics::Gauge& is_leader;
  };
  static Metrics find_metrics(metrics::MetricsRegistry& registry, RangeId range);

  template <typename T, typename Request>
  Result<T> submit(Request request, const std::shared_ptr<Promise<T>>& promise, Duration timeout);
  void release_reads();
  void refresh_status();
  void log_membership_change();
  void fail_pending(const Status& status);

  Runtime* runtime_;
  RangeId range_;
  RangeReplicaOptions options_;
  std::shared_ptr<node::StateMachine> state_machine_;
  std::unique_ptr<raft::Raft> raft_;
  StoreInbox* inbox_;
  Metrics metrics_;
  Status failure_;
  ReplicaStatus status_;
  raft::Membership logged_membership_;  // the configuration last logged
  std::optional<raft::Membership> queued_membership_;  // after the last entry handed out
  uint64_t durable_applied_ = 0;
  uint64_t next_read_context_ = 0;
  std::map<uint64_t, PendingProposal> pending_proposals_;                    // log index ->
  std::map<std::string, std::shared_ptr<Promise<uint64_t>>> pending_reads_;  // context ->
  std::multimap<uint64_t, std::shared_ptr<Promise<uint64_t>>> reads_waiting_for_apply_;
  std::map<NodeId, IncomingSnapshot> incoming_snapshots_;
  std::map<NodeId, uint32_t> failed_snapshot_streams_;  // follower -> streams in a row not installed
  std::optional<ReceivedSnapshot> received_snapshot_;
  std::shared_ptr<Promise<bool>> pending_transfer_;
  NodeId pending_transfer_target_ = 0;
  uint32_t idle_ticks_ = 0;  // ticks in a row on which this leader could have gone quiet
};

}  // namespace cairn::node
