// The bounded queue between appenders and the write-ahead log's writer (see
// wal_group_commit_queue.h).
#include "storage/wal/wal_group_commit_queue.h"

#include "core/runtime/assert.h"
#include "storage/wal/wal_format.h"

namespace cairn::wal {

GroupCommitQueue::GroupCommitQueue(uint64_t next_index, std::size_t max_records, uint64_t max_bytes)
    : next_index_(next_index), max_records_(max_records), max_bytes_(max_bytes) {}

Result<Future<uint64_t>> GroupCommitQueue::push(std::span<const WalRecordInput> records) {
  uint64_t bytes = 0;
  for (const WalRecordInput& record : records) bytes += record_size(record.payload.size());
  CAIRN_ASSERT(!records.empty() && fits_alone(records.size(), bytes), "an unvalidated group reached the queue");
  while (failure_.ok() && !has_room(records.size(), bytes)) wait_on(room_);
  if (!failure_.ok()) return failure_;

  PendingGroup group;
  group.first_index = next_index_;
  group.encoded_bytes = bytes;
  group.types.reserve(records.size());
  group.payload_lengths.reserve(records.size());
  group.payloads.reserve(bytes - records.size() * kRecordHeaderSize);
  for (const WalRecordInput& record : records) {
    group.types.push_back(record.type);
    group.payload_lengths.push_back(static_cast<uint32_t>(record.payload.size()));
    group.payloads.insert(group.payloads.end(), record.payload.begin(), record.payload.end());
  }
  Future<uint64_t> future = group.done.future();
  next_index_ += records.size();
  queued_records_ += records.size();
  queued_bytes_ += bytes;
  groups_.push_back(std::move(group));
  writer_.notify_one();
  return future;
}

std::vector<PendingGroup> GroupCommitQueue::take(uint64_t byte_budget) {
  while (failure_.ok() && groups_.empty()) wait_on(writer_);
  std::vector<PendingGroup> taken;
  if (!failure_.ok()) return taken;
  uint64_t taken_bytes = 0;
  while (!groups_.empty() && (taken.empty() || taken_bytes + groups_.front().encoded_bytes <= byte_budget)) {
    PendingGroup& group = groups_.front();
    taken_bytes += group.encoded_bytes;
    queued_records_ -= group.record_count();
    queued_bytes_ -= group.encoded_bytes;
    taken.push_back(std::move(group));
    groups_.pop_front();
  }
  room_.notify_all();
  return taken;
}

void GroupCommitQueue::fail(const Status& status) {
  CAIRN_ASSERT(!status.ok(), "failing the WAL queue with OK");
  if (!failure_.ok()) return;
  failure_ = status;
  for (PendingGroup& group : groups_) group.done.set_error(status);
  groups_.clear();
  queued_records_ = 0;
  queued_bytes_ = 0;
  room_.notify_all();
  writer_.notify_all();
}

}  // namespace cairn::wal
