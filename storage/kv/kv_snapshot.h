// The snapshot format: how a key-value store travels to another node (a Raft InstallSnapshot)
// as a sequence of self-checking chunks.
//
// A chunk, little-endian:
//   u32 magic "CKVS" | u8 format version (1) | u8 flags (bit 0: last chunk) | u16 zero
//   u64 applied index | u64 gc watermark | u32 chunk sequence (0, 1, ...) | u32 row count
//   u32 payload length | payload | u32 CRC32C of every byte before it
// A row in the payload:
//   u32 key length | key | u64 timestamp | u8 has value | u32 value length | value
// Rows are in key order, newest version first within a key, across all chunks. The decoder
// checks all of it — checksum, sequence, agreement of the header fields, order, limits — so a
// damaged, truncated, reordered or mixed-up snapshot is an error, never a wrong store.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/runtime/status.h"
#include "storage/kv/kv_types.h"

namespace cairn::storage {

inline constexpr std::size_t kMaxSnapshotChunkBytes = 64 << 20;

struct KvSnapshot {
  uint64_t applied_index = 0;
  Timestamp gc_watermark = 0;
  std::vector<KvVersion> versions;  // in snapshot order
};

// Cuts a store into chunks as its versions arrive in snapshot order.
class SnapshotEncoder {
 public:
  SnapshotEncoder(uint64_t applied_index, Timestamp gc_watermark, std::size_t chunk_bytes);
  void add(const KvVersion& version);
  std::vector<std::string> finish();

 private:
  void seal_chunk(bool last);

  uint64_t applied_index_;
  Timestamp gc_watermark_;
  std::size_t chunk_bytes_;
  std::string payload_;
  uint32_t rows_ = 0;
  std::vector<std::string> chunks_;
};

// Verifies and decodes a whole snapshot.
Result<KvSnapshot> decode_snapshot(const std::vector<std::string>& chunks);

}  // namespace cairn::storage
