// The in-memory reference model of the key-value store (see reference_kv_store.h).
#include "storage/kv/reference_kv_store.h"

#include "storage/kv/kv_snapshot.h"

namespace cairn::storage {

const std::optional<std::string>* ReferenceKvStore::visible(const Versions& versions, Timestamp read_timestamp) {
  auto it = versions.lower_bound(read_timestamp);  // newest first: the first version <= read_timestamp
  return it == versions.end() ? nullptr : &it->second;
}

Status ReferenceKvStore::apply(const WriteBatch& batch) {
  CAIRN_RETURN_IF_ERROR(validate_batch(batch, applied_index_));
  for (const KvMutation& mutation : batch.mutations) {
    std::optional<std::string> value;
    if (mutation.kind == KvMutation::Kind::kPut) value = mutation.value;
    keys_[mutation.key][batch.commit_timestamp] = std::move(value);
  }
  applied_index_ = batch.applied_index;
  return {};
}

Result<std::optional<std::string>> ReferenceKvStore::get(std::string_view key, Timestamp read_timestamp) {
  CAIRN_RETURN_IF_ERROR(validate_key(key));
  CAIRN_RETURN_IF_ERROR(validate_read_timestamp(read_timestamp, gc_watermark_));
  auto it = keys_.find(key);
  if (it == keys_.end()) return std::optional<std::string>();
  const std::optional<std::string>* value = visible(it->second, read_timestamp);
  return value == nullptr ? std::optional<std::string>() : *value;
}

Result<std::vector<KvPair>> ReferenceKvStore::scan(const ScanOptions& options) {
  CAIRN_RETURN_IF_ERROR(validate_scan(options, gc_watermark_));
  std::vector<KvPair> found;
  auto consider = [&](const std::string& key, const Versions& versions) {
    if (key < options.start || (!options.end.empty() && key >= options.end)) return;
    const std::optional<std::string>* value = visible(versions, options.read_timestamp);
    if (value != nullptr && value->has_value()) found.push_back({key, **value});
  };
  if (options.reverse) {
    for (auto it = keys_.rbegin(); it != keys_.rend() && found.size() < options.limit; ++it) consider(it->first, it->second);
  } else {
    for (auto it = keys_.begin(); it != keys_.end() && found.size() < options.limit; ++it) consider(it->first, it->second);
  }
  return found;
}

Status ReferenceKvStore::collect_garbage(Timestamp watermark) {
  if (watermark > kMaxTimestamp) return Status::invalid_argument("watermark exceeds 2^63-1");
  if (watermark <= gc_watermark_) return {};
  for (auto key = keys_.begin(); key != keys_.end();) {
    Versions& versions = key->second;
    auto newest_visible = versions.lower_bound(watermark);
    if (newest_visible != versions.end()) {
      // Everything older than the version a read at the watermark sees is unreachable.
      versions.erase(std::next(newest_visible), versions.end());
      if (!newest_visible->second.has_value()) versions.erase(newest_visible);
    }
    key = versions.empty() ? keys_.erase(key) : std::next(key);
  }
  gc_watermark_ = watermark;
  return {};
}

Result<std::vector<std::string>> ReferenceKvStore::export_snapshot(std::size_t chunk_bytes) {
  SnapshotEncoder encoder(applied_index_, gc_watermark_, chunk_bytes);
  for (const auto& [key, versions] : keys_) {
    for (const auto& [timestamp, value] : versions) encoder.add({key, timestamp, value});
  }
  return encoder.finish();
}

Status ReferenceKvStore::import_snapshot(const std::vector<std::string>& chunks) {
  CAIRN_ASSIGN_OR_RETURN(KvSnapshot snapshot, decode_snapshot(chunks));
  keys_.clear();
  for (KvVersion& version : snapshot.versions) keys_[version.key][version.timestamp] = std::move(version.value);
  applied_index_ = snapshot.applied_index;
  gc_watermark_ = snapshot.gc_watermark;
  return {};
}

}  // namespace cairn::storage
