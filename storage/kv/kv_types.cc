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
  if (key.size() > kMaxKeyBytes) {
    return Status::invalid_argument("key of " + std::to_string(key.size()) + " bytes exceeds the limit of " +
                                    std::to_string(kMaxKeyBytes));
  }
  return {};
}

Status validate_batch(const WriteBatch& batch, uint64_t applied_index) {
  if (batch.commit_timestamp == 0 || batch.commit_timestamp > kMaxTimestamp) {
    return Status::invalid_argument("commit timestamp " + std::to_string(batch.commit_timestamp) +
                                    " is outside [1, 2^63-1]");
  }
  if (batch.applied_index > kMaxTimestamp) {
    return Status::invalid_argument("applied index " + std::to_string(batch.applied_index) + " exceeds 2^63-1");
  }
  if (batch.applied_index <= applied_index) {
    return Status::failed_precondition("batch for index " + std::to_string(batch.applied_index) +
                                       " does not follow the applied index " + std::to_string(applied_index));
  }
  if (batch.mutations.size() > kMaxBatchMutations) {
    return Status::invalid_argument("batch of " + std::to_string(batch.mutations.size()) +
                                    " mutations exceeds the limit of " + std::to_string(kMaxBatchMutations));
  }
  std::size_t bytes = 0;
  for (const KvMutation& mutation : batch.mutations) {
    CAIRN_RETURN_IF_ERROR(validate_key(mutation.key));
    if (mutation.value.size() > kMaxValueBytes) {
      return Status::invalid_argument("value of " + std::to_string(mutation.value.size()) +
                                      " bytes exceeds the limit of " + std::to_string(kMaxValueBytes));
    }
    if (mutation.kind == KvMutation::Kind::kDelete && !mutation.value.empty()) {
      return Status::invalid_argument("a delete carries no value");
    }
    bytes += mutation.key.size() + mutation.value.size();
  }
  if (bytes > kMaxBatchBytes) {
    return Status::invalid_argument("batch of " + std::to_string(bytes) + " bytes exceeds the limit of " +
                                    std::to_string(kMaxBatchBytes));
  }
  return {};
}

Status validate_read_timestamp(Timestamp read_timestamp, Timestamp gc_watermark) {
  if (read_timestamp > kMaxTimestamp) {
    return Status::invalid_argument("read timestamp " + std::to_string(read_timestamp) + " exceeds 2^63-1");
  }
  if (read_timestamp < gc_watermark) {
    return Status::failed_precondition("read timestamp " + std::to_string(read_timestamp) +
                                       " is below the garbage-collection watermark " + std::to_string(gc_watermark) +
                                       ": those versions are gone");
  }
  return {};
}

Status validate_scan(const ScanOptions& options, Timestamp gc_watermark) {
  CAIRN_RETURN_IF_ERROR(validate_read_timestamp(options.read_timestamp, gc_watermark));
  if (options.limit == 0 || options.limit > kMaxScanLimit) {
    return Status::invalid_argument("scan limit " + std::to_string(options.limit) + " is outside [1, " +
                                    std::to_string(kMaxScanLimit) + "]");
  }
  if (options.start.size() > kMaxKeyBytes || options.end.size() > kMaxKeyBytes) {
    return Status::invalid_argument("scan bound exceeds the key size limit");
  }
  return {};
}

}  // namespace cairn::storage
