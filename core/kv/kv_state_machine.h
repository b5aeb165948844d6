// KvStateMachine: the replicated key-value store's state machine — KvCommands from the Raft log
// applied to the MVCC key-value engine (storage/kv).
//
//  - It is one range's: its data is the client keys of its keyspace (stored under the keyspace's
//    prefix) and, for the range that holds them, the system keys (the node registry); its own
//    records (applied point, commit timestamp, garbage watermark, deduplication) are range-local
//    keys (range_keys.h), so several ranges share one engine. Its snapshots carry exactly these
//    spans. (Until ranges split, a range holds its whole keyspace.)
//  - Every batch of committed entries becomes one engine batch, with the applied index, so a
//    crash leaves the range at an entry boundary. It commits at one hybrid-clock timestamp:
//    the highest of its commands' own (each set by its leader's clock at proposal) and the last
//    commit + 1, so timestamps grow along the log, stay close to real time, and compare across
//    groups and nodes. Reads are served at the last commit timestamp: every applied write.
//  - Versions older than gc_retention before the last commit (in commit-timestamp time, the
//    same on every replica) may be garbage-collected; reads below the watermark are refused.
//  - Deduplication: each client's last applied request id and its result live in the store
//    (reserved keys), so they survive crashes and travel in snapshots. A retry of a request
//    that was applied returns the original result instead of applying twice.
//  - Compare-and-set is decided at apply time against the state including earlier commands of
//    the same batch, identically on every replica.
//  - A node's registration (KvCommand.register_node) is a record of the node registry
//    (node_registry.h) under a reserved key; the options' callback hears of each.
//  - The Raft metadata of the applied point (index, term, membership) is stored under a
//    range-local key in the same batch (replica/state_machine.h says why).
// Keys beginning with 0xff 0xff are reserved; commands using them are refused at the service.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/proto/kv.pb.h"
#include "core/node/state_machine.h"
#include "core/runtime/hybrid_clock.h"
#include "core/kv/range_keys.h"
#include "core/runtime/runtime.h"
#include "storage/kv/kv_engine.h"

namespace cairn::kv {

// INVALID_ARGUMENT for a key the service does not accept from clients (empty, too long, reserved).
Status validate_client_key(std::string_view key);
// Checks a command's shape and keys before it is proposed.
Status validate_command(const proto::KvCommand& command);

struct KvStateMachineOptions {
  uint64_t range_id = 1;
  // The keyspace whose client keys the range holds (1 to kKeyspaceIdMax), and whether it holds
  // the system keys too.
  uint64_t keyspace = 1;
  bool holds_system_keys = true;
  // Versions that a read this long before the last commit would not see may be
  // garbage-collected; collection runs every gc_every_indexes applied entries, in steps of at
  // most gc_versions_per_step versions, one per applied batch until none is left: one long
  // transaction would hold the Raft loop past an election timeout (a leader of a range with
  // much history would lose its leadership each time).
  Duration gc_retention = seconds(10);
  uint64_t gc_every_indexes = 1000;
  uint64_t gc_versions_per_step = 256;
  // Applied batches are committed to the engine without an fsync each (the Raft log holds them
  // durably and recovery replays it); they are synced at the latest once this many indexes are
  // pending, and whenever the replica asks (each tick, and before it compacts its log).
  uint64_t max_unsynced_indexes = 1000;
  // Called with every node registry record (node_registry.h) once it is applied, and with all of
  // them after a snapshot was imported. Runs on the replica's fiber: it must not block.
  std::function<void(const proto::NodeDescriptor&)> on_node_registered = nullptr;
  // The node's hybrid clock, moved past every commit timestamp applied. Null: none (tests).
  HybridClock* clock = nullptr;
};

class KvStateMachine final : public node::StateMachine {
 public:
  // The range's state machine on `engine`, which the Store shares among all its ranges.
  static Result<std::unique_ptr<KvStateMachine>> open_range(Runtime& runtime, std::shared_ptr<storage::KvEngine> engine,
                                                            const KvStateMachineOptions& options);

  const proto::RaftSnapshotMetadata& applied() const override { return applied_; }
  Result<std::vector<std::string>> apply(const std::vector<proto::RaftEntry>& entries,
                                         const proto::RaftMembership& membership_after) override;
  Result<std::vector<std::string>> export_snapshot(std::size_t chunk_bytes) override;
  Status verify_snapshot(const std::vector<std::string>& chunks) override;
  Status import_snapshot(const std::vector<std::string>& chunks) override;
  Status sync() override;

  // Reads at the last commit timestamp.
  Result<std::optional<std::string>> get(std::string_view key);
  // At `read_timestamp` (0: the last commit), which may not be after the last commit (the writes
  // at or below it might not all be applied here yet); at most `bytes_max` of keys and values
  // (one row at least).
  Result<std::vector<storage::KvPair>> scan(std::string start, std::string end, std::size_t limit,
                                            HlcTimestamp read_timestamp = 0,
                                            std::size_t bytes_max = limits::kScanReplyBytesMax);
  // The node registry at the applied index: every node's record, or one node's.
  Result<std::vector<proto::NodeDescriptor>> node_registry();
  Result<std::optional<proto::NodeDescriptor>> registered_node(NodeId node);

  storage::KvEngine& engine() { return *engine_; }
  // The timestamp of the last batch applied: what reads see.
  HlcTimestamp last_commit_timestamp() const { return last_commit_timestamp_; }

 private:
  KvStateMachine(Runtime& runtime, std::shared_ptr<storage::KvEngine> engine, KvStateMachineOptions options)
      : runtime_(&runtime),
        engine_(std::move(engine)),
        options_(std::move(options)),
        keyspace_prefix_(keyspace_prefix(options_.keyspace)) {}
  Status load_applied();
  // The spans the range's snapshots carry and its garbage collection visits: its data and its
  // range-local records.
  std::vector<storage::KeySpan> spans() const;
  std::string local_key(std::string_view name) const { return range_local_key(options_.range_id, name); }
  std::string client_key(uint64_t client_id) const;
  // Where a client's key is stored: under the keyspace's prefix.
  std::string data_key(std::string_view key) const { return keyspace_prefix_ + std::string(key); }
  // Raises the watermark (in `pending`, the batch being built at `commit_timestamp`) when a
  // collection is due.
  void plan_garbage_collection(HlcTimestamp commit_timestamp, std::map<std::string, std::optional<std::string>>& pending);
  // The timestamp a batch of entries commits at.
  HlcTimestamp batch_timestamp(const std::vector<proto::RaftEntry>& entries) const;
  // The value of `key` as the batch being built sees it.
  Result<std::optional<std::string>> current(const std::string& key,
                                             const std::map<std::string, std::optional<std::string>>& pending);
  // Tells options_.on_node_registered of the registrations a batch just applied.
  void announce(const std::vector<proto::NodeDescriptor>& registered);
  Result<proto::KvCommandResult> execute(const proto::KvCommand& command,
                                         std::map<std::string, std::optional<std::string>>& pending);

  Runtime* runtime_;  // for its fault points
  std::shared_ptr<storage::KvEngine> engine_;  // shared with the node's other ranges
  KvStateMachineOptions options_;
  std::string keyspace_prefix_;
  proto::RaftSnapshotMetadata applied_;
  // Runs a step of garbage collection after an applied batch, while one is under way.
  Status collect_garbage();

  uint64_t last_gc_index_ = 0;
  HlcTimestamp gc_watermark_ = 0;  // reads below it are refused
  // A collection up to gc_watermark_ is under way: the next applied batches each run a step.
  bool gc_unfinished_ = false;
  uint64_t gc_steps_ = 0;  // of the collection under way
  HlcTimestamp last_commit_timestamp_ = 0;
  // The applied index as of the engine's last sync, as far as this range knows (an engine
  // shared with other ranges may have synced since): what a crash could bring the range back to.
  uint64_t synced_index_ = 0;
};

}  // namespace cairn::kv
