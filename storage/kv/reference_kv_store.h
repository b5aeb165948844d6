// ReferenceKvStore: the key-value store as a few lines of obviously-correct in-memory code — the
// oracle that property tests hold the SQLite engine to (kv_store.h states the semantics). Not
// durable, not fast; never used outside tests and benchmarks.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>

#include "storage/kv/kv_store.h"

namespace cairn::storage {

class ReferenceKvStore final : public KvStore {
 public:
  Status apply(const WriteBatch& batch) override;
  Result<std::optional<std::string>> get(std::string_view key, Timestamp read_timestamp) override;
  Result<std::vector<KvPair>> scan(const ScanOptions& options) override;
  Result<uint64_t> collect_garbage(const KeySpan& span, Timestamp watermark, uint64_t versions_max) override;
  Result<std::vector<std::string>> export_snapshot(const std::vector<KeySpan>& spans, std::size_t chunk_bytes) override;
  Status import_snapshot(const std::vector<std::string>& chunks) override;

 private:
  // Versions of one key, newest first; nullopt is a tombstone.
  using Versions = std::map<Timestamp, std::optional<std::string>, std::greater<>>;
  static const std::optional<std::string>* visible(const Versions& versions, Timestamp read_timestamp);

  std::map<std::string, Versions, std::less<>> keys_;
};

}  // namespace cairn::storage
