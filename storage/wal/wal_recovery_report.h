// WalRecoveryReport: what opening a write-ahead log found on disk and what it had to drop.
//
// Consensus reads it after a restart: a torn tail means records that were written but perhaps
// never acknowledged were discarded (normal after a crash); because a corrupted last batch cannot
// be told from a torn one (see wal_format.h), a node that must not lose acknowledged entries
// should treat a dropped tail as a possibly lost suffix and catch up from its peers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace cairn {

// The end of the last segment that recovery cut off.
struct WalTornTail {
  std::string segment_path;
  uint64_t offset = 0;         // block-aligned offset the file was truncated to
  uint64_t bytes_dropped = 0;  // file size before the truncation minus `offset`
  bool all_zero = false;       // every dropped byte was zero (the write never reached the medium)
  std::string reason;          // why the batch at `offset` was invalid
};

// Records that a salvaging recovery (WalOptions::salvage_damage) could not read and skipped.
// Their indexes stay in the log, and read() of them is CORRUPTION naming `path` and `offset`.
// At the very end of the log, when the damaged batch's header is unreadable, the count is
// unknown: then last_index == first_index - 1, the damaged bytes were truncated, and the next
// append reuses first_index (whatever the damaged bytes held is unreadable forever).
struct WalDamagedRange {
  std::string path;
  uint64_t offset = 0;       // block-aligned start of the damaged batch
  uint64_t first_index = 0;  // first index that cannot be read
  uint64_t last_index = 0;   // last index that cannot be read
  std::string reason = {};   // why the batch at `offset` was invalid
};

struct WalRecoveryReport {
  bool created = false;              // no segment existed: a new, empty log was created
  std::size_t segments = 0;          // segments of the log after recovery
  uint64_t records = 0;              // records recovered
  uint64_t first_index = 0;          // first index of the log
  uint64_t last_index = 0;           // last recovered index (first_index - 1 when empty)
  std::optional<WalTornTail> torn_tail;
  // Last segments whose creation a crash interrupted (short file, or an invalid header and
  // nothing after it); they held no records and were removed.
  std::vector<std::string> removed_torn_segments;
  // Damage to synced batches skipped by a salvaging recovery, in index order (empty unless
  // WalOptions::salvage_damage; without it such damage fails the open).
  std::vector<WalDamagedRange> damaged;

  // One line for logs, e.g. "recovered 3 segments, records 1..120 (120); torn tail dropped:
  // 4096 bytes of wal/00000000000000000101.wal at offset 8192 (batch header fails its checksum)".
  std::string summary() const;
};

}  // namespace cairn
