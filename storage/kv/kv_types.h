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

namespace cairn::storage {

// A commit timestamp (a hybrid-logical-clock value). SQLite stores it as a signed 64-bit
// INTEGER, hence the maximum.
using Timestamp = uint64_t;
inline constexpr Timestamp kMaxTimestamp = static_cast<Timestamp>(INT64_MAX);

inline constexpr std::size_t kMaxKeyBytes = 4096;
inline constexpr std::size_t kMaxValueBytes = 4 << 20;
inline constexpr std::size_t kMaxBatchMutations = 100'000;
inline constexpr std::size_t kMaxBatchBytes = 64 << 20;
inline constexpr std::size_t kMaxScanLimit = 100'000;

struct KvMutation {
  enum class Kind : uint8_t { kPut, kDelete };
  Kind kind = Kind::kPut;
  std::string key;
  std::string value;  // empty for a delete
};

// Mutations that commit together at one timestamp, with the log index they come from. Within a
// batch, a later mutation of the same key wins.
struct WriteBatch {
  Timestamp commit_timestamp = 0;
  uint64_t applied_index = 0;  // must exceed the store's applied index
  std::vector<KvMutation> mutations;

  void put(std::string key, std::string value) {
    mutations.push_back({KvMutation::Kind::kPut, std::move(key), std::move(value)});
  }
  void remove(std::string key) { mutations.push_back({KvMutation::Kind::kDelete, std::move(key), {}}); }
};

// The newest version at or below `read_timestamp` of every key in [start, end) (an empty `end`
// means no upper bound), in key order or reverse key order, at most `limit` live keys.
struct ScanOptions {
  std::string start;
  std::string end;
  Timestamp read_timestamp = 0;
  std::size_t limit = 1000;
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
// Checks limits and that the batch may follow `applied_index`.
Status validate_batch(const WriteBatch& batch, uint64_t applied_index);
// Checks limits and that the read is not below the garbage-collection watermark.
Status validate_scan(const ScanOptions& options, Timestamp gc_watermark);
Status validate_read_timestamp(Timestamp read_timestamp, Timestamp gc_watermark);

}  // namespace cairn::storage
