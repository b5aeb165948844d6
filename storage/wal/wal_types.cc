// Validation of the write-ahead log's options (see wal_types.h).
#include "storage/wal/wal_types.h"

#include "core/runtime/file_system.h"
#include "storage/wal/wal_format.h"

namespace cairn {
namespace {

// A generous ceiling on one batch's records: it keeps the count field and the in-memory
// bookkeeping of a batch far from any overflow.
constexpr std::size_t kMaxPendingRecordsLimit = std::size_t{1} << 20;

}  // namespace

Status validate_wal_options(const WalOptions& options) {
  if (options.directory.empty()) return Status::invalid_argument("WAL directory is empty");
  CAIRN_RETURN_IF_ERROR(validate_path(options.directory).with_context("WAL directory"));
  if (options.max_record_bytes == 0 || options.max_record_bytes > limits::kWalRecordBytesMax) {
    return Status::invalid_argument("max_record_bytes must be in [1, " + std::to_string(limits::kWalRecordBytesMax) +
                                    "], not " + std::to_string(options.max_record_bytes));
  }
  if (options.max_segment_bytes < 2 * wal::kBlockSize) {
    return Status::invalid_argument("max_segment_bytes must be at least " + std::to_string(2 * wal::kBlockSize) +
                                    ", not " + std::to_string(options.max_segment_bytes));
  }
  if (options.max_pending_records == 0 || options.max_pending_records > kMaxPendingRecordsLimit) {
    return Status::invalid_argument("max_pending_records must be in [1, " + std::to_string(kMaxPendingRecordsLimit) +
                                    "], not " + std::to_string(options.max_pending_records));
  }
  if (options.max_pending_bytes < wal::record_size(options.max_record_bytes) ||
      options.max_pending_bytes > limits::kWalBatchRecordsBytesMax) {
    return Status::invalid_argument("max_pending_bytes must hold one record of max_record_bytes (" +
                                    std::to_string(wal::record_size(options.max_record_bytes)) +
                                    " bytes with its header) and be at most " +
                                    std::to_string(limits::kWalBatchRecordsBytesMax) + ", not " +
                                    std::to_string(options.max_pending_bytes));
  }
  return {};
}

}  // namespace cairn
