// The in-memory reference model of the key-value store (see reference_kv_store.h).
#include "storage/kv/reference_kv_store.h"

#include "storage/kv/kv_snapshot.h"

namespace cairn::storage {

const std::optional<std::string>* ReferenceKvStore::visible(const Versions& versions, Timestamp read_timestamp) {
  auto it = versions.lower_bound(read_timestamp);  // newest first: the first version <= read_timestamp
  return it == versions.end() ? nullptr : &it->second;
}

Status ReferenceKvStore::apply(const WriteBatch& batch) {
  CAIRN_RETURN_IF_ERROR(validate_batch(batch));
  for (const KvMutation& mutation : batch.mutations) {
    std::optional<std::string> value;
    if (mutation.kind == KvMutation::Kind::kPut) value = mutation.value;
    keys_[mutation.key][batch.commit_timestamp] = std::move(value);
  }
  return {};
}

Result<std::optional<std::string>> ReferenceKvStore::get(std::string_view key, Timestamp read_timestamp) {
  CAIRN_RETURN_IF_ERROR(validate_key(key));
  CAIRN_RETURN_IF_ERROR(validate_read_timestamp(read_timestamp));
  auto it = keys_.find(key);
  if (it == keys_.end()) return std::optional<std::string>();
  const std::optional<std::string>* value = visible(it->second, read_timestamp);
  return value == nullptr ? std::optional<std::string>() : *value;
}

Result<std::vector<KvPair>> ReferenceKvStore::scan(const ScanOptions& options) {
  CAIRN_RETURN_IF_ERROR(validate_scan(options));
  std::vector<KvPair> found;
  std::size_t bytes = 0;
  auto consider = [&](const std::string& key, const Versions& versions) {
    if (key < options.start || (!options.end.empty() && key >= options.end)) return;
    const std::optional<std::string>* value = visible(versions, options.read_timestamp);
    if (value == nullptr || !value->has_value()) return;
    bytes += key.size() + (*value)->size();
    found.push_back({key, **value});
  };
  const auto more = [&] { return found.size() < options.limit && bytes < options.bytes_max; };
  if (options.reverse) {
    for (auto it = keys_.rbegin(); it != keys_.rend() && more(); ++it) consider(it->first, it->second);
  } else {
    for (auto it = keys_.begin(); it != keys_.end() && more(); ++it) consider(it->first, it->second);
  }
  return found;
}

Result<uint64_t> ReferenceKvStore::collect_garbage(const KeySpan& span, Timestamp watermark, uint64_t versions_max) {
  CAIRN_RETURN_IF_ERROR(validate_garbage_collection(span, watermark, versions_max));
  uint64_t dropped = 0;
  for (auto key = keys_.lower_bound(span.start); key != keys_.end() && span.contains(key->first) && dropped < versions_max;) {
    // Versions are newest first: the oldest are at the back, and go first. Unreachable: every
    // version older than the one a read at the watermark sees, and that one if a tombstone.
    Versions& versions = key->second;
    const auto newest_visible = versions.lower_bound(watermark);
    if (newest_visible != versions.end()) {
      const Timestamp visible_timestamp = newest_visible->first;
      const bool visible_is_tombstone = !newest_visible->second.has_value();
      while (dropped < versions_max && !versions.empty()) {
        const auto oldest = std::prev(versions.end());
        if (oldest->first > visible_timestamp || (oldest->first == visible_timestamp && !visible_is_tombstone)) break;
        versions.erase(oldest);
        ++dropped;
      }
    }
    key = versions.empty() ? keys_.erase(key) : std::next(key);
  }
  return dropped;
}

Result<std::vector<std::string>> ReferenceKvStore::export_snapshot(const std::vector<KeySpan>& spans,
                                                                   std::size_t chunk_bytes) {
  CAIRN_RETURN_IF_ERROR(validate_spans(spans));
  SnapshotEncoder encoder(spans, chunk_bytes);
  for (const KeySpan& span : spans) {
    for (auto key = keys_.lower_bound(span.start); key != keys_.end() && span.contains(key->first); ++key) {
      for (const auto& [timestamp, value] : key->second) encoder.add({key->first, timestamp, value});
    }
  }
  return encoder.finish();
}

Status ReferenceKvStore::import_snapshot(const std::vector<std::string>& chunks) {
  CAIRN_ASSIGN_OR_RETURN(KvSnapshot snapshot, decode_snapshot(chunks));
  for (const KeySpan& span : snapshot.spans) {
    keys_.erase(keys_.lower_bound(span.start), span.end.empty() ? keys_.end() : keys_.lower_bound(span.end));
  }
  for (KvVersion& version : snapshot.versions) keys_[version.key][version.timestamp] = std::move(version.value);
  return {};
}

}  // namespace cairn::storage
