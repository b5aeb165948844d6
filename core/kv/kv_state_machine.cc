// KvStateMachine: KvCommands applied to the MVCC engine (kv_state_machine.h).
#include "core/kv/kv_state_machine.h"

#include "core/kv/node_registry.h"
#include "storage/kv/kv_snapshot.h"

namespace cairn::kv {
namespace {

const std::string kAppliedKey = std::string(kReservedKeyPrefix) + "raft/applied";
const std::string kClientPrefix = std::string(kReservedKeyPrefix) + "client/";

std::string client_key(uint64_t client_id) {
  std::string key = kClientPrefix;
  for (int shift = 56; shift >= 0; shift -= 8) key.push_back(static_cast<char>((client_id >> shift) & 0xff));
  return key;
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
  return storage::validate_key(key);
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
  if (value != nullptr && value->size() > storage::kMaxValueBytes) {
    return Status::invalid_argument("value of " + std::to_string(value->size()) + " bytes exceeds the limit of " +
                                    std::to_string(storage::kMaxValueBytes));
  }
  return Status{};
}

Result<std::unique_ptr<KvStateMachine>> KvStateMachine::open_machine(Runtime& runtime, const KvStateMachineOptions& options) {
  CAIRN_ASSIGN_OR_RETURN(auto engine, storage::KvEngine::open_engine(runtime, options.engine));
  std::unique_ptr<KvStateMachine> machine(new KvStateMachine(runtime, std::move(engine), options));
  CAIRN_RETURN_IF_ERROR(machine->load_applied());
  return machine;
}

Status KvStateMachine::load_applied() {
  const uint64_t index = engine_->applied_index();
  applied_.Clear();
  if (index == 0) return Status{};
  CAIRN_ASSIGN_OR_RETURN(auto stored, engine_->get(kAppliedKey, index));
  if (!stored.has_value() || !applied_.ParseFromString(*stored) || applied_.index() != index) {
    return Status::corruption("the key-value store is at index " + std::to_string(index) +
                              " but its Raft metadata is missing or does not match");
  }
  last_gc_index_ = index;
  return Status{};
}

Result<std::optional<std::string>> KvStateMachine::current(
    const std::string& key, const std::map<std::string, std::optional<std::string>>& pending) {
  auto found = pending.find(key);
  if (found != pending.end()) return found->second;
  if (applied_.index() == 0) return std::optional<std::string>{};
  return engine_->get(key, applied_.index());
}

Result<proto::KvCommandResult> KvStateMachine::execute(const proto::KvCommand& command,
                                                       std::map<std::string, std::optional<std::string>>& pending) {
  proto::KvCommandResult result;
  result.set_succeeded(true);
  switch (command.operation_case()) {
    case proto::KvCommand::kPut: pending[command.put().key()] = command.put().value(); break;
    case proto::KvCommand::kDelete: pending[command.delete_().key()] = std::nullopt; break;
    case proto::KvCommand::kCompareAndSet: {
      const proto::KvCompareAndSet& cas = command.compare_and_set();
      CAIRN_ASSIGN_OR_RETURN(std::optional<std::string> value, current(cas.key(), pending));
      const bool matches = cas.expect_absent() ? !value.has_value() : value.has_value() && *value == cas.expected();
      if (matches) {
        pending[cas.key()] = cas.delete_on_match() ? std::nullopt : std::optional<std::string>(cas.value());
      } else {
        result.set_succeeded(false);
        result.set_found(value.has_value());
        if (value) result.set_current(*value);
      }
      break;
    }
    case proto::KvCommand::kRegisterNode:
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
  pending[kAppliedKey] = next.SerializeAsString();

  storage::WriteBatch batch;
  batch.commit_timestamp = next.index();
  batch.applied_index = next.index();
  for (auto& [key, value] : pending) {
    if (value) {
      batch.put(key, std::move(*value));
    } else {
      batch.remove(key);
    }
  }
  CAIRN_RETURN_IF_ERROR(engine_->apply_unsynced(batch));
  applied_ = std::move(next);
  announce(registered);
  if (applied_.index() >= engine_->synced_index() + options_.max_unsynced_indexes) {
    CAIRN_RETURN_IF_ERROR(engine_->sync());
  }
  // Garbage may be collected early: the watermark still keeps the retained indexes.
  const bool gc_due = options_.gc_every_indexes > 0 && (applied_.index() >= last_gc_index_ + options_.gc_every_indexes ||
                                                        runtime_->buggify("kv.state_machine.garbage_collected_early"));
  if (gc_due && applied_.index() > options_.retained_indexes) {
    CAIRN_RETURN_IF_ERROR(engine_->collect_garbage(applied_.index() - options_.retained_indexes));
    last_gc_index_ = applied_.index();
  }
  return results;
}

Status KvStateMachine::sync() { return engine_->sync(); }

Result<std::vector<std::string>> KvStateMachine::export_snapshot(std::size_t chunk_bytes) {
  return engine_->export_snapshot(chunk_bytes);
}

Status KvStateMachine::verify_snapshot(const std::vector<std::string>& chunks) {
  return storage::decode_snapshot(chunks).status();
}

Status KvStateMachine::import_snapshot(const std::vector<std::string>& chunks) {
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
  return read_node_registry(*engine_, applied_.index());
}

Result<std::optional<proto::NodeDescriptor>> KvStateMachine::registered_node(NodeId node) {
  return read_node_record(*engine_, applied_.index(), node);
}

Result<std::optional<std::string>> KvStateMachine::get(std::string_view key) {
  if (applied_.index() == 0) return std::optional<std::string>{};
  return engine_->get(key, applied_.index());
}

Result<std::vector<storage::KvPair>> KvStateMachine::scan(std::string start, std::string end, std::size_t limit) {
  if (applied_.index() == 0) return std::vector<storage::KvPair>{};
  storage::ScanOptions options;
  options.start = std::move(start);
  // Reserved keys sort after every client key: a scan stops before them.
  options.end = end.empty() || end > std::string(kReservedKeyPrefix) ? std::string(kReservedKeyPrefix) : std::move(end);
  options.read_timestamp = applied_.index();
  options.limit = limit;
  return engine_->scan(options);
}

}  // namespace cairn::kv
