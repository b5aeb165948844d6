// Reading a segment file back during recovery: walking its batches from block 1 and validating
// every header and record, and searching the rest of the file for a batch header that proves an
// invalid batch had been synced (the torn-tail-or-corruption decision of wal_format.h).
//
// These functions only read. Damage is not an error here: a walk that meets an invalid batch
// stops and says where and why, and the caller decides (recovery: torn tail or corruption).
// Errors are I/O errors only, with the file and offset that failed.
//
// Memory: one batch at a time (at most the format's limits::kWalBatchRecordsBytesMax, and never more than
// the file holds), plus the read-by-index entries of the records found; the search reads in
// chunks of kScanChunkBytes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/runtime/file_system.h"
#include "core/runtime/status.h"
#include "storage/wal/wal_format.h"
#include "storage/wal/wal_segment.h"

namespace cairn::wal {

inline constexpr uint64_t kScanChunkBytes = uint64_t{1} << 20;
// The finest step by which a misdirected write can displace a batch (a disk sector): a stray
// copy of a batch header can start at any multiple of it, not only at block boundaries.
inline constexpr uint64_t kSectorSize = 512;

// Where and why a walk stopped before the end of the file.
struct InvalidBatch {
  uint64_t offset = 0;          // block-aligned start of the invalid batch
  uint64_t expected_index = 0;  // the index the batch should have started with
  std::string reason;           // names the record offset and index when a record is at fault
};

struct BatchWalk {
  std::vector<RecordLocation> records;  // of every valid batch, in index order
  uint64_t end_offset = kBlockSize;     // just past the last valid batch, padding included
  // The last valid batch (header and records, no padding) and its offset, kept so that recovery
  // can write it again (see wal_recovery.h); empty if the segment holds no valid batch.
  std::vector<std::byte> last_batch;
  uint64_t last_batch_offset = 0;
  std::optional<InvalidBatch> invalid;  // set when the walk stopped before `file_size`
};

// Walks the batches of a segment (salt `salt`) from `start_offset` (block 1 unless a salvaging
// recovery resumes after damage), whose first batch must start at `first_index`, until the end
// of the file or the first invalid batch.
Result<BatchWalk> walk_batches(File& file, const std::string& path, uint64_t salt, uint64_t first_index,
                               uint64_t file_size, uint64_t start_offset = kBlockSize);

struct VouchingBatch {
  uint64_t offset = 0;
  BatchHeader header;
};

// The first sector-aligned offset in [from, file_size) holding a batch header that is valid under
// `salt` and whose durable_through is at least `expected_index`, if there is one.
//
// Why every sector and not only block boundaries: the writer writes a batch header only after
// every index up to its durable_through was synced (and read back), so such a header proves it
// wherever it lies. A misdirected write leaves a copy of its batch, header first, at a sector
// of the same file, perhaps over the very batch it damaged (the header then sits at the invalid
// batch's own offset) or inside it; with nothing written after, that copy is the only witness
// that the damaged batch had been acknowledged. Forging one still needs the segment's salt.
Result<std::optional<VouchingBatch>> find_vouching_batch(File& file, const std::string& path, uint64_t salt,
                                                         uint64_t from, uint64_t file_size, uint64_t expected_index);

// Where a salvaging recovery resumes after an invalid batch: among the block-aligned offsets in
// [from, file_size) holding a batch header valid under `salt` that starts at or after
// `expected_index` and fits in the file, the one with the smallest first index (the latest of
// equals). Not simply the first one found: a misdirected write may have left a copy of a later
// batch over an earlier one, and an index whose unacknowledged batch was truncated as a torn
// tail is written again further on, so an out-of-order header can hold an index's stale bytes.
// The writer only writes forward, so the true continuation is the lowest index, and of two
// copies of one index the later is the newer.
Result<std::optional<VouchingBatch>> find_resume_batch(File& file, const std::string& path, uint64_t salt,
                                                       uint64_t from, uint64_t file_size, uint64_t expected_index);

// Whether every byte in [from, file_size) is zero.
Result<bool> zero_from(File& file, const std::string& path, uint64_t from, uint64_t file_size);

}  // namespace cairn::wal
