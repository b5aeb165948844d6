// Input validation for the key-value engines (see kv_types.h).
#include "storage/kv/kv_types.h"

namespace cairn::storage {

ScanOptions ScanOptions::with_prefix(std::string_view prefix, Timestamp read_timestamp) {
  ScanOptions options;
  options.start = std::string(prefix);
  options.end = prefix_successor(prefix);
  options.read_timestamp = read_timestamp;
  return options;
}

std::string prefix_successor(std::string_view prefix) {
  std::string successor(prefix);
  while (!successor.empty()) {
    auto& last = reinterpret_cast<unsigned char&>(successor.back());
    if (last != 0xff) {
      ++last;
      return successor;
    }
    successor.pop_back();
  }
  return successor;
}

Status validate_key(std::string_view key) {
  if (key.empty()) return Status::invalid_argument("a key must not be empty");
  if (key.size() > limits::kKeyBytesMax) {
    return Status::invalid_argument("key of " + std::to_string(key.size()) + " bytes exceeds the limit of " +
                                    std::to_string(limits::kKeyBytesMax));
  }
  return {};
}

Status validate_batch(const WriteBatch& batch) {
  if (batch.commit_timestamp == 0 || batch.commit_timestamp > kMaxTimestamp) {
    return Status::invalid_argument("commit timestamp " + std::to_string(batch.commit_timestamp) +
                                    " is outside [1, 2^63-1]");
  }
  if (batch.mutations.size() > limits::kBatchMutationsMax) {
    return Status::invalid_argument("batch of " + std::to_string(batch.mutations.size()) +
                                    " mutations exceeds the limit of " + std::to_string(limits::kBatchMutationsMax));
  }
  std::size_t bytes = 0;
  for (const KvMutation& mutation : batch.mutations) {
    CAIRN_RETURN_IF_ERROR(validate_key(mutation.key));
    if (mutation.value.size() > limits::kValueBytesMax) {
      return Status::invalid_argument("value of " + std::to_string(mutation.value.size()) +
                                      " bytes exceeds the limit of " + std::to_string(limits::kValueBytesMax));
    }
    if (mutation.kind == KvMutation::Kind::kDelete && !mutation.value.empty()) {
      return Status::invalid_argument("a delete carries no value");
    }
    bytes += mutation.key.size() + mutation.value.size();
  }
  if (bytes > limits::kBatchBytesMax) {
    return Status::invalid_argument("batch of " + std::to_string(bytes) + " bytes exceeds the limit of " +
                                    std::to_string(limits::kBatchBytesMax));
  }
  return {};
}

Status validate_read_timestamp(Timestamp read_timestamp) {
  if (read_timestamp > kMaxTimestamp) {
    return Status::invalid_argument("read timestamp " + std::to_string(read_timestamp) + " exceeds 2^63-1");
  }
  return {};
}

Status validate_read_above_watermark(Timestamp read_timestamp, Timestamp gc_watermark) {
  CAIRN_RETURN_IF_ERROR(validate_read_timestamp(read_timestamp));
  if (read_timestamp < gc_watermark) {
    return Status::failed_precondition("read timestamp " + std::to_string(read_timestamp) +
                                       " is below the garbage-collection watermark " + std::to_string(gc_watermark) +
                                       ": those versions are gone");
  }
  return {};
}

Status validate_scan(const ScanOptions& options) {
  CAIRN_RETURN_IF_ERROR(validate_read_timestamp(options.read_timestamp));
  if (options.limit == 0 || options.limit > limits::kScanRowsMax) {
    return Status::invalid_argument("scan limit " + std::to_string(options.limit) + " is outside [1, " +
                                    std::to_string(limits::kScanRowsMax) + "]");
  }
  if (options.bytes_max == 0) return Status::invalid_argument("a scan's byte limit must be at least 1");
  // A bound may be one byte longer than a key: "just after the longest key" (a scan's resume key).
  if (options.start.size() > limits::kKeyBytesMax + 1 || options.end.size() > limits::kKeyBytesMax + 1) {
    return Status::invalid_argument("scan bound exceeds the key size limit");
  }
  return {};
}

Status validate_span(const KeySpan& span) {
  // A bound may be one byte longer than a key: "just after the longest key".
  if (span.start.size() > limits::kKeyBytesMax + 1 || span.end.size() > limits::kKeyBytesMax + 1) {
    return Status::invalid_argument("span bound exceeds the key size limit");
  }
  if (!span.end.empty() && span.start >= span.end) return Status::invalid_argument("span start is not below its end");
  return {};
}

Status validate_garbage_collection(const KeySpan& span, Timestamp watermark, uint64_t versions_max) {
  CAIRN_RETURN_IF_ERROR(validate_span(span));
  if (watermark > kMaxTimestamp) return Status::invalid_argument("watermark exceeds 2^63-1");
  if (versions_max == 0 || versions_max > uint64_t{INT64_MAX}) {
    return Status::invalid_argument("a garbage collection step drops 1 to 2^63-1 versions");
  }
  return {};
}

Status validate_spans(const std::vector<KeySpan>& spans) {
  if (spans.empty() || spans.size() > limits::kSnapshotSpansMax) {
    return Status::invalid_argument("a snapshot covers 1 to " + std::to_string(limits::kSnapshotSpansMax) + " spans");
  }
  for (std::size_t i = 0; i < spans.size(); ++i) {
    CAIRN_RETURN_IF_ERROR(validate_span(spans[i]));
    if (i > 0 && (spans[i - 1].end.empty() || spans[i - 1].end > spans[i].start)) {
      return Status::invalid_argument("spans overlap or are out of order");
    }
  }
  return {};
}

}  // namespace cairn::storage
