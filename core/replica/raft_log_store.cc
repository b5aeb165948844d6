// RaftLogStore: a Raft replica's durable state in a write-ahead log (raft_log_store.h).
#include "core/replica/raft_log_store.h"

#include <algorithm>

namespace cairn::replica {
namespace {

std::span<const std::byte> bytes_of(const std::string& text) {
  return std::as_bytes(std::span<const char>(text.data(), text.size()));
}

template <typename Message>
Result<Message> parse_record(const WalRecord& record, const char* what) {
  Message message;
  if (!message.ParseFromArray(record.payload.data(), static_cast<int>(record.payload.size()))) {
    return Status::corruption(std::string("write-ahead log record ") + std::to_string(record.index) +
                              " verified but is not a valid " + what);
  }
  return message;
}

// Creates every directory above the log's own (the WAL creates that one), each made durable in
// its parent, so a crash cannot leave the log in a directory that vanished.
Status create_parent_directories(FileSystem& file_system, const std::string& directory) {
  std::size_t slash = directory.find('/');
  while (slash != std::string::npos) {
    const std::string parent = directory.substr(0, slash);
    CAIRN_ASSIGN_OR_RETURN(const bool exists, file_system.exists(parent));
    if (!exists) {
      CAIRN_RETURN_IF_ERROR(file_system.create_directory(parent));
      const std::size_t above = parent.rfind('/');
      CAIRN_RETURN_IF_ERROR(file_system.sync_directory(above == std::string::npos ? "" : parent.substr(0, above)));
    }
    slash = directory.find('/', slash + 1);
  }
  return Status{};
}

}  // namespace

Result<std::unique_ptr<RaftLogStore>> RaftLogStore::open_store(Runtime& runtime, const RaftLogStoreOptions& options) {
  CAIRN_RETURN_IF_ERROR(create_parent_directories(runtime.file_system(), options.directory));
  WalOptions wal_options;
  wal_options.directory = options.directory;
  wal_options.max_segment_bytes = options.segment_bytes;
  wal_options.salvage_damage = options.salvage_damage;
  CAIRN_ASSIGN_OR_RETURN(auto wal, WriteAheadLog::open_log(runtime, wal_options));
  std::unique_ptr<RaftLogStore> store(new RaftLogStore(std::move(wal)));
  CAIRN_RETURN_IF_ERROR(store->replay());
  return store;
}

Status RaftLogStore::replay() {
  // Compaction deletes the oldest segments, so the log may begin in the middle of history:
  // entries may come before the marker that says where the log starts. Entries are therefore
  // collected sparsely and checked for contiguity only at the end, against the last marker.
  std::map<uint64_t, proto::RaftEntry> entries;
  for (const WalDamagedRange& damaged : wal_->recovery_report().damaged) {
    salvaged_ = true;
    salvage_summary_ += (salvage_summary_.empty() ? "" : "; ") + damaged.path + " at offset " +
                        std::to_string(damaged.offset) + ": " + damaged.reason;
  }
  if (wal_->last_index() >= wal_->first_index()) {
    for (uint64_t index = wal_->first_index(); index <= wal_->last_index(); ++index) {
      Result<WalRecord> record = wal_->read(index);
      if (!record.ok() && record.status().code() == StatusCode::kCorruption && salvaged_) continue;  // reported lost
      CAIRN_RETURN_IF_ERROR(record.status());
      CAIRN_RETURN_IF_ERROR(replay_record(*record, entries));
    }
  }
  for (auto& [index, entry] : entries) {
    const uint64_t expected = snapshot_index_ + recovered_.entries.size() + 1;
    if (index != expected) {
      const std::string gap = "the write-ahead log in " + wal_->options().directory + " lacks entry " +
                              std::to_string(expected) + " (the next one it holds is " + std::to_string(index) + ")";
      if (!salvaged_) return Status::corruption(gap);
      // Salvaged: keep the part of the log that follows the snapshot without a gap; the leader
      // sends the rest again.
      salvage_summary_ += "; " + gap + ", log cut there";
      break;
    }
    recovered_.entries.push_back(std::move(entry));
  }
  durable_hard_state_ = recovered_.hard_state;
  if (salvaged_) {
    // Entries this replica acknowledged may be gone: it catches up before voting again.
    recovered_.hard_state.set_catch_up_term(std::max<uint64_t>(recovered_.hard_state.term(), 1));
  }
  return Status{};
}

Status RaftLogStore::replay_record(const WalRecord& record, std::map<uint64_t, proto::RaftEntry>& entries) {
  switch (record.type) {
    case kWalRecordEntry: {
      CAIRN_ASSIGN_OR_RETURN(auto entry, parse_record<proto::RaftEntry>(record, "Raft entry"));
      if (entry.index() <= snapshot_index_) return Status{};  // covered by the snapshot
      // An entry replaces the one at its index and everything after it.
      entries.erase(entries.lower_bound(entry.index()), entries.end());
      entry_locations_.erase(entry_locations_.lower_bound(entry.index()), entry_locations_.end());
      entry_locations_[entry.index()] = record.index;
      const uint64_t index = entry.index();
      entries.emplace(index, std::move(entry));
      return Status{};
    }
    case kWalRecordHardState: {
      CAIRN_ASSIGN_OR_RETURN(recovered_.hard_state, parse_record<proto::RaftHardState>(record, "Raft hard state"));
      last_hard_state_location_ = record.index;
      return Status{};
    }
    case kWalRecordSnapshotMarker: {
      CAIRN_ASSIGN_OR_RETURN(auto marker, parse_record<proto::RaftLogMarker>(record, "Raft log marker"));
      const uint64_t index = marker.snapshot().index();
      if (marker.replaces_log()) {
        entries.clear();
        entry_locations_.clear();
      } else {
        entries.erase(entries.begin(), entries.upper_bound(index));
        entry_locations_.erase(entry_locations_.begin(), entry_locations_.upper_bound(index));
      }
      recovered_.snapshot = marker.snapshot();
      snapshot_index_ = index;
      last_marker_location_ = record.index;
      return Status{};
    }
    default:
      return Status::corruption("write-ahead log record " + std::to_string(record.index) + " has unknown type " +
                                std::to_string(record.type));
  }
}

Status RaftLogStore::save(const std::optional<proto::RaftHardState>& hard_state,
                          const std::vector<proto::RaftEntry>& entries) {
  if (!hard_state && entries.empty()) return Status{};
  std::vector<std::string> payloads;
  std::vector<WalRecordInput> records;
  payloads.reserve(entries.size() + 1);
  for (const proto::RaftEntry& entry : entries) payloads.push_back(entry.SerializeAsString());
  if (hard_state) payloads.push_back(hard_state->SerializeAsString());
  for (std::size_t i = 0; i < payloads.size(); ++i) {
    const bool is_entry = i < entries.size();
    records.push_back(WalRecordInput{.type = is_entry ? kWalRecordEntry : kWalRecordHardState,
                                     .payload = bytes_of(payloads[i])});
  }
  CAIRN_ASSIGN_OR_RETURN(const uint64_t first, wal_->append_batch(records));
  if (!entries.empty()) {
    entry_locations_.erase(entry_locations_.lower_bound(entries.front().index()), entry_locations_.end());
    for (std::size_t i = 0; i < entries.size(); ++i) entry_locations_[entries[i].index()] = first + i;
  }
  if (hard_state) {
    last_hard_state_location_ = first + records.size() - 1;
    durable_hard_state_ = *hard_state;
  }
  return Status{};
}

Status RaftLogStore::save_snapshot(const proto::RaftSnapshotMetadata& snapshot, bool replaces_log,
                                   const proto::RaftHardState& hard_state) {
  proto::RaftLogMarker marker;
  *marker.mutable_snapshot() = snapshot;
  marker.set_replaces_log(replaces_log);
  const std::string marker_bytes = marker.SerializeAsString();
  const std::string hard_state_bytes = hard_state.SerializeAsString();
  const WalRecordInput records[] = {
      WalRecordInput{.type = kWalRecordSnapshotMarker, .payload = bytes_of(marker_bytes)},
      WalRecordInput{.type = kWalRecordHardState, .payload = bytes_of(hard_state_bytes)}};
  CAIRN_ASSIGN_OR_RETURN(const uint64_t first, wal_->append_batch(records));
  if (replaces_log) {
    entry_locations_.clear();
  } else {
    entry_locations_.erase(entry_locations_.begin(), entry_locations_.upper_bound(snapshot.index()));
  }
  snapshot_index_ = snapshot.index();
  last_marker_location_ = first;
  last_hard_state_location_ = first + 1;
  durable_hard_state_ = hard_state;
  return Status{};
}

Status RaftLogStore::remove_covered_segments() {
  // Everything before the oldest record still needed: the last marker, the last hard state and
  // every entry after the snapshot.
  uint64_t keep_from = std::min(last_marker_location_, last_hard_state_location_);
  if (!entry_locations_.empty()) keep_from = std::min(keep_from, entry_locations_.begin()->second);
  if (keep_from == 0) return Status{};
  return wal_->remove_before(keep_from);
}

}  // namespace cairn::replica
