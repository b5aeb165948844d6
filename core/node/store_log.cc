// StoreLog: every range's Raft state in the node's one write-ahead log (store_log.h).
#include "core/node/store_log.h"

#include <algorithm>

#include "core/runtime/durable_file.h"
#include "core/runtime/file_system.h"
#include "storage/encoding/little_endian.h"

namespace cairn::node {
namespace {

constexpr std::size_t kRangeIdBytes = 8;

std::string encode(RangeId range, const google::protobuf::Message* message) {
  std::string payload;
  storage::append_u64(payload, range);
  if (message != nullptr) payload += message->SerializeAsString();
  return payload;
}

Result<RangeId> range_of(const WalRecord& record) {
  if (record.payload.size() < kRangeIdBytes) {
    return Status::corruption("write-ahead log record " + std::to_string(record.index) + " is too short for a range id");
  }
  return storage::load_u64(record.payload.data());
}

template <typename Message>
Result<Message> parse_body(const WalRecord& record, const char* what) {
  Message message;
  const auto* body = record.payload.data() + kRangeIdBytes;
  if (!message.ParseFromArray(body, static_cast<int>(record.payload.size() - kRangeIdBytes))) {
    return Status::corruption(std::string("write-ahead log record ") + std::to_string(record.index) +
                              " verified but is not a valid " + what);
  }
  return message;
}

}  // namespace

uint64_t StoreLog::RangeRecords::oldest_needed() const {
  uint64_t oldest = 0;
  const auto consider = [&](uint64_t location) {
    if (location != 0 && (oldest == 0 || location < oldest)) oldest = location;
  };
  consider(hard_state_location);
  consider(marker_location);
  if (!entry_locations.empty()) {
    for (const auto& [index, location] : entry_locations) consider(location);
  }
  return oldest;
}

StoreLog::StoreLog(Runtime& runtime, std::unique_ptr<WriteAheadLog> wal, StoreLogOptions options)
    : runtime_(&runtime), wal_(std::move(wal)), options_(std::move(options)) {}

Result<std::unique_ptr<StoreLog>> StoreLog::open_log(Runtime& runtime, const StoreLogOptions& options) {
  CAIRN_RETURN_IF_ERROR(create_directories_durably(runtime.file_system(), parent_directory(options.directory)));
  WalOptions wal_options;
  wal_options.directory = options.directory;
  wal_options.max_segment_bytes = options.segment_bytes;
  wal_options.salvage_damage = options.salvage_damage;
  CAIRN_ASSIGN_OR_RETURN(auto wal, WriteAheadLog::open_log(runtime, wal_options));
  std::unique_ptr<StoreLog> log(new StoreLog(runtime, std::move(wal), options));
  CAIRN_RETURN_IF_ERROR(log->replay());
  return log;
}

Status StoreLog::replay() {
  for (const WalDamagedRange& damaged : wal_->recovery_report().damaged) {
    salvaged_ = true;
    salvage_summary_ += (salvage_summary_.empty() ? "" : "; ") + damaged.path + " at offset " +
                        std::to_string(damaged.offset) + ": " + damaged.reason;
  }
  // Compaction and purges delete the oldest segments, so a range's entries may come before the
  // marker that says where its log starts: they are collected sparsely and checked at the end.
  std::map<RangeId, std::map<uint64_t, proto::RaftEntry>> entries;
  for (uint64_t index = wal_->first_index(); index <= wal_->last_index() && wal_->last_index() >= wal_->first_index();
       ++index) {
    Result<WalRecord> record = wal_->read(index);
    if (!record.ok() && record.status().code() == StatusCode::kCorruption && salvaged_) continue;  // reported lost
    CAIRN_RETURN_IF_ERROR(record.status());
    CAIRN_RETURN_IF_ERROR(replay_record(*record, entries));
  }
  return finish_recovery(entries);
}

Status StoreLog::replay_record(const WalRecord& record, std::map<RangeId, std::map<uint64_t, proto::RaftEntry>>& entries) {
  if (record.type < kStoreRecordEntry) {
    return Status::failed_precondition("the write-ahead log in " + wal_->options().directory +
                                       " is of the single-group format of Cairn 0.3 (one log per group); this version "
                                       "keeps one log per node: create the data directory anew and add the node back");
  }
  CAIRN_ASSIGN_OR_RETURN(const RangeId range, range_of(record));
  switch (record.type) {
    case kStoreRecordEntry: {
      CAIRN_ASSIGN_OR_RETURN(auto entry, parse_body<proto::RaftEntry>(record, "Raft entry"));
      RangeRecords& state = ranges_[range];
      if (entry.index() <= state.marker.snapshot().index()) return Status{};  // covered by the snapshot
      std::map<uint64_t, proto::RaftEntry>& held = entries[range];
      held.erase(held.lower_bound(entry.index()), held.end());
      state.entry_locations.erase(state.entry_locations.lower_bound(entry.index()), state.entry_locations.end());
      state.entry_locations[entry.index()] = record.index;
      const uint64_t index = entry.index();
      held.emplace(index, std::move(entry));
      return Status{};
    }
    case kStoreRecordHardState: {
      RangeRecords& state = ranges_[range];
      CAIRN_ASSIGN_OR_RETURN(state.hard_state, parse_body<proto::RaftHardState>(record, "Raft hard state"));
      state.hard_state_location = record.index;
      return Status{};
    }
    case kStoreRecordMarker: {
      CAIRN_ASSIGN_OR_RETURN(auto marker, parse_body<proto::RaftLogMarker>(record, "Raft log marker"));
      RangeRecords& state = ranges_[range];
      std::map<uint64_t, proto::RaftEntry>& held = entries[range];
      const uint64_t index = marker.snapshot().index();
      if (marker.replaces_log()) {
        held.clear();
        state.entry_locations.clear();
      } else {
        held.erase(held.begin(), held.upper_bound(index));
        state.entry_locations.erase(state.entry_locations.begin(), state.entry_locations.upper_bound(index));
      }
      state.marker = std::move(marker);
      state.marker_location = record.index;
      return Status{};
    }
    case kStoreRecordRemoved:
      ranges_.erase(range);
      entries.erase(range);
      return Status{};
    default:
      return Status::corruption("write-ahead log record " + std::to_string(record.index) + " has unknown type " +
                                std::to_string(record.type));
  }
}

Status StoreLog::finish_recovery(std::map<RangeId, std::map<uint64_t, proto::RaftEntry>>& entries) {
  for (auto& [range, state] : ranges_) {
    raft::RaftRecoveredState& recovered = recovered_[range];
    recovered.hard_state = state.hard_state;
    recovered.snapshot = state.marker.snapshot();
    for (auto& [index, entry] : entries[range]) {
      const uint64_t expected = recovered.snapshot.index() + recovered.entries.size() + 1;
      if (index != expected) {
        const std::string gap = "range " + std::to_string(range) + " lacks entry " + std::to_string(expected) +
                                " (the next one the log holds is " + std::to_string(index) + ")";
        if (!salvaged_) return Status::corruption("the write-ahead log in " + wal_->options().directory + ": " + gap);
        salvage_summary_ += "; " + gap + ", log cut there";
        break;
      }
      recovered.entries.push_back(std::move(entry));
    }
    // Entries this replica acknowledged may be gone, whichever range they were of: it catches up
    // before voting again.
    if (salvaged_) recovered.hard_state.set_catch_up_term(std::max<uint64_t>(recovered.hard_state.term(), 1));
  }
  return Status{};
}

std::vector<RangeId> StoreLog::ranges() const {
  std::vector<RangeId> held;
  for (const auto& [range, state] : ranges_) held.push_back(range);
  return held;
}

raft::RaftRecoveredState StoreLog::take_recovered(RangeId range) {
  auto found = recovered_.find(range);
  if (found == recovered_.end()) return raft::RaftRecoveredState{};
  raft::RaftRecoveredState recovered = std::move(found->second);
  recovered_.erase(found);
  return recovered;
}

const proto::RaftHardState& StoreLog::durable_hard_state(RangeId range) const {
  static const proto::RaftHardState kNone;
  auto found = ranges_.find(range);
  return found == ranges_.end() ? kNone : found->second.hard_state;
}

Result<uint64_t> StoreLog::append(const std::vector<std::pair<uint8_t, std::string>>& records) {
  CAIRN_ASSERT(!records.empty(), "an empty batch is never appended");
  std::vector<WalRecordInput> inputs;
  inputs.reserve(records.size());
  for (const auto& [type, payload] : records) inputs.push_back(WalRecordInput{.type = type, .payload = as_bytes(payload)});
  CAIRN_ASSIGN_OR_RETURN(const uint64_t first, wal_->append_batch(inputs));
  ++stats_.batches_written;
  return first;
}

Status StoreLog::save(std::span<const RangeLogWrite> writes) {
  std::vector<std::pair<uint8_t, std::string>> records;
  for (const RangeLogWrite& write : writes) {
    for (const proto::RaftEntry& entry : write.entries) records.emplace_back(kStoreRecordEntry, encode(write.range, &entry));
    if (write.hard_state) records.emplace_back(kStoreRecordHardState, encode(write.range, &*write.hard_state));
  }
  if (records.empty()) return Status{};
  CAIRN_ASSIGN_OR_RETURN(const uint64_t first, append(records));
  uint64_t location = first;
  for (const RangeLogWrite& write : writes) {
    RangeRecords& state = ranges_[write.range];
    if (!write.entries.empty()) {
      state.entry_locations.erase(state.entry_locations.lower_bound(write.entries.front().index()), state.entry_locations.end());
    }
    for (const proto::RaftEntry& entry : write.entries) state.entry_locations[entry.index()] = location++;
    if (write.hard_state) {
      state.hard_state = *write.hard_state;
      state.hard_state_location = location++;
    }
  }
  CAIRN_ASSERT(location == first + records.size(), "every record of the batch has its location");
  return Status{};
}

Status StoreLog::save_snapshot(RangeId range, const proto::RaftSnapshotMetadata& snapshot, bool replaces_log,
                               const proto::RaftHardState& hard_state) {
  proto::RaftLogMarker marker;
  *marker.mutable_snapshot() = snapshot;
  marker.set_replaces_log(replaces_log);
  CAIRN_ASSIGN_OR_RETURN(const uint64_t first, append({{kStoreRecordMarker, encode(range, &marker)},
                                                       {kStoreRecordHardState, encode(range, &hard_state)}}));
  RangeRecords& state = ranges_[range];
  if (replaces_log) {
    state.entry_locations.clear();
  } else {
    state.entry_locations.erase(state.entry_locations.begin(), state.entry_locations.upper_bound(snapshot.index()));
  }
  state.marker = std::move(marker);
  state.marker_location = first;
  state.hard_state = hard_state;
  state.hard_state_location = first + 1;
  return Status{};
}

Status StoreLog::remove_range(RangeId range) {
  CAIRN_RETURN_IF_ERROR(append({{kStoreRecordRemoved, encode(range, nullptr)}}).status());
  ranges_.erase(range);
  recovered_.erase(range);
  CAIRN_ASSERT(!ranges_.contains(range), "a removed range holds nothing");
  return Status{};
}

Status StoreLog::rewrite(RangeId range, uint64_t before, std::size_t& budget) {
  RangeRecords& state = ranges_.at(range);
  if (state.oldest_needed() == 0 || state.oldest_needed() >= before) return Status{};
  std::vector<std::pair<uint8_t, std::string>> records;
  // The range's needed records, in an order that replays to the same state: the marker, then the
  // entries after it, then the hard state.
  if (state.marker_location != 0) records.emplace_back(kStoreRecordMarker, encode(range, &state.marker));
  std::vector<uint64_t> indexes;
  for (const auto& [index, location] : state.entry_locations) {
    CAIRN_ASSIGN_OR_RETURN(WalRecord record, wal_->read(location));
    records.emplace_back(kStoreRecordEntry, std::string(reinterpret_cast<const char*>(record.payload.data()), record.payload.size()));
    indexes.push_back(index);
  }
  if (state.hard_state_location != 0) records.emplace_back(kStoreRecordHardState, encode(range, &state.hard_state));
  CAIRN_ASSIGN_OR_RETURN(uint64_t location, append(records));
  if (state.marker_location != 0) state.marker_location = location++;
  for (uint64_t index : indexes) state.entry_locations[index] = location++;
  if (state.hard_state_location != 0) state.hard_state_location = location++;
  stats_.records_rewritten += records.size();
  budget = records.size() >= budget ? 0 : budget - records.size();
  return Status{};
}

Status StoreLog::purge() {
  const std::vector<WalSegmentInfo> segments = wal_->segments();
  if (segments.size() > options_.segments_kept) {
    // Everything before the segment that would be the oldest kept must move to the head.
    const uint64_t before = segments[segments.size() - options_.segments_kept].first_index;
    std::size_t budget = options_.rewrite_records_max;
    for (auto& [range, state] : ranges_) {
      if (budget == 0) break;
      const uint64_t oldest = state.oldest_needed();
      if (oldest != 0 && oldest < before) CAIRN_RETURN_IF_ERROR(rewrite(range, before, budget));
    }
  }
  uint64_t keep_from = wal_->last_index() + 1;
  for (const auto& [range, state] : ranges_) {
    if (const uint64_t oldest = state.oldest_needed(); oldest != 0) keep_from = std::min(keep_from, oldest);
  }
  const std::size_t before_count = wal_->segments().size();
  CAIRN_RETURN_IF_ERROR(wal_->remove_before(keep_from));
  stats_.segments_removed += before_count - wal_->segments().size();
  return Status{};
}

StoreLogStats StoreLog::stats() const {
  StoreLogStats stats = stats_;
  stats.segments = wal_->segments().size();
  return stats;
}

}  // namespace cairn::node
