// Encoding and verified decoding of key-value snapshots (see kv_snapshot.h).
#include "storage/kv/kv_snapshot.h"

#include <algorithm>

#include "core/runtime/assert.h"
#include "storage/checksum/crc32c.h"
#include "storage/encoding/little_endian.h"

namespace cairn::storage {
namespace {

constexpr uint32_t kChunkMagic = 0x53564b43;  // "CKVS"
constexpr uint8_t kFormatVersion = 1;
constexpr uint8_t kLastChunkFlag = 1;
constexpr std::size_t kChunkHeaderBytes = 4 + 1 + 1 + 2 + 8 + 8 + 4 + 4 + 4;
constexpr std::size_t kChecksumBytes = 4;

struct ChunkHeader {
  bool last = false;
  uint64_t applied_index = 0;
  Timestamp gc_watermark = 0;
  uint32_t sequence = 0;
  uint32_t rows = 0;
  std::string_view payload;
};

Status chunk_error(std::size_t sequence, const std::string& what) {
  return Status::corruption("snapshot chunk " + std::to_string(sequence) + ": " + what);
}

Result<ChunkHeader> parse_chunk(std::string_view chunk, std::size_t expected_sequence) {
  if (chunk.size() < kChunkHeaderBytes + kChecksumBytes || chunk.size() > kMaxSnapshotChunkBytes) {
    return chunk_error(expected_sequence, "size " + std::to_string(chunk.size()) + " is impossible");
  }
  const std::string_view covered = chunk.substr(0, chunk.size() - kChecksumBytes);
  const uint32_t stored = load_u32(reinterpret_cast<const std::byte*>(chunk.data() + covered.size()));
  if (crc32c(covered) != stored) return chunk_error(expected_sequence, "checksum mismatch");
  ByteReader reader(covered);
  ChunkHeader header;
  const auto magic = reader.u32();
  const auto version = reader.u8();
  const auto flags = reader.u8();
  reader.u16();
  const auto applied_index = reader.u64();
  const auto gc_watermark = reader.u64();
  const auto sequence = reader.u32();
  const auto rows = reader.u32();
  const auto payload_length = reader.u32();
  if (reader.failed() || *magic != kChunkMagic) return chunk_error(expected_sequence, "not a snapshot chunk");
  if (*version != kFormatVersion) return chunk_error(expected_sequence, "format version " + std::to_string(*version));
  if (*sequence != expected_sequence) {
    return chunk_error(expected_sequence, "out of order (it says it is chunk " + std::to_string(*sequence) + ")");
  }
  if (*payload_length != reader.remaining()) return chunk_error(expected_sequence, "payload length mismatch");
  if (*applied_index > kMaxTimestamp || *gc_watermark > kMaxTimestamp) {
    return chunk_error(expected_sequence, "applied index or watermark exceeds 2^63-1");
  }
  header.last = (*flags & kLastChunkFlag) != 0;
  header.applied_index = *applied_index;
  header.gc_watermark = *gc_watermark;
  header.sequence = *sequence;
  header.rows = *rows;
  header.payload = *reader.bytes(*payload_length);
  return header;
}

// Whether `next` may follow `previous` in snapshot order (key ascending, then newest first).
bool in_snapshot_order(const KvVersion& previous, const KvVersion& next) {
  if (previous.key != next.key) return previous.key < next.key;
  return previous.timestamp > next.timestamp;
}

Status decode_rows(const ChunkHeader& header, std::vector<KvVersion>& versions) {
  ByteReader reader(header.payload);
  for (uint32_t row = 0; row < header.rows; ++row) {
    KvVersion version;
    const auto key_length = reader.u32();
    if (!key_length || *key_length == 0 || *key_length > kMaxKeyBytes) return chunk_error(header.sequence, "bad key length");
    const auto key = reader.bytes(*key_length);
    const auto timestamp = reader.u64();
    const auto has_value = reader.u8();
    const auto value_length = reader.u32();
    if (reader.failed()) return chunk_error(header.sequence, "truncated row " + std::to_string(row));
    if (*timestamp == 0 || *timestamp > kMaxTimestamp || *has_value > 1 || *value_length > kMaxValueBytes ||
        (*has_value == 0 && *value_length != 0)) {
      return chunk_error(header.sequence, "invalid row " + std::to_string(row));
    }
    const auto value = reader.bytes(*value_length);
    if (!value) return chunk_error(header.sequence, "truncated value in row " + std::to_string(row));
    version.key = std::string(*key);
    version.timestamp = *timestamp;
    if (*has_value == 1) version.value = std::string(*value);
    if (!versions.empty() && !in_snapshot_order(versions.back(), version)) {
      return chunk_error(header.sequence, "rows out of order at row " + std::to_string(row));
    }
    versions.push_back(std::move(version));
  }
  if (reader.remaining() != 0) return chunk_error(header.sequence, "bytes after the last row");
  return {};
}

}  // namespace

SnapshotEncoder::SnapshotEncoder(uint64_t applied_index, Timestamp gc_watermark, std::size_t chunk_bytes)
    : applied_index_(applied_index),
      gc_watermark_(gc_watermark),
      chunk_bytes_(std::clamp<std::size_t>(chunk_bytes, 1, kMaxSnapshotChunkBytes / 2)) {}

void SnapshotEncoder::add(const KvVersion& version) {
  CAIRN_ASSERT(version.key.size() <= kMaxKeyBytes && version.value.value_or("").size() <= kMaxValueBytes,
               "a stored version exceeds the limits it was validated against");
  append_u32(payload_, static_cast<uint32_t>(version.key.size()));
  payload_ += version.key;
  append_u64(payload_, version.timestamp);
  append_u8(payload_, version.value ? 1 : 0);
  append_u32(payload_, static_cast<uint32_t>(version.value ? version.value->size() : 0));
  if (version.value) payload_ += *version.value;
  ++rows_;
  if (payload_.size() >= chunk_bytes_) seal_chunk(/*last=*/false);
}

void SnapshotEncoder::seal_chunk(bool last) {
  std::string chunk;
  chunk.reserve(kChunkHeaderBytes + payload_.size() + kChecksumBytes);
  append_u32(chunk, kChunkMagic);
  append_u8(chunk, kFormatVersion);
  append_u8(chunk, last ? kLastChunkFlag : 0);
  append_u16(chunk, 0);
  append_u64(chunk, applied_index_);
  append_u64(chunk, gc_watermark_);
  append_u32(chunk, static_cast<uint32_t>(chunks_.size()));
  append_u32(chunk, rows_);
  append_u32(chunk, static_cast<uint32_t>(payload_.size()));
  chunk += payload_;
  append_u32(chunk, crc32c(chunk));
  chunks_.push_back(std::move(chunk));
  payload_.clear();
  rows_ = 0;
}

std::vector<std::string> SnapshotEncoder::finish() {
  seal_chunk(/*last=*/true);
  return std::move(chunks_);
}

Result<KvSnapshot> decode_snapshot(const std::vector<std::string>& chunks) {
  if (chunks.empty()) return Status::corruption("snapshot has no chunks");
  KvSnapshot snapshot;
  for (std::size_t sequence = 0; sequence < chunks.size(); ++sequence) {
    CAIRN_ASSIGN_OR_RETURN(ChunkHeader header, parse_chunk(chunks[sequence], sequence));
    if (sequence == 0) {
      snapshot.applied_index = header.applied_index;
      snapshot.gc_watermark = header.gc_watermark;
    } else if (header.applied_index != snapshot.applied_index || header.gc_watermark != snapshot.gc_watermark) {
      return chunk_error(sequence, "belongs to another snapshot");
    }
    if (header.last != (sequence + 1 == chunks.size())) {
      return chunk_error(sequence, header.last ? "marked last but more follow" : "the last chunk is missing");
    }
    CAIRN_RETURN_IF_ERROR(decode_rows(header, snapshot.versions));
  }
  return snapshot;
}

}  // namespace cairn::storage
