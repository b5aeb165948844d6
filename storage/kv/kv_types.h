// The vocabulary shared by the key-value engines (kv_store.h): timestamps, write batches, scans,
// and the limits every input is checked against before it reaches storage.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/runtime/status.h"
#include "core/runtime/limits.h"

namespace cairn::storage {

// A commit timestamp (a hybrid-logical-clock value). SQLite stores it as a signed 64-bit
// INTEGER, hence the maximum.
using Timestamp = uint64_t;
inline constexpr Timestamp kMaxTimestamp = static_cast<Timestamp>(INT64_MAX);


struct KvMutation {
  enum class Kind : uint8_t { kPut, kDelete };
  Kind kind = Kind::kPut;
  std::string key;
  std::string value;  // empty for a delete
};

// Mutations that commit together at one timestamp. Within a batch, a later mutation of the
// same key wins. Which log index a batch comes from is its writer's business (a range keeps its
// applied index under one of its own keys, in the same batch).
struct WriteBatch {
  Timestamp commit_timestamp = 0;
  std::vector<KvMutation> mutations;

  void put(std::string key, std::string value) {
    mutations.push_back({KvMutation::Kind::kPut, std::move(key), std::move(value)});
  }
  void remove(std::string key) { mutations.push_back({KvMutation::Kind::kDelete, std::move(key), {}}); }
};

// The keys in [start, end); an empty `end` means no upper bound. A range's data is one span and
// its range-local records another: what its snapshots carry and its garbage collection visits.
struct KeySpan {
  std::string start;
  std::string end;

  bool contains(std::string_view key) const { return key >= start && (end.empty() || key < end); }
  bool operator==(const KeySpan&) const = default;
};

// The newest version at or below `read_timestamp` of every key in [start, end) (an empty `end`
// means no upper bound), in key order or reverse key order, at most `limit` live keys.
struct ScanOptions {
  std::string start;
  std::string end;
  Timestamp read_timestamp = 0;
  std::size_t limit = 1000;
  // The scan stops once the keys and values found reach this many bytes (after one row at least).
  std::size_t bytes_max = limits::kScanReplyBytesMax;
  bool reverse = false;

  // Every key that begins with `prefix`.
  static ScanOptions with_prefix(std::string_view prefix, Timestamp read_timestamp);
};

struct KvPair {
  std::string key;
  std::string value;
  bool operator==(const KvPair&) const = default;
};

// One stored version, as snapshots carry them: a value, or a deletion (no value).
struct KvVersion {
  std::string key;
  Timestamp timestamp = 0;
  std::optional<std::string> value;
  bool operator==(const KvVersion&) const = default;
};

// The smallest key greater than every key that starts with `prefix`; empty if there is none
// (the prefix is empty or all 0xff bytes).
std::string prefix_successor(std::string_view prefix);

Status validate_key(std::string_view key);
Status validate_batch(const WriteBatch& batch);
Status validate_scan(const ScanOptions& options);
Status validate_read_timestamp(Timestamp read_timestamp);
// Whether a read at `read_timestamp` may be served by a store collected up to `gc_watermark`.
Status validate_read_above_watermark(Timestamp read_timestamp, Timestamp gc_watermark);
// A span's bounds are at most one byte longer than a key, and start < end unless end is empty.
Status validate_span(const KeySpan& span);
// A garbage collection step: a valid span, a watermark within 2^63-1, 1 to 2^63-1 versions.
Status validate_garbage_collection(const KeySpan& span, Timestamp watermark, uint64_t versions_max);
// Every span valid, in ascending order, none overlapping; at least one, at most kSnapshotSpansMax.
Status validate_spans(const std::vector<KeySpan>& spans);

}  // namespace cairn::storage
