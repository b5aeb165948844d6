// KvStateMachine: the replicated key-value store's state machine — KvCommands from the Raft log
// applied to the MVCC key-value engine (storage/kv).
//
//  - Every batch of committed entries becomes one engine transaction at commit timestamp = the
//    last entry's index, with the applied index, so a crash leaves the store at an entry
//    boundary. Reads are served at the applied index.
//  - Deduplication: each client's last applied request id and its result live in the store
//    (reserved keys), so they survive crashes and travel in snapshots. A retry of a request
//    that was applied returns the original result instead of applying twice.
//  - Compare-and-set is decided at apply time against the state including earlier commands of
//    the same batch, identically on every replica.
//  - A node's registration (KvCommand.register_node) is a record of the node registry
//    (node_registry.h) under a reserved key; the options' callback hears of each.
//  - The Raft metadata of the applied point (index, term, membership) is stored under a reserved
//    key in the same transaction (replica/state_machine.h says why).
// Keys beginning with 0xff 0xff are reserved; commands using them are refused at the service.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/proto/kv.pb.h"
#include "core/replica/state_machine.h"
#include "core/runtime/runtime.h"
#include "storage/kv/kv_engine.h"

namespace cairn::kv {

inline constexpr std::string_view kReservedKeyPrefix = "\xff\xff";

// INVALID_ARGUMENT for a key the service does not accept from clients (empty, too long, reserved).
Status validate_client_key(std::string_view key);
// Checks a command's shape and keys before it is proposed.
Status validate_command(const proto::KvCommand& command);

struct KvStateMachineOptions {
  storage::KvEngineOptions engine = {};
  // Versions older than this many indexes behind the applied index may be garbage-collected.
  uint64_t retained_indexes = 1000;
  uint64_t gc_every_indexes = 1000;
  // Applied batches are committed to the engine without an fsync each (the Raft log holds them
  // durably and recovery replays it); they are synced at the latest once this many indexes are
  // pending, and whenever the replica asks (each tick, and before it compacts its log).
  uint64_t max_unsynced_indexes = 1000;
  // Called with every node registry record (node_registry.h) once it is applied, and with all of
  // them after a snapshot was imported. Runs on the replica's fiber: it must not block.
  std::function<void(const proto::NodeDescriptor&)> on_node_registered = nullptr;
};

class KvStateMachine final : public replica::StateMachine {
 public:
  static Result<std::unique_ptr<KvStateMachine>> open_machine(Runtime& runtime, const KvStateMachineOptions& options);

  const proto::RaftSnapshotMetadata& applied() const override { return applied_; }
  Result<std::vector<std::string>> apply(const std::vector<proto::RaftEntry>& entries,
                                         const proto::RaftMembership& membership_after) override;
  Result<std::vector<std::string>> export_snapshot(std::size_t chunk_bytes) override;
  Status verify_snapshot(const std::vector<std::string>& chunks) override;
  Status import_snapshot(const std::vector<std::string>& chunks) override;
  Status sync() override;

  // Reads at the applied index.
  Result<std::optional<std::string>> get(std::string_view key);
  Result<std::vector<storage::KvPair>> scan(std::string start, std::string end, std::size_t limit);
  // The node registry at the applied index: every node's record, or one node's.
  Result<std::vector<proto::NodeDescriptor>> node_registry();
  Result<std::optional<proto::NodeDescriptor>> registered_node(NodeId node);

  storage::KvEngine& engine() { return *engine_; }

 private:
  KvStateMachine(Runtime& runtime, std::unique_ptr<storage::KvEngine> engine, KvStateMachineOptions options)
      : runtime_(&runtime), engine_(std::move(engine)), options_(std::move(options)) {}
  Status load_applied();
  // The value of `key` as the batch being built sees it.
  Result<std::optional<std::string>> current(const std::string& key,
                                             const std::map<std::string, std::optional<std::string>>& pending);
  // Tells options_.on_node_registered of the registrations a batch just applied.
  void announce(const std::vector<proto::NodeDescriptor>& registered);
  Result<proto::KvCommandResult> execute(const proto::KvCommand& command,
                                         std::map<std::string, std::optional<std::string>>& pending);

  Runtime* runtime_;  // for its fault points
  std::unique_ptr<storage::KvEngine> engine_;
  KvStateMachineOptions options_;
  proto::RaftSnapshotMetadata applied_;
  uint64_t last_gc_index_ = 0;
};

}  // namespace cairn::kv
