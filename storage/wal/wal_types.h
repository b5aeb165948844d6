// The vocabulary of the write-ahead log's interface: its options and their limits, the records a
// caller appends and reads back, record types, and the counters it exposes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/runtime/status.h"

namespace cairn {

// Record types are the caller's to choose; the log stores them and hands them back. Type 0 is
// reserved (a zeroed header must never look like a record) and rejected. Raft uses these:
inline constexpr uint8_t kWalRecordEntry = 1;           // a Raft log entry
inline constexpr uint8_t kWalRecordHardState = 2;       // term, vote and commit index
inline constexpr uint8_t kWalRecordSnapshotMarker = 3;  // the log continues after a snapshot

struct WalOptions {
  // Where the segment files live (a path in the Runtime's file system; created if missing).
  std::string directory = "wal";
  // Largest payload of one record. At most 256 MiB (the format's limit).
  uint64_t max_record_bytes = uint64_t{16} << 20;
  // A new segment is started when the next batch would make the current one bigger than this.
  // Segments exceed it only when a single caller's group of records is bigger on its own. At
  // least two blocks (8 KiB).
  uint64_t max_segment_bytes = uint64_t{64} << 20;
  // Bounds of the queue of appended records waiting for the writer: appenders block while
  // adding theirs would exceed either. A caller's group (append_batch) must fit in them on its
  // own. Bytes count record headers (24 bytes each) as well as payloads. Memory use of the log's
  // write path is at most about three times these (the queue, the batch being written, and its
  // read-back copy while verify_writes reads it back; twice without).
  std::size_t max_pending_records = 4096;
  uint64_t max_pending_bytes = uint64_t{64} << 20;
  // Read every write back and compare it byte for byte before it counts as done: a batch after
  // its sync and before its appenders are released, a new segment's header, recovery's rewrite
  // of the tail (before its sync). A write that comes back different (a flipped bit, a write
  // that landed elsewhere) fails like a failed sync, so an acknowledged record is never one the
  // file did not take. Turn it off only to measure what it costs or to show what it prevents.
  bool verify_writes = true;
  // Open the log even when recovery finds damage to batches that had been synced (damage in
  // the middle of the log, or a tail that a later header vouches for), which is CORRUPTION
  // otherwise. Every batch that verifies is kept; the indexes that cannot be read are listed in
  // WalRecoveryReport::damaged and read() of them is CORRUPTION. For a caller that can fetch the
  // lost records elsewhere (Raft, from its peers); see write_ahead_log.h, "Salvage".
  bool salvage_damage = false;
};

// INVALID_ARGUMENT naming the first option out of range.
Status validate_wal_options(const WalOptions& options);

// One record to append. The payload is only borrowed: it must stay valid until the call returns.
struct WalRecordInput {
  uint8_t type = kWalRecordEntry;
  std::span<const std::byte> payload{};
};

struct WalRecord {
  uint64_t index = 0;
  uint8_t type = 0;
  std::vector<std::byte> payload{};
};

// What the log has done since it was opened (recovery's own work is not counted).
struct WalCounters {
  uint64_t batches_written = 0;
  uint64_t records_written = 0;  // records in batches that were written and synced
  uint64_t syncs = 0;            // fsyncs issued: of segment files and of the directory
  uint64_t segments_created = 0;
  uint64_t segments_removed = 0;
  uint64_t batches_read_back = 0;   // batches read back and compared after their sync (verify_writes)
  uint64_t read_back_failures = 0;  // of those, batches that differed from what was written or could not be read
};

}  // namespace cairn
