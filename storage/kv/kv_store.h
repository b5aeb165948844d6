// KvStore: the interface of an ordered, multi-version key-value store — what the replicated
// state machine applies committed log entries to. Two implementations:
//  - kv_engine.h: the real one, on SQLite through the Runtime VFS (durable, checksummed);
//  - reference_kv_store.h: a pure in-memory model, the oracle of property tests.
//
// One store holds the data of many ranges (core/node): each range owns disjoint key spans — its
// data, and its range-local records (applied index, deduplication table, descriptor, garbage
// watermark) under keys of its own — so the store knows nothing of indexes or watermarks, and a
// split or merge moves no data.
//
// Semantics both follow exactly:
//  - apply() commits every mutation of a batch at its timestamp, or nothing. A put or delete at
//    a timestamp that already has a version of the key replaces that version; a delete stores a
//    tombstone.
//  - get() and scan() see, for each key, the newest version at or below the read timestamp;
//    a tombstone there means the key is absent. Refusing reads below a range's watermark is the
//    range's business.
//  - collect_garbage(span, w, n) drops, in (key, timestamp) ascending order, the first n of the
//    span's versions that no read at or above w can see: each key's versions older than the one
//    a read at w sees, and that one too if it is a tombstone. It returns how many it dropped;
//    fewer than n means none is left. A step of bounded size keeps a collection from holding the
//    store (and the Raft loop that applies to it) for longer than a heartbeat. A key's tombstone
//    goes only after what it hides, so a step that stops partway never revives a value.
//  - A snapshot carries every stored version within a list of spans; importing one replaces
//    exactly those spans (everything in them is deleted first) and nothing else.
// Methods block the calling fiber (disk I/O) and return errors as values.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/runtime/status.h"
#include "storage/kv/kv_types.h"

namespace cairn::storage {

class KvStore {
 public:
  virtual ~KvStore() = default;

  virtual Status apply(const WriteBatch& batch) = 0;
  // The value visible at `read_timestamp`, or nullopt if the key is absent there.
  virtual Result<std::optional<std::string>> get(std::string_view key, Timestamp read_timestamp) = 0;
  virtual Result<std::vector<KvPair>> scan(const ScanOptions& options) = 0;
  virtual Result<uint64_t> collect_garbage(const KeySpan& span, Timestamp watermark, uint64_t versions_max) = 0;

  // The versions within `spans` (valid: validate_spans) as checksummed chunks of about
  // `chunk_bytes` each (kv_snapshot.h).
  virtual Result<std::vector<std::string>> export_snapshot(const std::vector<KeySpan>& spans, std::size_t chunk_bytes) = 0;
  // Verifies every chunk, then replaces the snapshot's spans with its versions atomically.
  virtual Status import_snapshot(const std::vector<std::string>& chunks) = 0;
};

}  // namespace cairn::storage
