// Encoding and verified decoding of key-value snapshots (see kv_snapshot.h).
#include "storage/kv/kv_snapshot.h"

#include <algorithm>

#include "core/runtime/assert.h"
#include "storage/checksum/crc32c.h"
#include "storage/encoding/little_endian.h"

namespace cairn::storage {
namespace {

constexpr uint32_t kChunkMagic = 0x53564b43;  // "CKVS"
constexpr uint8_t kFormatVersion = 2;
constexpr uint8_t kLastChunkFlag = 1;
constexpr std::size_t kChunkHeaderBytes = 4 + 1 + 1 + 2 + 4 + 4 + 4 + 4 + 4;
constexpr std::size_t kChecksumBytes = 4;

struct ChunkHeader {
  bool last = false;
  uint32_t spans_checksum = 0;
  uint32_t spans_bytes = 0;
  uint32_t sequence = 0;
  uint32_t rows = 0;
  std::string_view payload;
};

Status chunk_error(std::size_t sequence, const std::string& what) {
  return Status::corruption("snapshot chunk " + std::to_string(sequence) + ": " + what);
}

Result<ChunkHeader> parse_chunk(std::string_view chunk, std::size_t expected_sequence) {
  if (chunk.size() < kChunkHeaderBytes + kChecksumBytes || chunk.size() > limits::kSnapshotChunkBytesMax) {
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
  const auto spans_checksum = reader.u32();
  const auto spans_bytes = reader.u32();
  const auto sequence = reader.u32();
  const auto rows = reader.u32();
  const auto payload_length = reader.u32();
  if (reader.failed() || *magic != kChunkMagic) return chunk_error(expected_sequence, "not a snapshot chunk");
  if (*version != kFormatVersion) return chunk_error(expected_sequence, "format version " + std::to_string(*version));
  if (*sequence != expected_sequence) {
    return chunk_error(expected_sequence, "out of order (it says it is chunk " + std::to_string(*sequence) + ")");
  }
  if (*payload_length != reader.remaining()) return chunk_error(expected_sequence, "payload length mismatch");
  // The span list opens the first chunk's payload, and only that one.
  if ((expected_sequence == 0) != (*spans_bytes != 0) || *spans_bytes > *payload_length ||
      *spans_bytes > limits::kSnapshotSpansBytesMax) {
    return chunk_error(expected_sequence, "span list length " + std::to_string(*spans_bytes) + " is impossible");
  }
  header.last = (*flags & kLastChunkFlag) != 0;
  header.spans_checksum = *spans_checksum;
  header.spans_bytes = *spans_bytes;
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

std::string encode_spans(const std::vector<KeySpan>& spans) {
  std::string out;
  append_u32(out, static_cast<uint32_t>(spans.size()));
  for (const KeySpan& span : spans) {
    append_u32(out, static_cast<uint32_t>(span.start.size()));
    out += span.start;
    append_u32(out, static_cast<uint32_t>(span.end.size()));
    out += span.end;
  }
  return out;
}

Result<std::vector<KeySpan>> decode_spans(std::string_view encoded) {
  ByteReader reader(encoded);
  const auto count = reader.u32();
  if (!count || *count > limits::kSnapshotSpansMax) return chunk_error(0, "bad span count");
  std::vector<KeySpan> spans(*count);
  for (KeySpan& span : spans) {
    for (std::string* bound : {&span.start, &span.end}) {
      const auto length = reader.u32();
      if (!length || *length > limits::kKeyBytesMax + 1) return chunk_error(0, "bad span bound length");
      const auto bytes = reader.bytes(*length);
      if (!bytes) return chunk_error(0, "truncated span list");
      *bound = std::string(*bytes);
    }
  }
  if (reader.remaining() != 0) return chunk_error(0, "bytes after the span list");
  if (Status valid = validate_spans(spans); !valid.ok()) return chunk_error(0, valid.message());
  return spans;
}

bool within(const std::vector<KeySpan>& spans, std::string_view key) {
  return std::any_of(spans.begin(), spans.end(), [&](const KeySpan& span) { return span.contains(key); });
}

Status decode_rows(const ChunkHeader& header, const std::vector<KeySpan>& spans, std::vector<KvVersion>& versions) {
  ByteReader reader(header.payload.substr(header.spans_bytes));
  for (uint32_t row = 0; row < header.rows; ++row) {
    KvVersion version;
    const auto key_length = reader.u32();
    if (!key_length || *key_length == 0 || *key_length > limits::kKeyBytesMax) return chunk_error(header.sequence, "bad key length");
    const auto key = reader.bytes(*key_length);
    const auto timestamp = reader.u64();
    const auto has_value = reader.u8();
    const auto value_length = reader.u32();
    if (reader.failed()) return chunk_error(header.sequence, "truncated row " + std::to_string(row));
    if (*timestamp == 0 || *timestamp > kMaxTimestamp || *has_value > 1 || *value_length > limits::kValueBytesMax ||
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
    if (!within(spans, version.key)) return chunk_error(header.sequence, "row " + std::to_string(row) + " is outside the spans");
    versions.push_back(std::move(version));
  }
  if (reader.remaining() != 0) return chunk_error(header.sequence, "bytes after the last row");
  return {};
}

}  // namespace

SnapshotEncoder::SnapshotEncoder(const std::vector<KeySpan>& spans, std::size_t chunk_bytes)
    : encoded_spans_(encode_spans(spans)),
      spans_checksum_(crc32c(encoded_spans_)),
      chunk_bytes_(std::clamp<std::size_t>(chunk_bytes, 1, limits::kSnapshotChunkTargetBytesMax)) {
  CAIRN_ASSERT(validate_spans(spans).ok(), "snapshot spans are checked before export");
  payload_ = encoded_spans_;
}

void SnapshotEncoder::add(const KvVersion& version) {
  CAIRN_ASSERT(version.key.size() <= limits::kKeyBytesMax && version.value.value_or("").size() <= limits::kValueBytesMax,
               "a stored version exceeds the limits it was validated against");
  append_u32(payload_, static_cast<uint32_t>(version.key.size()));
  payload_ += version.key;
  append_u64(payload_, version.timestamp);
  append_u8(payload_, version.value ? 1 : 0);
  append_u32(payload_, static_cast<uint32_t>(version.value ? version.value->size() : 0));
  if (version.value) payload_ += *version.value;
  ++rows_;
  if (payload_.size() >= chunk_bytes_ + (chunks_.empty() ? encoded_spans_.size() : 0)) seal_chunk(/*last=*/false);
}

void SnapshotEncoder::seal_chunk(bool last) {
  std::string chunk;
  chunk.reserve(kChunkHeaderBytes + payload_.size() + kChecksumBytes);
  append_u32(chunk, kChunkMagic);
  append_u8(chunk, kFormatVersion);
  append_u8(chunk, last ? kLastChunkFlag : 0);
  append_u16(chunk, 0);
  append_u32(chunk, spans_checksum_);
  append_u32(chunk, static_cast<uint32_t>(chunks_.empty() ? encoded_spans_.size() : 0));
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
  uint32_t spans_checksum = 0;
  for (std::size_t sequence = 0; sequence < chunks.size(); ++sequence) {
    CAIRN_ASSIGN_OR_RETURN(ChunkHeader header, parse_chunk(chunks[sequence], sequence));
    if (sequence == 0) {
      const std::string_view encoded = header.payload.substr(0, header.spans_bytes);
      if (crc32c(encoded) != header.spans_checksum) return chunk_error(0, "span list checksum mismatch");
      CAIRN_ASSIGN_OR_RETURN(snapshot.spans, decode_spans(encoded));
      spans_checksum = header.spans_checksum;
    } else if (header.spans_checksum != spans_checksum) {
      return chunk_error(sequence, "belongs to another snapshot");
    }
    if (header.last != (sequence + 1 == chunks.size())) {
      return chunk_error(sequence, header.last ? "marked last but more follow" : "the last chunk is missing");
    }
    CAIRN_RETURN_IF_ERROR(decode_rows(header, snapshot.spans, snapshot.versions));
  }
  return snapshot;
}

}  // namespace cairn::storage
