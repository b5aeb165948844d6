// Encoding and decoding of the write-ahead log's segment, batch and record headers
// (the byte layout is documented in wal_format.h).
#include "storage/wal/wal_format.h"

#include <algorithm>
#include <cstring>

#include "storage/checksum/crc32c.h"

namespace cairn::wal {
namespace {

constexpr char kSegmentMagic[8] = {'C', 'A', 'I', 'R', 'N', 'W', 'A', 'L'};
constexpr char kBatchMagic[4] = {'W', 'B', 'A', 'T'};

// The checksum state after the salt: every salted checksum starts from here.
uint32_t salted_seed(uint64_t salt) {
  std::array<std::byte, 8> bytes{};
  store_u64(bytes.data(), salt);
  return crc32c(bytes);
}

bool all_zero(std::span<const std::byte> bytes) {
  return std::all_of(bytes.begin(), bytes.end(), [](std::byte b) { return b == std::byte{0}; });
}

uint32_t record_checksum(std::span<const std::byte> header_bytes, std::span<const std::byte> payload, uint64_t salt) {
  uint32_t crc = salted_seed(salt);
  crc = crc32c_extend(crc, header_bytes.subspan(0, 4));
  crc = crc32c_extend(crc, header_bytes.subspan(8, kRecordHeaderSize - 8));
  return crc32c_extend(crc, payload);
}

}  // namespace

std::string segment_file_name(uint64_t first_index) {
  std::string digits = std::to_string(first_index);
  return std::string(kSegmentNameDigits - digits.size(), '0') + digits + std::string(kSegmentSuffix);
}

std::string segment_path(std::string_view directory, uint64_t first_index) {
  if (directory.empty()) return segment_file_name(first_index);
  return std::string(directory) + "/" + segment_file_name(first_index);
}

std::optional<uint64_t> parse_segment_file_name(std::string_view name) {
  if (name.size() != kSegmentNameDigits + kSegmentSuffix.size()) return std::nullopt;
  if (name.substr(kSegmentNameDigits) != kSegmentSuffix) return std::nullopt;
  uint64_t value = 0;
  for (char c : name.substr(0, kSegmentNameDigits)) {
    if (c < '0' || c > '9') return std::nullopt;
    const uint64_t digit = static_cast<uint64_t>(c - '0');
    if (value > (UINT64_MAX - digit) / 10) return std::nullopt;  // more than 2^64 - 1
    value = value * 10 + digit;
  }
  return value;
}

std::array<std::byte, kBlockSize> encode_segment_header(const SegmentHeader& header) {
  std::array<std::byte, kBlockSize> block{};
  std::memcpy(block.data(), kSegmentMagic, sizeof kSegmentMagic);
  store_u32(block.data() + 8, kFormatVersion);
  store_u32(block.data() + 12, static_cast<uint32_t>(kBlockSize));
  store_u64(block.data() + 16, header.first_index);
  store_u64(block.data() + 24, header.salt);
  store_u32(block.data() + 32, crc32c(std::span<const std::byte>(block.data(), 32)));
  return block;
}

Result<SegmentHeader> decode_segment_header(std::span<const std::byte> block) {
  if (block.size() < kSegmentHeaderSize) return Status::corruption("segment header is truncated");
  if (std::memcmp(block.data(), kSegmentMagic, sizeof kSegmentMagic) != 0) {
    return Status::corruption("segment header has no magic number");
  }
  if (crc32c(block.subspan(0, 32)) != load_u32(block.data() + 32)) {
    return Status::corruption("segment header fails its checksum");
  }
  const uint32_t version = load_u32(block.data() + 8);
  if (version != kFormatVersion) {
    return Status::corruption("segment format version " + std::to_string(version) + " is not supported (expected " +
                              std::to_string(kFormatVersion) + ")");
  }
  const uint32_t block_size = load_u32(block.data() + 12);
  if (block_size != kBlockSize) {
    return Status::corruption("segment block size " + std::to_string(block_size) + " is not " +
                              std::to_string(kBlockSize));
  }
  return SegmentHeader{.first_index = load_u64(block.data() + 16), .salt = load_u64(block.data() + 24)};
}

void encode_batch_header(const BatchHeader& header, uint64_t salt, std::span<std::byte, kBatchHeaderSize> out) {
  std::memcpy(out.data(), kBatchMagic, sizeof kBatchMagic);
  store_u32(out.data() + 4, header.record_count);
  store_u64(out.data() + 8, header.first_index);
  store_u64(out.data() + 16, header.records_length);
  store_u64(out.data() + 24, header.durable_through);
  store_u32(out.data() + 32, 0);
  store_u32(out.data() + 36, crc32c_extend(salted_seed(salt), std::span<const std::byte>(out.data(), 36)));
}

Result<BatchHeader> decode_batch_header(std::span<const std::byte> bytes, uint64_t salt) {
  if (bytes.size() < kBatchHeaderSize) return Status::corruption("batch header is truncated");
  if (std::memcmp(bytes.data(), kBatchMagic, sizeof kBatchMagic) != 0) {
    return Status::corruption(all_zero(bytes.subspan(0, kBatchHeaderSize)) ? "batch header is all zero"
                                                                          : "batch header has no magic number");
  }
  if (crc32c_extend(salted_seed(salt), bytes.subspan(0, 36)) != load_u32(bytes.data() + 36)) {
    return Status::corruption("batch header fails its checksum");
  }
  BatchHeader header{.record_count = load_u32(bytes.data() + 4),
                     .first_index = load_u64(bytes.data() + 8),
                     .records_length = load_u64(bytes.data() + 16),
                     .durable_through = load_u64(bytes.data() + 24)};
  if (load_u32(bytes.data() + 32) != 0) return Status::corruption("batch header has non-zero reserved bytes");
  if (header.record_count == 0) return Status::corruption("batch header counts no records");
  if (header.records_length > limits::kWalBatchRecordsBytesMax ||
      header.records_length < uint64_t{header.record_count} * kRecordHeaderSize) {
    return Status::corruption("batch header has an impossible records length " + std::to_string(header.records_length));
  }
  return header;
}

void encode_record_header(const RecordHeader& header, std::span<const std::byte> payload, uint64_t salt,
                          std::span<std::byte, kRecordHeaderSize> out) {
  std::fill(out.begin(), out.end(), std::byte{0});
  store_u32(out.data(), header.payload_length);
  store_u64(out.data() + 8, header.index);
  out[16] = static_cast<std::byte>(header.type);
  store_u32(out.data() + 4, record_checksum(out, payload, salt));
}

Result<RecordHeader> decode_record_header(std::span<const std::byte> bytes) {
  if (bytes.size() < kRecordHeaderSize) return Status::corruption("record header is truncated");
  RecordHeader header{.payload_length = load_u32(bytes.data()),
                      .index = load_u64(bytes.data() + 8),
                      .type = static_cast<uint8_t>(bytes[16])};
  if (header.type == 0) return Status::corruption("record has type 0");
  if (!all_zero(bytes.subspan(17, 7))) return Status::corruption("record header has non-zero reserved bytes");
  if (header.payload_length > limits::kWalRecordBytesMax) {
    return Status::corruption("record payload length " + std::to_string(header.payload_length) +
                              " exceeds the format limit");
  }
  return header;
}

bool record_checksum_matches(std::span<const std::byte> header_bytes, std::span<const std::byte> payload,
                             uint64_t salt) {
  return header_bytes.size() >= kRecordHeaderSize &&
         record_checksum(header_bytes, payload, salt) == load_u32(header_bytes.data() + 4);
}

}  // namespace cairn::wal
