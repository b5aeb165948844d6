// The on-disk format of the write-ahead log: segment names, the segment header, batch headers and
// record headers, and their checksums. Pure functions over bytes; no I/O happens here.
//
// All integers are little-endian. kBlockSize = 4096.
//
// Segment files. A log is a directory of segment files, each named by the index of its first
// record as 20 zero-padded decimal digits plus ".wal" (e.g. "wal/00000000000000000001.wal"), so
// that names sort by index. Each segment holds consecutive indexes, and segment i+1 starts at
// the index after the last record of segment i.
//
// Segment header: block 0 of the file (bytes [0, 4096)).
//   offset size  field
//   0      8     magic "CAIRNWAL"
//   8      4     format version (1)
//   12     4     block size (4096)
//   16     8     first index: the index of the segment's first record (equals the file name)
//   24     8     salt: 64 random bits drawn when the segment is created
//   32     4     CRC32C of bytes [0, 32)
//   36     4060  zero
// The salt seeds every other checksum in the segment. Bytes that were valid in another segment
// (an old file, a copied header) or that a client embedded in a payload therefore never pass
// as this segment's headers: forging one would need the salt, which never leaves the disk.
//
// Batches. Records are written in batches (one group commit = one batch = one write + one
// sync). Every batch starts at a block-aligned offset >= 4096; the first batch at 4096, each
// next one at the block boundary after the previous one ends.
//   offset size  field
//   0      4     magic "WBAT"
//   4      4     record count (>= 1)
//   8      8     first index: index of the batch's first record
//   16     8     records length: bytes of the records that follow (headers + payloads)
//   24     8     durable_through: the highest index known durable (synced) when the batch
//                was written. Recovery uses it to tell a torn tail from corruption (below).
//                Today's writer syncs each batch before writing the next, so it equals
//                first index - 1; it is stored, not implied, so that recovery relies on
//                what the writer knew rather than on that schedule (a pipelining writer
//                would write smaller values and stay correct).
//   32     4     reserved, zero
//   36     4     CRC32C of the salt (8 bytes) followed by bytes [0, 36)
//   40     ...   the records, back to back
//   ...          zero padding up to the next multiple of 4096
//
// Records (inside a batch):
//   offset size  field
//   0      4     payload length
//   4      4     CRC32C of the salt (8 bytes), bytes [0, 4) and [8, 24) of this header, and the
//                payload: it covers the length, index, type and reserved bytes
//   8      8     index (= batch first index + position in the batch)
//   16     1     type (chosen by the caller; never 0, so zeros never read as a record)
//   17     7     reserved, zero
//   24     ...   payload
//
// A batch is valid when its header checksum matches, its first index is the one expected, and
// its records follow one another with consecutive indexes, valid checksums, zero reserved bytes,
// non-zero types, and lengths that add up exactly to the records length. Recovery accepts or
// drops whole batches, so a caller's group of records is durable all or nothing.
//
// Why durable_through: every batch is written only after the one before it was synced (and read
// back), so at most one batch (the last) can be torn by a crash. If a batch at offset X is
// invalid but a valid batch header of the same segment after the last valid batch says
// durable_through >= the first index expected at X, the damaged batch had been synced: that is
// corruption, and recovery refuses to continue. (Such a header is looked for at every 512-byte
// sector, X included: a misdirected write leaves a copy of its batch, header first, at another
// sector, perhaps over the batch it damaged.) If no header vouches for it, the damage is a torn
// tail and the file is truncated at X.
// Limitation: when the LAST synced batch is corrupted on the medium after the writer read it
// back, and nothing was written after it, nothing vouches for it, so it cannot be told from a
// torn tail; recovery truncates it and says so in its report, and consensus must then treat the
// node as having lost that suffix.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "core/runtime/status.h"
#include "core/runtime/limits.h"
#include "storage/encoding/little_endian.h"

namespace cairn::wal {

inline constexpr uint64_t kBlockSize = 4096;
inline constexpr uint32_t kFormatVersion = 1;
inline constexpr std::size_t kSegmentHeaderSize = 36;  // meaningful bytes of block 0
inline constexpr std::size_t kBatchHeaderSize = 40;
inline constexpr std::size_t kRecordHeaderSize = 24;
inline constexpr std::string_view kSegmentSuffix = ".wal";
inline constexpr std::size_t kSegmentNameDigits = 20;

// Format limits (limits::kWalRecordBytesMax, limits::kWalBatchRecordsBytesMax) are independent of
// the options a log was written with, so that recovery never allocates more than these for one
// batch or one record whatever a damaged header claims.

// The smallest multiple of kBlockSize that is >= value.
inline constexpr uint64_t align_to_block(uint64_t value) { return (value + kBlockSize - 1) / kBlockSize * kBlockSize; }

// Bytes one record takes inside a batch (header + payload).
inline constexpr uint64_t record_size(uint64_t payload_length) { return kRecordHeaderSize + payload_length; }

// Bytes a batch takes in its segment, padding included.
inline constexpr uint64_t batch_extent(uint64_t records_length) {
  return align_to_block(kBatchHeaderSize + records_length);
}

// "00000000000000000001.wal" for index 1.
std::string segment_file_name(uint64_t first_index);
// "<directory>/<segment_file_name>" ("" directory: the name alone).
std::string segment_path(std::string_view directory, uint64_t first_index);
// The first index a segment file name stands for; nothing if the name is not a segment name.
std::optional<uint64_t> parse_segment_file_name(std::string_view name);

struct SegmentHeader {
  uint64_t first_index = 0;
  uint64_t salt = 0;
};

// The whole block 0 of a segment.
std::array<std::byte, kBlockSize> encode_segment_header(const SegmentHeader& header);
// CORRUPTION (with a reason) unless `block` starts with a valid segment header.
Result<SegmentHeader> decode_segment_header(std::span<const std::byte> block);

struct BatchHeader {
  uint32_t record_count = 0;
  uint64_t first_index = 0;
  uint64_t records_length = 0;
  uint64_t durable_through = 0;
};

void encode_batch_header(const BatchHeader& header, uint64_t salt, std::span<std::byte, kBatchHeaderSize> out);
// CORRUPTION unless `bytes` (at least kBatchHeaderSize of them) hold a batch header whose
// checksum matches under `salt` and whose fields are within the format's limits.
Result<BatchHeader> decode_batch_header(std::span<const std::byte> bytes, uint64_t salt);

struct RecordHeader {
  uint32_t payload_length = 0;
  uint64_t index = 0;
  uint8_t type = 0;
};

// Writes the header, checksum included, of a record whose payload is `payload`.
void encode_record_header(const RecordHeader& header, std::span<const std::byte> payload, uint64_t salt,
                          std::span<std::byte, kRecordHeaderSize> out);
// Decodes the fixed fields only (no checksum check: the payload is needed for that). CORRUPTION
// if the reserved bytes are not zero or the type is 0.
Result<RecordHeader> decode_record_header(std::span<const std::byte> bytes);
// Whether the checksum stored in `header_bytes` matches the header and `payload` under `salt`.
bool record_checksum_matches(std::span<const std::byte> header_bytes, std::span<const std::byte> payload,
                             uint64_t salt);

// Little-endian helpers, shared with the code that lays out batches.
using storage::load_u32;
using storage::load_u64;
using storage::store_u32;
using storage::store_u64;

}  // namespace cairn::wal
