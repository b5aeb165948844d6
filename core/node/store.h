// Store: everything of a node's ranges that touches its disk and its Raft traffic. One Store
// per node hosts every range the node holds:
//  - one write-ahead log for all ranges' Raft state (store_log.h), and one MVCC engine for all
//    ranges' data (storage/kv), each range's records kept beside its data (core/kv/range_keys.h);
//  - one loop fiber, which drains the inbox (store_inbox.h), steps each range's Raft, gathers
//    the ready batches of every range that has one, sends what may leave at once, persists the
//    rest in one write with one sync, then sends what had to wait for it, and hands committed
//    entries to the applier;
//  - one apply fiber (applier.h), so that applying never holds up persisting and sending;
//  - one ticker fiber, which wakes the loop; the loop ticks every awake range as the node's clock
//    says. Idle ranges go quiet (raft.h, quiescence) and cost nothing until a proposal, a read,
//    a message or the failure detector (set_peer_suspected) wakes them; each round looks only
//    at the ranges that were ticked or received something, so thousands of idle ranges cost
//    one loop nothing.
//
// A range is added by add_range() (recovered from the log and the engine, or created: with its
// bootstrap voters, or blank to wait for a snapshot from its leader) and reached by find().
//
// Failure: an error persisting or applying fails the whole Store (its replicas' promises could
// otherwise be broken: a write acknowledged and not durable); failed() says why, and every
// request fails from then on. Reopening the Store recovers from disk.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/node/applier.h"
#include "core/node/range_replica.h"
#include "core/node/store_inbox.h"
#include "core/node/store_log.h"
#include "core/runtime/fiber_scope.h"
#include "core/runtime/runtime.h"
#include "storage/kv/kv_engine.h"

namespace cairn::node {

struct StoreOptions {
  std::string directory = "store";  // the log in directory/wal, the engine in directory/data.db
  Duration tick_interval = milliseconds(10);
  raft::RaftOptions raft = {};  // id, group and random seed are filled in per range
  uint64_t segment_bytes = uint64_t{64} << 20;
  // A log damaged in the middle is salvaged and its ranges catch up from their leaders
  // (store_log.h) instead of refusing to start.
  bool salvage_damaged_log = true;
  RangeReplicaOptions replica = {};
  storage::KvEngineOptions engine = {};  // its path is set from `directory`
  std::size_t inbox_capacity = 8192;
  // Committed entry bytes handed to the applier and not yet applied; past this the loop waits
  // for the applier before it gathers more ready batches.
  std::size_t apply_queue_bytes_max = std::size_t{64} << 20;
  // How often what was applied becomes durable in the engine (one sync for every range). The
  // logs replay what a crash took, so this trades replay length for syncs: an engine sync costs
  // several fsyncs and, on one disk, holds up the log's own (docs/benchmarks.md, "The Store").
  Duration engine_sync_interval = milliseconds(100);
  // A leader goes quiet after this many ticks in a row with nothing to do (0: never).
  uint32_t quiesce_after_ticks = 10;
};

// Opens a range's state machine on the Store's engine. The engine is shared: a state machine
// keeps it (a client's read may outlast the Store that served it).
using StateMachineFactory = std::function<Result<std::shared_ptr<node::StateMachine>>(
    RangeId range, const std::shared_ptr<storage::KvEngine>& engine)>;

class Store {
 public:
  // Opens the log and the engine, binds the Raft service, and starts the fibers.
  static Result<std::unique_ptr<Store>> open_store(Runtime& runtime, StoreOptions options, StateMachineFactory factory);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // Hosts `range`, recovering it from disk; a range with no state is created with
  // `bootstrap_voters` (a new range) or, with none, blank (it waits for a snapshot).
  Status add_range(RangeId range, const std::vector<NodeId>& bootstrap_voters);
  std::shared_ptr<RangeReplica> find(RangeId range) const;
  std::vector<RangeId> ranges() const;
  // Every node with a replica of a range hosted here (this one included), as the ranges'
  // configurations say now.
  const std::set<NodeId>& member_nodes();
  const Status& failed() const { return failure_; }
  // The node's failure detector suspects `node` has failed (or no longer does). Quiet followers
  // whose leader is there wake and campaign; quiet leaders wake to catch up a follower that came
  // back; while suspected, a follower there does not keep a leader from going quiet. Never
  // blocks: verdicts wait beside the inbox (at most kLivenessVerdictsMax) for the next round.
  void set_peer_suspected(NodeId node, bool suspected);
  // `node` restarted (between two pings, perhaps): as if it had been suspected and came back.
  void set_peer_restarted(NodeId node);
  // Ranges awake now (ticked every tick); the rest are quiet.
  std::size_t awake_ranges() const { return awake_.size(); }
  storage::KvEngine& engine() { return *engine_; }
  StoreLogStats log_stats() const { return log_->stats(); }
  uint64_t dropped_messages() const { return dropped_messages_; }

 private:
  // A verdict of the failure detector, waiting for the loop.
  struct PeerLiveness {
    NodeId node = 0;
    bool suspected = false;
    bool restarted = false;
  };
  static constexpr std::size_t kLivenessVerdictsMax = 4096;

  // One range's part of a round: its replica and the ready batch it gave.
  struct RangeReady {
    RangeReplica* replica;
    raft::Ready ready;
  };

  Store(Runtime& runtime, StoreOptions options, StateMachineFactory factory, std::unique_ptr<StoreLog> log,
        std::shared_ptr<storage::KvEngine> engine);
  Result<raft::RaftRecoveredState> recover_range(RangeId range, const node::StateMachine& machine,
                                                 const std::vector<NodeId>& bootstrap_voters);
  Status rebase_log_without_membership(RangeId range, raft::RaftRecoveredState& recovered,
                                       const proto::RaftSnapshotMetadata& applied);
  void on_network_message(proto::Envelope&& envelope);
  void run_loop();
  void run_ticker();
  void advance_clock();
  // One tick for every awake range; those that are quiet now leave the awake set.
  void tick_awake_ranges();
  void handle(StoreEvent& event);
  void queue_liveness(PeerLiveness liveness);
  void handle_liveness(const PeerLiveness& liveness);
  // The replica of `range`, marked active for this round (null, counted as dropped, if absent).
  RangeReplica* route(RangeId range);
  // The active ranges that are not quiet are ticked from now on; a quiet follower among them
  // whose leader's node is suspected wakes to campaign (it went quiet after the suspicion).
  void wake_active();
  void take_applier_reports();
  // One round: every range's ready batch carried out. Returns whether there was any.
  Result<bool> process_readies();
  Status install_snapshots(std::vector<RangeReady>& readies);
  Status persist(std::vector<RangeReady>& readies);
  void hand_to_applier(std::vector<RangeReady>& readies);
  Status compact_logs();
  void send_message(const proto::RaftMessage& message);
  // Sends the chunks to the follower, each `copies` times (RangeReplica::snapshot_chunk_copies),
  // then checks after the snapshot timeout whether it was installed.
  void start_snapshot_stream(RangeId range, proto::RaftMessage message, std::vector<std::string> chunks,
                             uint32_t copies);
  void fail(const Status& status);

  Runtime* runtime_;
  StoreOptions options_;
  StateMachineFactory factory_;
  std::unique_ptr<StoreLog> log_;
  std::shared_ptr<storage::KvEngine> engine_;
  StoreInbox inbox_;
  Applier applier_;
  std::map<RangeId, std::shared_ptr<RangeReplica>> replicas_;
  // Ticked every tick: a superset of the ranges not quiet (a range that went quiet leaves at its
  // next tick).
  std::set<RangeId> awake_;
  // Ranges that were ticked or received anything this round: the only ones that can have a
  // ready batch, a report to act on, or a log to compact. Those left with a ready stay.
  std::set<RangeId> active_;
  std::set<NodeId> suspected_nodes_;
  std::vector<PeerLiveness> liveness_verdicts_;  // set_peer_suspected/restarted, for the next round
  uint64_t liveness_verdicts_dropped_ = 0;
  std::optional<std::set<NodeId>> member_nodes_;  // member_nodes(), until a membership changes
  MonotonicTime last_tick_at_{};
  bool unsynced_applies_ = false;  // entries handed to the applier since its last sync job
  MonotonicTime last_engine_sync_{}; // when the last sync job was submitted (monotonic clock)
  uint64_t dropped_messages_ = 0;
  Status failure_;
  std::unique_ptr<ServiceBinding> binding_;
  FiberScope fibers_;  // last: destroyed (cancelled) first, while everything above still lives
};

}  // namespace cairn::node
