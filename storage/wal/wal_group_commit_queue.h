// GroupCommitQueue: where appenders leave their records for the log's single writer fiber, which
// takes whatever has accumulated and writes it as one batch with one sync (group commit).
//
// - Indexes are handed out when a group is queued, consecutively in queue order; the writer
//   takes groups in that order and never splits one, so disk order is index order and a group
//   is durable all or nothing.
// - Bounded: the queued groups hold at most max_records records and max_bytes bytes (record
//   headers included). An appender whose group does not fit blocks until the writer takes what
//   is queued. Waiters are not served in strict arrival order: after the writer empties the queue,
//   whichever waiter the scheduler runs first goes first.
// - Sticky failure: fail(status) resolves every queued group's future with `status`, and every
//   later push returns it at once; take() then returns nothing, which stops the writer.
//
// Fiber rules: push() and take() block, so they run in fibers. The queue must outlive every
// fiber blocked in it (WriteAheadLog's contract: destroy it only when no append is in progress).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <span>
#include <vector>

#include "core/runtime/future.h"
#include "core/runtime/status.h"
#include "core/runtime/wait_list.h"
#include "storage/wal/wal_types.h"

namespace cairn::wal {

// The records of one append call, copied, waiting to be written.
struct PendingGroup {
  uint64_t first_index = 0;
  std::vector<uint8_t> types;
  std::vector<uint32_t> payload_lengths;
  std::vector<std::byte> payloads;  // back to back, in record order
  uint64_t encoded_bytes = 0;       // record headers + payloads: what the group adds to a batch
  Promise<uint64_t> done;           // the group's first index once durable, or the error

  std::size_t record_count() const { return types.size(); }
};

class GroupCommitQueue {
 public:
  GroupCommitQueue(uint64_t next_index, std::size_t max_records, uint64_t max_bytes);
  GroupCommitQueue(const GroupCommitQueue&) = delete;
  GroupCommitQueue& operator=(const GroupCommitQueue&) = delete;

  // Copies `records` into a group (the caller validated them and checked they fit the bounds),
  // waits for room, gives it the next indexes and queues it. Returns the future of its
  // durability, or the sticky failure.
  Result<Future<uint64_t>> push(std::span<const WalRecordInput> records);

  // Blocks until a group is queued or the queue failed. Takes groups from the front while the
  // encoded bytes taken stay within `byte_budget` (always at least one group). Returns an empty
  // vector once the queue failed.
  std::vector<PendingGroup> take(uint64_t byte_budget);

  // Makes `status` the sticky failure and resolves every queued group with it. A later fail()
  // keeps the first failure.
  void fail(const Status& status);
  const Status& failure() const { return failure_; }

  // Whether a group of this size could ever be queued.
  bool fits_alone(std::size_t records, uint64_t bytes) const { return records <= max_records_ && bytes <= max_bytes_; }

 private:
  bool has_room(std::size_t records, uint64_t bytes) const {
    return queued_records_ + records <= max_records_ && queued_bytes_ + bytes <= max_bytes_;
  }

  uint64_t next_index_;
  std::size_t max_records_;
  uint64_t max_bytes_;
  std::deque<PendingGroup> groups_;
  std::size_t queued_records_ = 0;
  uint64_t queued_bytes_ = 0;
  Status failure_;
  WaitList room_;    // appenders waiting for the writer to take what is queued
  WaitList writer_;  // the writer waiting for work
};

}  // namespace cairn::wal
