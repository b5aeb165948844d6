// KvStateMachine: KvCommands applied to the MVCC engine (kv_state_machine.h).
#include "core/kv/kv_state_machine.h"

#include "core/kv/node_registry.h"
#include "storage/encoding/little_endian.h"
#include "storage/kv/kv_snapshot.h"

namespace cairn::kv {
namespace {

// The range-local records (range_keys.h): the applied point (RaftSnapshotMetadata), the last
// batch's commit timestamp and the garbage watermark (8 bytes little-endian each), and one
// deduplication record per client (KvClientRecord).
constexpr std::string_view kAppliedName = "applied";
constexpr std::string_view kCommitTimestampName = "commit_timestamp";
constexpr std::string_view kGcWatermarkName = "gc_watermark";
constexpr std::string_view kClientName = "client/";

std::string encode_timestamp(HlcTimestamp timestamp) {
  std::string bytes;
  storage::append_u64(bytes, timestamp);
  return bytes;
}

Result<HlcTimestamp> decode_timestamp(const std::optional<std::string>& stored, std::string_view name) {
  if (!stored) return HlcTimestamp{0};
  if (stored->size() != 8) return Status::corruption("the range's " + std::string(name) + " record is unreadable");
  return storage::load_u64(reinterpret_cast<const std::byte*>(stored->data()));
}

const std::string* key_of(const proto::KvCommand& command) {
  switch (command.operation_case()) {
    case proto::KvCommand::kPut: return &command.put().key();
    case proto::KvCommand::kDelete: return &command.delete_().key();
    case proto::KvCommand::kCompareAndSet: return &command.compare_and_set().key();
    default: return nullptr;
  }
}

}  // namespace

Status validate_client_key(std::string_view key) {
  if (key.empty()) return Status::invalid_argument("empty key");
  if (key.starts_with(kReservedKeyPrefix)) return Status::invalid_argument("keys beginning with 0xff 0xff are reserved");
  if (key.size() > limits::kClientKeyBytesMax) {
    return Status::invalid_argument("key of " + std::to_string(key.size()) + " bytes exceeds the limit of " +
                                    std::to_string(limits::kClientKeyBytesMax));
  }
  return Status{};
}

Status validate_command(const proto::KvCommand& command) {
  if (command.has_register_node()) return validate_node_descriptor(command.register_node());
  const std::string* key = key_of(command);
  if (key == nullptr) {
    return Status::invalid_argument("a command needs an operation (put, delete, compare-and-set or register-node)");
  }
  CAIRN_RETURN_IF_ERROR(validate_client_key(*key));
  const std::string* value = command.has_put()               ? &command.put().value()
                             : command.has_compare_and_set() ? &command.compare_and_set().value()
                                                             : nullptr;
  if (value != nullptr && value->size() > limits::kValueBytesMax) {
    return Status::invalid_argument("value of " + std::to_string(value->size()) + " bytes exceeds the limit of " +
                                    std::to_string(limits::kValueBytesMax));
  }
  return Status{};
}

Result<std::unique_ptr<KvStateMachine>> KvStateMachine::open_range(Runtime& runtime,
                                                                   std::shared_ptr<storage::KvEngine> engine,
                                                                   const KvStateMachineOptions& options) {
  CAIRN_ASSERT(engine != nullptr);
  if (options.keyspace == 0 || options.keyspace > kKeyspaceIdMax) {
    return Status::invalid_argument("keyspace ids are 1 to 2^24");
  }
  if (options.range_id == 0 || options.gc_versions_per_step == 0) {
    return Status::invalid_argument("a range id and a garbage collection step are at least 1");
  }
  std::unique_ptr<KvStateMachine> machine(new KvStateMachine(runtime, std::move(engine), options));
  CAIRN_RETURN_IF_ERROR(machine->load_applied());
  return machine;
}

Status KvStateMachine::load_applied() {
  applied_.Clear();
  CAIRN_ASSIGN_OR_RETURN(auto stored, engine_->get(local_key(kAppliedName), storage::kMaxTimestamp));
  if (stored.has_value() && !applied_.ParseFromString(*stored)) {
    return Status::corruption("range " + std::to_string(options_.range_id) + "'s applied record is unreadable");
  }
  CAIRN_ASSIGN_OR_RETURN(auto commit_timestamp, engine_->get(local_key(kCommitTimestampName), storage::kMaxTimestamp));
  CAIRN_ASSIGN_OR_RETURN(last_commit_timestamp_, decode_timestamp(commit_timestamp, kCommitTimestampName));
  if ((applied_.index() > 0) != (last_commit_timestamp_ > 0)) {
    return Status::corruption("range " + std::to_string(options_.range_id) +
                              " has an applied record without a commit timestamp, or the reverse");
  }
  CAIRN_ASSIGN_OR_RETURN(auto watermark, engine_->get(local_key(kGcWatermarkName), storage::kMaxTimestamp));
  CAIRN_ASSIGN_OR_RETURN(gc_watermark_, decode_timestamp(watermark, kGcWatermarkName));
  // A collection a crash interrupted goes on; one that had finished finds nothing.
  gc_unfinished_ = gc_watermark_ > 0;
  last_gc_index_ = synced_index_ = applied_.index();
  return Status{};
}

std::vector<storage::KeySpan> KvStateMachine::spans() const {
  std::vector<storage::KeySpan> spans = {keyspace_span(options_.keyspace)};
  if (options_.holds_system_keys) spans.push_back(system_span());
  spans.push_back(range_local_span(options_.range_id));
  return spans;
}

std::string KvStateMachine::client_key(uint64_t client_id) const {
  std::string key = local_key(kClientName);
  for (int shift = 56; shift >= 0; shift -= 8) key.push_back(static_cast<char>((client_id >> shift) & 0xff));
  return key;
}

HlcTimestamp KvStateMachine::batch_timestamp(const std::vector<proto::RaftEntry>& entries) const {
  // One timestamp for the batch (the engine commits a batch at one): above the last commit, so
  // that timestamps grow along the log and a read at the last commit sees every applied write,
  // and at or above every command's own, so that each commits no earlier than its leader's
  // clock said. The same on every replica: it depends on the log alone.
  HlcTimestamp timestamp = last_commit_timestamp_ + 1;
  for (const proto::RaftEntry& entry : entries) {
    proto::KvCommand command;
    if (entry.type() == proto::RAFT_ENTRY_NORMAL && command.ParseFromString(entry.data())) {
      timestamp = std::max<HlcTimestamp>(timestamp, command.timestamp());
    }
  }
  timestamp = std::min<HlcTimestamp>(timestamp, storage::kMaxTimestamp);
  CAIRN_ASSERT(timestamp > last_commit_timestamp_, "commit timestamps grow along the log");
  return timestamp;
}

Result<std::optional<std::string>> KvStateMachine::current(
    const std::string& key, const std::map<std::string, std::optional<std::string>>& pending) {
  auto found = pending.find(key);
  if (found != pending.end()) return found->second;
  if (applied_.index() == 0) return std::optional<std::string>{};
  return engine_->get(key, last_commit_timestamp_);
}

Result<proto::KvCommandResult> KvStateMachine::execute(const proto::KvCommand& command,
                                                       std::map<std::string, std::optional<std::string>>& pending) {
  proto::KvCommandResult result;
  result.set_succeeded(true);
  switch (command.operation_case()) {
    case proto::KvCommand::kPut: pending[data_key(command.put().key())] = command.put().value(); break;
    case proto::KvCommand::kDelete: pending[data_key(command.delete_().key())] = std::nullopt; break;
    case proto::KvCommand::kCompareAndSet: {
      const proto::KvCompareAndSet& cas = command.compare_and_set();
      CAIRN_ASSIGN_OR_RETURN(std::optional<std::string> value, current(data_key(cas.key()), pending));
      const bool matches = cas.expect_absent() ? !value.has_value() : value.has_value() && *value == cas.expected();
      if (matches) {
        pending[data_key(cas.key())] = cas.delete_on_match() ? std::nullopt : std::optional<std::string>(cas.value());
      } else {
        result.set_succeeded(false);
        result.set_found(value.has_value());
        if (value) result.set_current(*value);
      }
      break;
    }
    case proto::KvCommand::kRegisterNode:
      // Only the range that holds the system keys keeps the registry; elsewhere nothing changes.
      if (!options_.holds_system_keys) {
        result.set_succeeded(false);
        break;
      }
      pending[node_registry_key(command.register_node().node())] = command.register_node().SerializeAsString();
      break;
    default: break;  // refused before proposal; a malformed entry changes nothing, everywhere
  }
  return result;
}

Result<std::vector<std::string>> KvStateMachine::apply(const std::vector<proto::RaftEntry>& entries,
                                                       const proto::RaftMembership& membership_after) {
  if (entries.empty()) return std::vector<std::string>{};
  std::map<std::string, std::optional<std::string>> pending;
  std::vector<proto::NodeDescriptor> registered;
  std::vector<std::string> results;
  results.reserve(entries.size());
  const HlcTimestamp commit_timestamp = batch_timestamp(entries);
  for (const proto::RaftEntry& entry : entries) {
    CAIRN_ASSERT(entry.index() > applied_.index(), "entries are applied once, in order");
    proto::KvCommand command;
    if (entry.type() != proto::RAFT_ENTRY_NORMAL || entry.data().empty() || !command.ParseFromString(entry.data()) ||
        !validate_command(command).ok()) {
      results.emplace_back();
      continue;
    }
    const std::string record_key = client_key(command.client_id());
    proto::KvClientRecord record;
    if (command.request_id() != 0) {
      CAIRN_ASSIGN_OR_RETURN(std::optional<std::string> stored, current(record_key, pending));
      if (stored && record.ParseFromString(*stored) && record.request_id() >= command.request_id()) {
        // A retry of an applied request (or an older one): the first outcome stands.
        runtime_->probe("kv.state_machine.duplicate_request_skipped");
        proto::KvCommandResult repeated = record.result();
        repeated.set_duplicate(true);
        results.push_back(repeated.SerializeAsString());
        continue;
      }
    }
    CAIRN_ASSIGN_OR_RETURN(proto::KvCommandResult result, execute(command, pending));
    result.set_commit_timestamp(commit_timestamp);
    if (command.has_register_node()) registered.push_back(command.register_node());
    if (command.request_id() != 0) {
      record.set_request_id(command.request_id());
      *record.mutable_result() = result;
      pending[record_key] = record.SerializeAsString();
    }
    results.push_back(result.SerializeAsString());
  }
  proto::RaftSnapshotMetadata next;
  next.set_index(entries.back().index());
  next.set_term(entries.back().term());
  *next.mutable_membership() = membership_after;
  pending[local_key(kAppliedName)] = next.SerializeAsString();
  pending[local_key(kCommitTimestampName)] = encode_timestamp(commit_timestamp);
  plan_garbage_collection(commit_timestamp, pending);

  storage::WriteBatch batch;
  batch.commit_timestamp = commit_timestamp;
  for (auto& [key, value] : pending) {
    if (value) {
      batch.put(key, std::move(*value));
    } else {
      batch.remove(key);
    }
  }
  const uint64_t previous_index = applied_.index();
  CAIRN_RETURN_IF_ERROR(engine_->apply_unsynced(batch));
  // The first batch of a new transaction: everything before it is synced.
  if (engine_->unsynced_batches() <= 1) synced_index_ = previous_index;
  applied_ = std::move(next);
  last_commit_timestamp_ = commit_timestamp;
  // This node's clock moves past what it applied (a leader's clock may be ahead of it), even
  // beyond the maximum offset: the range commits above it from now on anyway (batch_timestamp),
  // and a client that read it must not be refused here (hybrid_clock.h).
  if (options_.clock != nullptr) options_.clock->observe_committed(commit_timestamp);
  announce(registered);
  if (applied_.index() >= synced_index_ + options_.max_unsynced_indexes) CAIRN_RETURN_IF_ERROR(sync());
  CAIRN_RETURN_IF_ERROR(collect_garbage());
  return results;
}

void KvStateMachine::plan_garbage_collection(HlcTimestamp commit_timestamp,
                                             std::map<std::string, std::optional<std::string>>& pending) {
  // Garbage may be collected early: the watermark still keeps the retained history.
  const bool due = options_.gc_every_indexes > 0 && (applied_.index() >= last_gc_index_ + options_.gc_every_indexes ||
                                                     runtime_->buggify("kv.state_machine.garbage_collected_early"));
  const HlcTimestamp watermark = hlc_minus(commit_timestamp, options_.gc_retention);
  if (!due || watermark <= gc_watermark_) return;
  // The watermark is raised in the batch, before any version below it goes: after a crash,
  // reads below it are refused whether or not the collection had begun.
  gc_watermark_ = watermark;
  gc_unfinished_ = true;
  gc_steps_ = 0;
  pending[local_key(kGcWatermarkName)] = encode_timestamp(watermark);
}

Status KvStateMachine::collect_garbage() {
  CAIRN_ASSERT(options_.gc_versions_per_step > 0);
  if (!gc_unfinished_) return Status{};
  if (gc_steps_++ > 0) runtime_->probe("kv.state_machine.garbage_collection_continued");
  const uint64_t versions_max =
      runtime_->buggify("kv.state_machine.garbage_collected_in_tiny_steps") ? 1 : options_.gc_versions_per_step;
  uint64_t dropped_total = 0;
  for (const storage::KeySpan& span : spans()) {
    CAIRN_ASSIGN_OR_RETURN(const uint64_t dropped,
                           engine_->collect_garbage(span, gc_watermark_, versions_max - dropped_total));
    dropped_total += dropped;
    if (dropped_total == versions_max) break;
  }
  CAIRN_ASSERT(dropped_total <= versions_max);
  gc_unfinished_ = dropped_total == versions_max;
  last_gc_index_ = applied_.index();
  return Status{};
}

Status KvStateMachine::sync() {
  CAIRN_RETURN_IF_ERROR(engine_->sync());
  synced_index_ = applied_.index();
  return Status{};
}

Result<std::vector<std::string>> KvStateMachine::export_snapshot(std::size_t chunk_bytes) {
  return engine_->export_snapshot(spans(), chunk_bytes);
}

Status KvStateMachine::verify_snapshot(const std::vector<std::string>& chunks) {
  CAIRN_ASSIGN_OR_RETURN(storage::KvSnapshot snapshot, storage::decode_snapshot(chunks));
  // A snapshot of another range, or of another span of this one, would replace the wrong keys.
  if (snapshot.spans != spans()) {
    return Status::corruption("the snapshot covers other spans than range " + std::to_string(options_.range_id) + "'s");
  }
  return Status{};
}

Status KvStateMachine::import_snapshot(const std::vector<std::string>& chunks) {
  CAIRN_RETURN_IF_ERROR(verify_snapshot(chunks));
  CAIRN_RETURN_IF_ERROR(engine_->import_snapshot(chunks));
  CAIRN_RETURN_IF_ERROR(load_applied());
  if (!options_.on_node_registered) return Status{};
  CAIRN_ASSIGN_OR_RETURN(std::vector<proto::NodeDescriptor> nodes, node_registry());
  for (const proto::NodeDescriptor& node : nodes) options_.on_node_registered(node);
  return Status{};
}


void KvStateMachine::announce(const std::vector<proto::NodeDescriptor>& registered) {
  // Only once the batch is in the engine: a listener may read the registry back.
  if (!options_.on_node_registered) return;
  for (const proto::NodeDescriptor& node : registered) options_.on_node_registered(node);
}

Result<std::vector<proto::NodeDescriptor>> KvStateMachine::node_registry() {
  return read_node_registry(*engine_, last_commit_timestamp_);
}

Result<std::optional<proto::NodeDescriptor>> KvStateMachine::registered_node(NodeId node) {
  return read_node_record(*engine_, last_commit_timestamp_, node);
}

Result<std::optional<std::string>> KvStateMachine::get(std::string_view key) {
  if (applied_.index() == 0) return std::optional<std::string>{};
  return engine_->get(data_key(key), last_commit_timestamp_);
}

Result<std::vector<storage::KvPair>> KvStateMachine::scan(std::string start, std::string end, std::size_t limit,
                                                          HlcTimestamp read_timestamp, std::size_t bytes_max) {
  if (read_timestamp > last_commit_timestamp_) {
    return Status::unavailable("this replica has not applied everything up to the read timestamp " +
                               format_hlc(read_timestamp) + " yet");
  }
  CAIRN_RETURN_IF_ERROR(storage::validate_read_above_watermark(read_timestamp == 0 ? last_commit_timestamp_ : read_timestamp,
                                                               gc_watermark_));
  if (applied_.index() == 0) return std::vector<storage::KvPair>{};
  storage::ScanOptions options;
  options.start = data_key(start);
  // The keyspace ends where its prefix does: a scan never leaves it.
  options.end = end.empty() ? keyspace_span(options_.keyspace).end : data_key(end);
  options.read_timestamp = read_timestamp == 0 ? last_commit_timestamp_ : read_timestamp;
  options.limit = limit;
  options.bytes_max = bytes_max;
  CAIRN_ASSIGN_OR_RETURN(std::vector<storage::KvPair> found, engine_->scan(options));
  for (storage::KvPair& pair : found) {
    CAIRN_ASSERT(pair.key.starts_with(keyspace_prefix_), "a scan stays in its keyspace");
    pair.key.erase(0, keyspace_prefix_.size());
  }
  return found;
}

}  // namespace cairn::kv
