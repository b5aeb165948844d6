// The write-ahead log's opt-in salvage of damage to synced batches (WalOptions::salvage_damage):
//  (a) a bit flipped in a record of a middle batch: CORRUPTION by default; with salvage the log
//      opens, reports exactly the lost indexes, reads every other record intact, refuses the
//      lost ones, appends after it, and reports the same damage at the next open;
//  (b) a destroyed batch header: the lost range is derived from the neighbouring batches;
//  (c) damage in sealed segments (one ending at its damaged batch), gone after remove_before;
//  (d) a seeded loop of random appends and random byte damage on the medium: a salvaging open
//      never fails with CORRUPTION and never returns wrong bytes.
// Damage is written straight into the simulated disk's durable image (SingleMachine), and each
// SingleMachine::run() reboots the node, so every run opens the log afresh.
#include <gtest/gtest.h>

#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/runtime/random.h"
#include "storage/wal/wal_format.h"
#include "storage/wal/write_ahead_log.h"
#include "tests/storage/storage_harness.h"
#include "tests/storage/wal_tagged_records.h"

namespace cairn {
namespace {

using storage::testing::SingleMachine;
using namespace wal_testing;

std::string segment_of(uint64_t first_index) { return wal::segment_path("wal", first_index); }

WalOptions salvaging(WalOptions options = {}) {
  options.salvage_damage = true;
  return options;
}

void expect_tagged(WriteAheadLog& log, uint64_t first, uint64_t last, std::size_t size = kFullBlockPayload) {
  for (uint64_t tag = first; tag <= last; ++tag) {
    Result<WalRecord> record = log.read(tag);
    ASSERT_TRUE(record.ok()) << "index " << tag << ": " << record.status().to_string();
    EXPECT_EQ(record->payload, test_payload(tag, size)) << "index " << tag;
  }
}

void expect_unreadable(WriteAheadLog& log, uint64_t index, const std::string& path, uint64_t offset) {
  const Status status = log.read(index).status();
  EXPECT_EQ(status.code(), StatusCode::kCorruption) << status.to_string();
  EXPECT_TRUE(contains(status.message(), path)) << status.to_string();
  EXPECT_TRUE(contains(status.message(), "offset " + std::to_string(offset))) << status.to_string();
}

void expect_one_damaged_range(const WalRecoveryReport& report, const std::string& path, uint64_t offset,
                              uint64_t first_index, uint64_t last_index) {
  ASSERT_EQ(report.damaged.size(), 1u) << report.summary();
  EXPECT_EQ(report.damaged[0].path, path);
  EXPECT_EQ(report.damaged[0].offset, offset);
  EXPECT_EQ(report.damaged[0].first_index, first_index);
  EXPECT_EQ(report.damaged[0].last_index, last_index);
  EXPECT_FALSE(report.damaged[0].reason.empty());
  EXPECT_TRUE(contains(report.summary(), "salvaged around damage")) << report.summary();
}

void expect_open_fails_with_corruption(SingleMachine& machine) {
  ASSERT_TRUE(machine.run([&](Runtime& runtime) {
    const Status status = WriteAheadLog::open_log(runtime, WalOptions{}).status();
    EXPECT_EQ(status.code(), StatusCode::kCorruption) << status.to_string();
  }));
}

TEST(WalSalvage, ABitFlipInAMiddleBatchIsSkippedAndReportedWithItsExactIndexes) {
  SingleMachine machine(101);
  ASSERT_TRUE(machine.run([&](Runtime& runtime) {
    auto log = open_or_fail(runtime, WalOptions{});
    ASSERT_NE(log, nullptr);
    append_tagged(*log, 1, 6);
  }));
  const uint64_t damaged_offset = 3 * wal::kBlockSize;
  machine.flip_bit(segment_of(1), damaged_offset + wal::kBatchHeaderSize + wal::kRecordHeaderSize + 100, 3);
  expect_open_fails_with_corruption(machine);

  ASSERT_TRUE(machine.run([&](Runtime& runtime) {
    auto log = open_or_fail(runtime, salvaging());
    ASSERT_NE(log, nullptr);
    expect_one_damaged_range(log->recovery_report(), segment_of(1), damaged_offset, 3, 3);
    EXPECT_EQ(log->recovery_report().records, 5u);
    EXPECT_EQ(log->first_index(), 1u);
    EXPECT_EQ(log->last_index(), 6u);
    expect_tagged(*log, 1, 2);
    expect_tagged(*log, 4, 6);
    expect_unreadable(*log, 3, segment_of(1), damaged_offset);
    append_tagged(*log, 7, 8);
  }));
  ASSERT_TRUE(machine.run([&](Runtime& runtime) {
    auto log = open_or_fail(runtime, salvaging());
    ASSERT_NE(log, nullptr);
    expect_one_damaged_range(log->recovery_report(), segment_of(1), damaged_offset, 3, 3);
    EXPECT_EQ(log->last_index(), 8u);
    expect_tagged(*log, 1, 2);
    expect_tagged(*log, 4, 8);
    expect_unreadable(*log, 3, segment_of(1), damaged_offset);
  }));
}

TEST(WalSalvage, ADestroyedBatchHeaderLosesTheIndexesBetweenItsNeighbours) {
  constexpr std::size_t kSmallPayload = 100;
  SingleMachine machine(102);
  ASSERT_TRUE(machine.run([&](Runtime& runtime) {
    auto log = open_or_fail(runtime, WalOptions{});
    ASSERT_NE(log, nullptr);
    append_tagged(*log, 1, 2);
    // Batch 3 (block 3) holds indexes 3..5.
    const std::vector<std::vector<std::byte>> payloads = {test_payload(3, kSmallPayload),
                                                          test_payload(4, kSmallPayload),
                                                          test_payload(5, kSmallPayload)};
    std::vector<WalRecordInput> group;
    for (const auto& payload : payloads) group.push_back(WalRecordInput{.type = kWalRecordEntry, .payload = payload});
    Result<uint64_t> first = log->append_batch(group);
    ASSERT_TRUE(first.ok()) << first.status().to_string();
    ASSERT_EQ(*first, 3u);
    append_tagged(*log, 6, 7);  // blocks 4 and 5
  }));
  const uint64_t damaged_offset = 3 * wal::kBlockSize;
  std::vector<std::byte> garbage(wal::kBatchHeaderSize);
  for (std::size_t i = 0; i < garbage.size(); ++i) garbage[i] = static_cast<std::byte>(0xA5 ^ i);
  machine.corrupt(segment_of(1), damaged_offset, garbage);
  expect_open_fails_with_corruption(machine);

  ASSERT_TRUE(machine.run([&](Runtime& runtime) {
    auto log = open_or_fail(runtime, salvaging());
    ASSERT_NE(log, nullptr);
    expect_one_damaged_range(log->recovery_report(), segment_of(1), damaged_offset, 3, 5);
    EXPECT_EQ(log->last_index(), 7u);
    expect_tagged(*log, 1, 2);
    expect_tagged(*log, 6, 7);
    for (uint64_t index = 3; index <= 5; ++index) expect_unreadable(*log, index, segment_of(1), damaged_offset);
  }));
}

TEST(WalSalvage, DamageInSealedSegmentsIsSkippedAndGoesAwayWithTheSegment) {
  // Three one-block batches per segment: segments start at 1, 4 and 7.
  WalOptions options{.max_segment_bytes = 4 * wal::kBlockSize};
  SingleMachine machine(103);
  ASSERT_TRUE(machine.run([&](Runtime& runtime) {
    auto log = open_or_fail(runtime, options);
    ASSERT_NE(log, nullptr);
    append_tagged(*log, 1, 9);
    ASSERT_EQ(log->segments().size(), 3u);
  }));
  // Batch 2 in the middle of segment 1, and batch 6, the last of segment 4: its range ends
  // before the next segment's first index.
  machine.flip_bit(segment_of(1), 2 * wal::kBlockSize + 200, 0);
  machine.flip_bit(segment_of(4), 3 * wal::kBlockSize + 5, 7);
  expect_open_fails_with_corruption(machine);

  ASSERT_TRUE(machine.run([&](Runtime& runtime) {
    auto log = open_or_fail(runtime, salvaging(options));
    ASSERT_NE(log, nullptr);
    const WalRecoveryReport& report = log->recovery_report();
    ASSERT_EQ(report.damaged.size(), 2u) << report.summary();
    EXPECT_EQ(report.damaged[0].path, segment_of(1));
    EXPECT_EQ(report.damaged[0].first_index, 2u);
    EXPECT_EQ(report.damaged[0].last_index, 2u);
    EXPECT_EQ(report.damaged[1].path, segment_of(4));
    EXPECT_EQ(report.damaged[1].offset, 3 * wal::kBlockSize);
    EXPECT_EQ(report.damaged[1].first_index, 6u);
    EXPECT_EQ(report.damaged[1].last_index, 6u);
    expect_tagged(*log, 1, 1);
    expect_tagged(*log, 3, 5);
    expect_tagged(*log, 7, 9);
    expect_unreadable(*log, 2, segment_of(1), 2 * wal::kBlockSize);
    expect_unreadable(*log, 6, segment_of(4), 3 * wal::kBlockSize);
    ASSERT_TRUE(log->remove_before(7).ok());
    EXPECT_EQ(log->first_index(), 7u);
  }));
  ASSERT_TRUE(machine.run([&](Runtime& runtime) {
    auto log = open_or_fail(runtime, salvaging(options));
    ASSERT_NE(log, nullptr);
    EXPECT_TRUE(log->recovery_report().damaged.empty()) << log->recovery_report().summary();
    EXPECT_EQ(log->first_index(), 7u);
    expect_tagged(*log, 7, 9);
  }));
}

// (d) What one seed of the loop wrote: every acknowledged index and its payload.
using Acknowledged = std::map<uint64_t, std::vector<std::byte>>;

void append_random(WriteAheadLog& log, Random& random, Acknowledged& acknowledged, int groups) {
  for (int group = 0; group < groups; ++group) {
    std::vector<std::vector<std::byte>> payloads(1 + random.uniform(4));
    std::vector<WalRecordInput> records;
    for (auto& payload : payloads) {
      payload = test_payload(random.next_u64(), random.uniform(3000));
      records.push_back(WalRecordInput{.type = kWalRecordEntry, .payload = payload});
    }
    Result<uint64_t> first = log.append_batch(records);
    ASSERT_TRUE(first.ok()) << first.status().to_string();
    for (std::size_t i = 0; i < payloads.size(); ++i) acknowledged[*first + i] = payloads[i];
  }
}

bool in_damaged_range(const WalRecoveryReport& report, uint64_t index) {
  for (const WalDamagedRange& range : report.damaged) {
    if (index >= range.first_index && index <= range.last_index) return true;
    // Unknown count at the very end: nothing from first_index on is readable.
    if (range.last_index < range.first_index && index >= range.first_index) return true;
  }
  return false;
}

// Every acknowledged index the report does not declare lost reads back exactly as written.
void expect_no_wrong_bytes(WriteAheadLog& log, const Acknowledged& acknowledged) {
  const WalRecoveryReport& report = log.recovery_report();
  for (const auto& [index, payload] : acknowledged) {
    if (in_damaged_range(report, index)) {
      EXPECT_NE(log.read(index).status().code(), StatusCode::kOk) << "index " << index << " is reported damaged";
      continue;
    }
    if (index > log.last_index()) {
      // Only a dropped tail (indistinguishable from a torn write, and reported) may lose it.
      EXPECT_TRUE(report.torn_tail.has_value()) << "index " << index << " vanished: " << report.summary();
      continue;
    }
    Result<WalRecord> record = log.read(index);
    ASSERT_TRUE(record.ok()) << "index " << index << ": " << record.status().to_string() << "; " << report.summary();
    ASSERT_EQ(record->payload, payload) << "index " << index << ": wrong bytes";
  }
}

void damage_random_bytes(SingleMachine& machine, Random& random, const std::vector<WalSegmentInfo>& segments,
                         int count) {
  for (int i = 0; i < count; ++i) {
    const WalSegmentInfo& segment = segments[random.uniform(segments.size())];
    const uint64_t size = machine.durable_image(segment.path).size();
    if (size <= wal::kBlockSize) continue;
    // Past the segment header: a lost segment header is not something salvage claims to handle.
    const uint64_t offset = wal::kBlockSize + random.uniform(size - wal::kBlockSize);
    const std::byte damaged = machine.durable_image(segment.path)[offset] ^ static_cast<std::byte>(1 + random.uniform(255));
    machine.corrupt(segment.path, offset, std::span<const std::byte>(&damaged, 1));
  }
}

TEST(WalSalvage, RandomDamageNeverFailsASalvagingOpenNorYieldsWrongBytes) {
  const WalOptions options = salvaging(WalOptions{.max_segment_bytes = 8 * wal::kBlockSize});
  int salvaged_opens = 0;  // the loop must really exercise salvage, not only torn tails
  for (uint64_t seed = 1; seed <= 60; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    SingleMachine machine(seed);
    Random random(seed * 7919);
    Acknowledged acknowledged;
    std::vector<WalSegmentInfo> segments;
    ASSERT_TRUE(machine.run([&](Runtime& runtime) {
      auto log = open_or_fail(runtime, options);
      ASSERT_NE(log, nullptr);
      append_random(*log, random, acknowledged, 5 + static_cast<int>(random.uniform(30)));
      segments = log->segments();
    }));
    damage_random_bytes(machine, random, segments, 1 + static_cast<int>(random.uniform(3)));
    for (int reopen = 0; reopen < 2; ++reopen) {
      ASSERT_TRUE(machine.run([&](Runtime& runtime) {
        auto opened = WriteAheadLog::open_log(runtime, options);
        ASSERT_TRUE(opened.ok()) << opened.status().to_string();
        WriteAheadLog& log = **opened;
        if (!log.recovery_report().damaged.empty()) ++salvaged_opens;
        expect_no_wrong_bytes(log, acknowledged);
        // Appends continue after the last index and must survive the next reopen.
        for (auto it = acknowledged.begin(); it != acknowledged.end();) {
          it = it->first > log.last_index() ? acknowledged.erase(it) : std::next(it);
        }
        append_random(log, random, acknowledged, 2);
      }));
      if (::testing::Test::HasFatalFailure()) return;
    }
  }
  EXPECT_GE(salvaged_opens, 20);
  std::printf("salvaging opens that reported damage: %d\n", salvaged_opens);
}

}  // namespace
}  // namespace cairn
