// KvStore: the interface of an ordered, multi-version key-value store — what the replicated
// state machine applies committed log entries to. Two implementations:
//  - kv_engine.h: the real one, on SQLite through the Runtime VFS (durable, checksummed);
//  - reference_kv_store.h: a pure in-memory model, the oracle of property tests.
//
// Semantics both follow exactly:
//  - apply() commits every mutation of a batch at its timestamp, together with its applied
//    index, or nothing. A put or delete at a timestamp that already has a version of the key
//    replaces that version; a delete stores a tombstone.
//  - get() and scan() see, for each key, the newest version at or below the read timestamp;
//    a tombstone there means the key is absent.
//  - collect_garbage(w) may drop every version that no read at or above w can see; reads below
//    the watermark are refused afterwards. The watermark never moves back.
//  - A snapshot carries every stored version plus the applied index and the watermark;
//    importing one replaces the whole store.
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
  virtual Status collect_garbage(Timestamp watermark) = 0;

  virtual uint64_t applied_index() const = 0;
  virtual Timestamp gc_watermark() const = 0;

  // The whole store as checksummed chunks of about `chunk_bytes` each (kv_snapshot.h).
  virtual Result<std::vector<std::string>> export_snapshot(std::size_t chunk_bytes) = 0;
  // Verifies every chunk, then replaces the store's contents with them atomically.
  virtual Status import_snapshot(const std::vector<std::string>& chunks) = 0;
};

}  // namespace cairn::storage
