// Walking and searching a segment's batches during recovery (see wal_segment_scanner.h).
#include "storage/wal/wal_segment_scanner.h"

#include <algorithm>

namespace cairn::wal {
namespace {

// Checks the records of a batch whose header is valid. Appends their locations to `records` and
// returns an empty string, or returns why the batch is invalid (and leaves `records` alone).
std::string validate_records(std::span<const std::byte> batch, uint64_t batch_offset, const BatchHeader& header,
                             uint64_t salt, std::vector<RecordLocation>& records) {
  std::vector<RecordLocation> found;
  found.reserve(header.record_count);
  uint64_t position = kBatchHeaderSize;
  for (uint32_t i = 0; i < header.record_count; ++i) {
    const uint64_t index = header.first_index + i;
    const uint64_t record_offset = batch_offset + position;
    const std::string where = "record " + std::to_string(index) + " at offset " + std::to_string(record_offset);
    if (batch.size() - position < kRecordHeaderSize) return where + " is cut off by the end of the batch";
    const auto header_bytes = batch.subspan(position, kRecordHeaderSize);
    Result<RecordHeader> record = decode_record_header(header_bytes);
    if (!record.ok()) return where + ": " + record.status().message();
    if (record->index != index) return where + " holds index " + std::to_string(record->index);
    if (batch.size() - position - kRecordHeaderSize < record->payload_length) {
      return where + " has a payload of " + std::to_string(record->payload_length) +
             " bytes that runs past the end of the batch";
    }
    const auto payload = batch.subspan(position + kRecordHeaderSize, record->payload_length);
    if (!record_checksum_matches(header_bytes, payload, salt)) return where + " fails its checksum";
    found.push_back(RecordLocation{.offset = record_offset, .payload_length = record->payload_length});
    position += record_size(record->payload_length);
  }
  if (position != batch.size()) {
    return "the batch's records end at offset " + std::to_string(batch_offset + position) +
           ", not where its header says (" + std::to_string(batch_offset + batch.size()) + ")";
  }
  records.insert(records.end(), found.begin(), found.end());
  return {};
}

}  // namespace

Result<BatchWalk> walk_batches(File& file, const std::string& path, uint64_t salt, uint64_t first_index,
                               uint64_t file_size, uint64_t start_offset) {
  BatchWalk walk;
  walk.end_offset = start_offset;
  uint64_t offset = start_offset;
  uint64_t expected = first_index;
  auto stop = [&](std::string reason) {
    walk.invalid = InvalidBatch{.offset = offset, .expected_index = expected, .reason = std::move(reason)};
  };
  while (offset < file_size) {
    if (file_size - offset < kBatchHeaderSize) {
      stop("the file ends inside a batch header");
      break;
    }
    std::vector<std::byte> batch(kBatchHeaderSize);
    CAIRN_RETURN_IF_ERROR(read_exactly(file, path, offset, batch));
    Result<BatchHeader> header = decode_batch_header(batch, salt);
    if (!header.ok()) {
      stop(header.status().message());
      break;
    }
    if (header->first_index != expected) {
      stop("batch starts at index " + std::to_string(header->first_index) + ", expected " + std::to_string(expected));
      break;
    }
    if (header->records_length > file_size - offset - kBatchHeaderSize) {
      stop("batch of " + std::to_string(header->records_length) + " record bytes runs past the end of the file (" +
           std::to_string(file_size) + " bytes)");
      break;
    }
    batch.resize(kBatchHeaderSize + header->records_length);
    CAIRN_RETURN_IF_ERROR(read_exactly(file, path, offset + kBatchHeaderSize,
                                       std::span<std::byte>(batch).subspan(kBatchHeaderSize)));
    const std::string problem = validate_records(batch, offset, *header, salt, walk.records);
    if (!problem.empty()) {
      stop(problem);
      break;
    }
    walk.last_batch = std::move(batch);
    walk.last_batch_offset = offset;
    expected += header->record_count;
    offset += batch_extent(header->records_length);
    walk.end_offset = offset;
  }
  return walk;
}

Result<std::optional<VouchingBatch>> find_vouching_batch(File& file, const std::string& path, uint64_t salt,
                                                         uint64_t from, uint64_t file_size, uint64_t expected_index) {
  static_assert(kScanChunkBytes % kSectorSize == 0 && kBlockSize % kSectorSize == 0);
  std::vector<std::byte> chunk;
  // Sector-aligned candidates from `from` on, read a chunk of sectors at a time.
  const uint64_t first = (from + kSectorSize - 1) / kSectorSize * kSectorSize;
  for (uint64_t chunk_start = first; chunk_start < file_size; chunk_start += kScanChunkBytes) {
    const uint64_t length = std::min(kScanChunkBytes, file_size - chunk_start);
    chunk.resize(length);
    CAIRN_RETURN_IF_ERROR(read_exactly(file, path, chunk_start, chunk));
    for (uint64_t sector = 0; sector + kBatchHeaderSize <= length; sector += kSectorSize) {
      Result<BatchHeader> header = decode_batch_header(std::span<const std::byte>(chunk).subspan(sector), salt);
      if (header.ok() && header->durable_through >= expected_index) {
        return std::optional<VouchingBatch>(VouchingBatch{.offset = chunk_start + sector, .header = *header});
      }
    }
  }
  return std::optional<VouchingBatch>();
}

Result<std::optional<VouchingBatch>> find_resume_batch(File& file, const std::string& path, uint64_t salt,
                                                       uint64_t from, uint64_t file_size, uint64_t expected_index) {
  std::optional<VouchingBatch> best;
  std::vector<std::byte> header_bytes(kBatchHeaderSize);
  for (uint64_t offset = align_to_block(from); offset + kBatchHeaderSize <= file_size; offset += kBlockSize) {
    CAIRN_RETURN_IF_ERROR(read_exactly(file, path, offset, header_bytes));
    Result<BatchHeader> header = decode_batch_header(header_bytes, salt);
    if (!header.ok() || header->first_index < expected_index) continue;
    if (header->records_length > file_size - offset - kBatchHeaderSize) continue;
    if (!best || header->first_index <= best->header.first_index) {
      best = VouchingBatch{.offset = offset, .header = *header};
    }
  }
  return best;
}

Result<bool> zero_from(File& file, const std::string& path, uint64_t from, uint64_t file_size) {
  std::vector<std::byte> chunk;
  for (uint64_t start = from; start < file_size; start += kScanChunkBytes) {
    chunk.resize(std::min(kScanChunkBytes, file_size - start));
    CAIRN_RETURN_IF_ERROR(read_exactly(file, path, start, chunk));
    if (std::any_of(chunk.begin(), chunk.end(), [](std::byte b) { return b != std::byte{0}; })) return false;
  }
  return true;
}

}  // namespace cairn::wal
