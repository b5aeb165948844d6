// The snapshot format: how a key-value store travels to another node (a Raft InstallSnapshot)
// as a sequence of self-checking chunks.
//
// A chunk, little-endian:
//   u32 magic "CKVS" | u8 format version (2) | u8 flags (bit 0: last chunk) | u16 zero
//   u32 CRC32C of the span list | u32 span list length (in chunk 0; 0 after)
//   u32 chunk sequence (0, 1, ...) | u32 row count | u32 payload length | payload
//   u32 CRC32C of every byte before it
// The first chunk's payload opens with the span list, the key spans the snapshot covers (an
// import replaces exactly them):
//   u32 span count | per span: u32 start length | start | u32 end length | end
// then, in every chunk, rows:
//   u32 key length | key | u64 timestamp | u8 has value | u32 value length | value
// Rows are in key order, newest version first within a key, across all chunks, each inside a
// span. The decoder checks all of it — checksums, sequence, that every chunk names the same span
// list, order, spans, limits — so a damaged, truncated, reordered or mixed-up snapshot is an
// error, never a wrong store. Which index a snapshot is at lives in its rows: a range keeps its
// applied index under a range-local key, inside one of its spans.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/runtime/status.h"
#include "core/runtime/limits.h"
#include "storage/kv/kv_types.h"

namespace cairn::storage {


struct KvSnapshot {
  std::vector<KeySpan> spans;       // valid (validate_spans)
  std::vector<KvVersion> versions;  // in snapshot order, each inside a span
};

// Cuts a store into chunks as its versions arrive in snapshot order.
class SnapshotEncoder {
 public:
  // `spans` must be valid (validate_spans); every version added must lie in one of them.
  SnapshotEncoder(const std::vector<KeySpan>& spans, std::size_t chunk_bytes);
  void add(const KvVersion& version);
  std::vector<std::string> finish();

 private:
  void seal_chunk(bool last);

  std::string encoded_spans_;
  uint32_t spans_checksum_;
  std::size_t chunk_bytes_;
  std::string payload_;
  uint32_t rows_ = 0;
  std::vector<std::string> chunks_;
};

// Verifies and decodes a whole snapshot.
Result<KvSnapshot> decode_snapshot(const std::vector<std::string>& chunks);

}  // namespace cairn::storage
