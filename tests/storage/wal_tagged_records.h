// Helpers shared by the write-ahead log's fault tests: records whose payload is a pure function
// of a tag (so what each index must hold is known without a copy), appended and opened with the
// test failing loudly on an unexpected error.
#pragma once

#include <gtest/gtest.h>

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "core/runtime/random.h"
#include "storage/wal/wal_format.h"
#include "storage/wal/write_ahead_log.h"

namespace cairn::wal_testing {

// A payload that makes its batch exactly one block, so batch b of the first segment is block b.
inline constexpr std::size_t kFullBlockPayload = wal::kBlockSize - wal::kBatchHeaderSize - wal::kRecordHeaderSize;

inline std::vector<std::byte> test_payload(uint64_t tag, std::size_t size = kFullBlockPayload) {
  std::vector<std::byte> bytes(size);
  Random random(tag);
  for (std::byte& byte : bytes) byte = static_cast<std::byte>(random.next_u64());
  return bytes;
}

inline bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

inline std::unique_ptr<WriteAheadLog> open_or_fail(Runtime& runtime, WalOptions options = {}) {
  auto log = WriteAheadLog::open_log(runtime, std::move(options));
  EXPECT_TRUE(log.ok()) << log.status().to_string();
  return log.ok() ? std::move(log).value() : nullptr;
}

// Appends records tagged first..last, one full-block batch each; all must be acknowledged.
inline void append_tagged(WriteAheadLog& log, uint64_t first, uint64_t last) {
  for (uint64_t tag = first; tag <= last; ++tag) {
    Result<uint64_t> index = log.append(kWalRecordEntry, test_payload(tag));
    ASSERT_TRUE(index.ok()) << index.status().to_string();
    ASSERT_EQ(*index, tag);
  }
}

}  // namespace cairn::wal_testing
