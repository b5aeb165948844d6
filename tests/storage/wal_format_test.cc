// The write-ahead log's byte format (storage/wal/wal_format.h): segment names sort by index and
// parse back; every header round-trips; every covered byte is covered by its checksum; and
// batch and record checksums depend on the segment's salt, so bytes from another segment (or a
// header forged inside a payload without the salt) never validate.
#include <gtest/gtest.h>

#include <array>
#include <vector>

#include "storage/wal/wal_format.h"

namespace cairn::wal {
namespace {

constexpr uint64_t kSalt = 0x1234'5678'9abc'def0ULL;

TEST(WalFormat, SegmentNamesAreZeroPaddedSortByIndexAndParseBack) {
  EXPECT_EQ(segment_file_name(1), "00000000000000000001.wal");
  EXPECT_EQ(segment_path("wal", 42), "wal/00000000000000000042.wal");
  EXPECT_LT(segment_file_name(9), segment_file_name(10)) << "names must sort by index";
  for (uint64_t index : {uint64_t{0}, uint64_t{1}, uint64_t{10}, uint64_t{123456789}, UINT64_MAX}) {
    EXPECT_EQ(parse_segment_file_name(segment_file_name(index)), index);
  }
  for (const char* bad : {"1.wal", "0000000000000000001.wal", "00000000000000000001.log", "0000000000000000000a.wal",
                          "99999999999999999999.wal", "00000000000000000001.wal.tmp", ""}) {
    EXPECT_FALSE(parse_segment_file_name(bad).has_value()) << bad;
  }
}

TEST(WalFormat, SegmentHeaderRoundTripsAndEveryByteIsChecked) {
  const auto block = encode_segment_header({.first_index = 77, .salt = kSalt});
  auto decoded = decode_segment_header(block);
  ASSERT_TRUE(decoded.ok()) << decoded.status().to_string();
  EXPECT_EQ(decoded->first_index, 77u);
  EXPECT_EQ(decoded->salt, kSalt);
  for (std::size_t i = 0; i < kSegmentHeaderSize; ++i) {
    auto damaged = block;
    damaged[i] ^= std::byte{0x01};
    EXPECT_EQ(decode_segment_header(damaged).status().code(), StatusCode::kCorruption) << "byte " << i;
  }
  EXPECT_EQ(decode_segment_header(std::vector<std::byte>(kBlockSize)).status().code(), StatusCode::kCorruption);
}

TEST(WalFormat, BatchHeaderRoundTripsOnlyUnderItsOwnSalt) {
  const BatchHeader header{.record_count = 3, .first_index = 10, .records_length = 300, .durable_through = 9};
  std::array<std::byte, kBatchHeaderSize> bytes{};
  encode_batch_header(header, kSalt, bytes);
  auto decoded = decode_batch_header(bytes, kSalt);
  ASSERT_TRUE(decoded.ok()) << decoded.status().to_string();
  EXPECT_EQ(decoded->record_count, 3u);
  EXPECT_EQ(decoded->first_index, 10u);
  EXPECT_EQ(decoded->records_length, 300u);
  EXPECT_EQ(decoded->durable_through, 9u);
  EXPECT_EQ(decode_batch_header(bytes, kSalt + 1).status().code(), StatusCode::kCorruption)
      << "a header written under another salt (another segment, or a forgery) must not validate";
  for (std::size_t i = 0; i < kBatchHeaderSize; ++i) {
    auto damaged = bytes;
    damaged[i] ^= std::byte{0x80};
    EXPECT_FALSE(decode_batch_header(damaged, kSalt).ok()) << "byte " << i;
  }
}

TEST(WalFormat, BatchHeaderWithImpossibleFieldsIsRejectedEvenWithAValidChecksum) {
  std::array<std::byte, kBatchHeaderSize> bytes{};
  encode_batch_header({.record_count = 0, .first_index = 1, .records_length = 0}, kSalt, bytes);
  EXPECT_EQ(decode_batch_header(bytes, kSalt).status().code(), StatusCode::kCorruption) << "no records";
  encode_batch_header({.record_count = 2, .first_index = 1, .records_length = 47}, kSalt, bytes);
  EXPECT_EQ(decode_batch_header(bytes, kSalt).status().code(), StatusCode::kCorruption) << "too short for 2 records";
  encode_batch_header({.record_count = 1, .first_index = 1, .records_length = limits::kWalBatchRecordsBytesMax + 1}, kSalt, bytes);
  EXPECT_EQ(decode_batch_header(bytes, kSalt).status().code(), StatusCode::kCorruption) << "over the format limit";
}

TEST(WalFormat, RecordChecksumCoversLengthIndexTypePayloadAndSalt) {
  const std::vector<std::byte> payload = {std::byte{1}, std::byte{2}, std::byte{3}, std::byte{4}};
  std::array<std::byte, kRecordHeaderSize> header{};
  encode_record_header({.payload_length = 4, .index = 99, .type = 2}, payload, kSalt, header);
  auto decoded = decode_record_header(header);
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded->payload_length, 4u);
  EXPECT_EQ(decoded->index, 99u);
  EXPECT_EQ(decoded->type, 2);
  EXPECT_TRUE(record_checksum_matches(header, payload, kSalt));
  EXPECT_FALSE(record_checksum_matches(header, payload, kSalt ^ 1)) << "salted";
  for (std::size_t i : {0u, 8u, 15u, 16u}) {  // length, index (low and high byte), type
    auto damaged = header;
    damaged[i] ^= std::byte{0x04};
    EXPECT_FALSE(record_checksum_matches(damaged, payload, kSalt)) << "header byte " << i;
  }
  auto changed = payload;
  changed[2] ^= std::byte{0x10};
  EXPECT_FALSE(record_checksum_matches(header, changed, kSalt)) << "payload";
}

TEST(WalFormat, RecordHeaderRejectsTypeZeroAndNonZeroReservedBytes) {
  std::array<std::byte, kRecordHeaderSize> header{};
  encode_record_header({.payload_length = 0, .index = 1, .type = 0}, {}, kSalt, header);
  EXPECT_EQ(decode_record_header(header).status().code(), StatusCode::kCorruption);
  encode_record_header({.payload_length = 0, .index = 1, .type = 1}, {}, kSalt, header);
  header[20] = std::byte{1};
  EXPECT_EQ(decode_record_header(header).status().code(), StatusCode::kCorruption);
  EXPECT_EQ(decode_record_header(std::vector<std::byte>(kRecordHeaderSize)).status().code(), StatusCode::kCorruption)
      << "zeros are never a record";
}

TEST(WalFormat, BatchExtentPadsToWholeBlocks) {
  EXPECT_EQ(batch_extent(0), kBlockSize);
  EXPECT_EQ(batch_extent(kBlockSize - kBatchHeaderSize), kBlockSize);
  EXPECT_EQ(batch_extent(kBlockSize - kBatchHeaderSize + 1), 2 * kBlockSize);
}

}  // namespace
}  // namespace cairn::wal
