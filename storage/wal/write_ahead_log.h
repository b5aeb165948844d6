// WriteAheadLog: the segmented, crash-safe log of records that Raft persists its entries and
// hard state in (one log per node). The byte format is in wal_format.h, the recovery rules in
// wal_recovery.h.
//
// Contract
//  - Records get consecutive indexes: the first record of a new log gets `first_index_if_new`,
//    every later one the last index + 1.
//  - append() and append_batch() block the calling fiber until the records are durable (written
//    and synced), then return their index. A batch is durable all or nothing.
//  - Group commit: one writer fiber, owned by the log, takes everything that appenders have
//    queued (within the queue's bounds and the segment size), writes it as ONE batch and syncs
//    the segment once, reads the batch back and compares it with what it wrote (unless
//    WalOptions::verify_writes is off), then releases every appender in it. While a batch syncs,
//    new appends queue up for the next one; so at most one batch is ever written but not yet
//    synced and verified.
//  - A failed write, sync, read-back, segment creation or removal is sticky: that append and
//    every queued and later one fails with the same error, without touching the disk, until the
//    log is reopened (recovered). A batch that does not read back as written is CORRUPTION
//    naming the file and offset (IO_ERROR if it could not be read), and none of its records is
//    acknowledged. Reads of durable records keep working. The log cannot know what a failed
//    fsync lost or where a misdirected write went, so only recovery may decide what is on disk.
//  - read() returns durable records only (an index is readable once its append has returned)
//    and verifies the record's checksum on every read.
//  - Bad input (type 0, a record over max_record_bytes, an empty batch, a batch that can never fit
//    the queue) is INVALID_ARGUMENT and does not fail the log.
//
// Durability and what recovery can and cannot tell (see wal_format.h): a torn tail (the one
// unsynced batch, half-written by a crash) is truncated and reported in recovery_report();
// damage to a batch that a later batch proves was synced is CORRUPTION, and open_log() fails
// naming the file, offset and index rather than dropping acknowledged records. Read-back makes
// sure the last acknowledged batch reached the file intact; if the medium damages it LATER and
// nothing was written after it, it cannot be told from a torn tail: it is dropped and reported,
// and consensus must treat the node as having lost that suffix.
// Salvage (WalOptions::salvage_damage, off by default): such damage to synced batches does not
// fail open_log(). Every batch that verifies is kept; the indexes of the damaged ones stay in
// the log (first_index()/last_index() are unchanged) but read() of them is CORRUPTION naming the
// file and offset, and recovery_report().damaged lists them. Appends continue after
// last_index(). A damaged tail whose count cannot be known (its header is gone and nothing valid
// follows) is reported with last_index = first_index - 1 and truncated, so appends reuse its
// first index (wal_recovery.h). Damaged ranges disappear with their segments (remove_before).
// A missing or empty directory is a new log: telling a lost log (replaced disk) from a new one is
// the caller's job (the node's identity file, Raft's hard state).
//
// Costs: the read-by-index map takes 16 bytes per record held (wal_segment.h); the write path
// holds at most the queue's bounds plus one batch being written and its read-back copy
// (WalOptions); each batch is read back once, from the page cache on a real disk (a few percent
// for large batches, docs/benchmarks.md); recovery reads the whole log once, holding at most two
// batches at a time. Every batch is padded to a 4 KiB block, so a lightly loaded log spends a
// block per sync however small its records (the price of block-aligned batches, which let
// recovery find later batch headers after damage). Each segment keeps a file handle open.
//
// Fibers: every method except the accessors blocks and must run in a fiber of the runtime's
// process. Destroy the log only when no fiber is inside one of its methods (cancel or join the
// callers first); destruction cancels the writer, and appends still queued resolve CANCELLED.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/runtime/fiber_scope.h"
#include "core/runtime/mutex.h"
#include "core/runtime/runtime.h"
#include "core/runtime/status.h"
#include "storage/wal/wal_group_commit_queue.h"
#include "storage/wal/wal_recovery_report.h"
#include "storage/wal/wal_segment.h"
#include "storage/wal/wal_types.h"

namespace cairn {

// A segment as reported to operators and tests.
struct WalSegmentInfo {
  std::string path;
  uint64_t first_index = 0;
  uint64_t record_count = 0;
  uint64_t bytes = 0;  // up to the end of its last durable batch
};

class WriteAheadLog {
 public:
  // Opens the log in options.directory: recovers it if segments exist (see wal_recovery.h),
  // otherwise creates a new log whose first record will get `first_index_if_new` (>= 1).
  // Errors: INVALID_ARGUMENT for bad options; CORRUPTION naming file and offset for damage that
  // recovery must not repair; I/O errors (naming file and offset for reads).
  static Result<std::unique_ptr<WriteAheadLog>> open_log(Runtime& runtime, WalOptions options,
                                                         uint64_t first_index_if_new = 1);
  ~WriteAheadLog();
  WriteAheadLog(const WriteAheadLog&) = delete;
  WriteAheadLog& operator=(const WriteAheadLog&) = delete;

  const WalRecoveryReport& recovery_report() const { return recovery_report_; }

  // Appends one record and blocks until it is durable; returns its index.
  Result<uint64_t> append(uint8_t type, std::span<const std::byte> payload);
  // Appends records with consecutive indexes, durable all or nothing; returns the first index.
  Result<uint64_t> append_batch(std::span<const WalRecordInput> records);

  // The record at `index`, checksum verified. OUT_OF_RANGE outside [first_index(), last_index()];
  // CORRUPTION naming file and offset if the stored bytes do not verify; I/O errors likewise.
  Result<WalRecord> read(uint64_t index);

  uint64_t first_index() const { return segments_.front()->first_index; }
  // The last durable index; first_index() - 1 when the log holds no record.
  uint64_t last_index() const { return last_index_; }

  // Deletes, oldest first, every whole segment whose records all have indexes below `index`,
  // syncing the directory after each removal (so that a crash never leaves a gap at the front).
  // The last segment is never removed. Afterwards first_index() <= max(index, its old value).
  Status remove_before(uint64_t index);

  // OK, or the sticky error that stopped the log.
  Status failed_status() const { return queue_.failure(); }
  const WalCounters& counters() const { return counters_; }
  std::vector<WalSegmentInfo> segments() const;
  const WalOptions& options() const { return options_; }

 private:
  WriteAheadLog(Runtime& runtime, WalOptions options, std::vector<std::shared_ptr<wal::Segment>> recovered_segments,
                WalRecoveryReport report);

  // The node's WAL metrics, aggregated over every log it opens (one per Raft group): looked up
  // once, as the registry keeps them for its whole life.
  struct Metrics {
    metrics::Histogram& fsync_seconds;
    metrics::Histogram& records_per_sync;
    metrics::Counter& syncs;
    metrics::Counter& sync_failures;
  };
  static Metrics find_metrics(metrics::MetricsRegistry& registry);

  Status validate_group(std::span<const WalRecordInput> records) const;
  void run_writer();
  Status write_batch(std::vector<wal::PendingGroup>& groups);
  // Syncs the batch of `record_count` records just written to `segment`, timing it.
  Status sync_batch(const wal::Segment& segment, uint64_t record_count);
  // With verify_writes: reads the synced batch back; an error unless it is exactly `batch`.
  Status verify_batch(const wal::Segment& segment, uint64_t offset, std::span<const std::byte> batch,
                      uint64_t first_index, uint64_t last_index);
  Status start_segment(uint64_t first_index);
  // Makes `status` the sticky failure (logging it once) and returns it.
  Status fail(const Status& status);
  std::shared_ptr<wal::Segment> segment_holding(uint64_t index) const;

  Runtime* runtime_;
  WalOptions options_;
  WalRecoveryReport recovery_report_;
  // Oldest first; never empty. The last one receives new batches.
  std::vector<std::shared_ptr<wal::Segment>> segments_;
  uint64_t last_index_;
  // The most record bytes one batch may hold so that it fits in an empty segment.
  uint64_t batch_budget_;
  WalCounters counters_;
  Metrics metrics_;
  std::vector<std::byte> read_back_buffer_;  // the writer's, reused between batches
  wal::GroupCommitQueue queue_;
  Mutex removal_mutex_;
  // Declared last: destroyed first, so the writer is gone before what it uses.
  FiberScope writer_scope_;
};

}  // namespace cairn
