// The write-ahead log on a simulated node (storage/wal/write_ahead_log.h):
//  - round trip of single and batched appends from many fibers, across a crash;
//  - group commit (many appenders share a sync);
//  - segment roll-over, remove_before and reopening after it;
//  - limits (bad input is INVALID_ARGUMENT and leaves the log working);
//  - sticky write/sync failures, and recovery after them (including after a failed fsync
//    without a crash, where the kernel shows data it never wrote);
//  - recovery: torn tails truncated and reported; damage to synced data refused as corruption
//    naming file and offset, with nothing truncated; read errors; torn segment creations;
//    missing and stray files; salted headers that a payload cannot forge;
//  - reads verify checksums; the same seed gives the same trace.
// Faults are either the simulated disk's (DISK_TORN_WRITE, DISK_SYNC_FAILURE, DISK_FULL) or
// damage written straight into a file's durable image, followed by a crash.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/runtime/event.h"
#include "core/runtime/fiber_scope.h"
#include "sim/sim_disk.h"
#include "storage/wal/wal_format.h"
#include "storage/wal/write_ahead_log.h"
#include "tests/sim/sim_harness.h"

namespace cairn {
namespace {

using sim::BootContext;
using sim::FaultPlan;
using sim::SimDisk;
using sim::SimInode;
using sim::SimNode;
using sim::testing::plan_with;
using sim::testing::World;

const std::string kFirstSegment = wal::segment_path("wal", 1);

// One simulated node whose disk holds the log. Test bodies run in fibers of the node; the node
// itself idles. The fault plan can be changed at any time (the node's disk reads it live).
class WalNode {
 public:
  explicit WalNode(uint64_t seed)
      : world_(seed, 1, [](Runtime&, const BootContext&) { Event().wait(); }, &faults_) {
    world_.start_all();
  }

  // Runs `body` in a fiber of the node until it returns.
  void run(std::function<void(Runtime&)> body) {
    auto finished = std::make_shared<bool>(false);
    node().spawn("test", [this, body = std::move(body), finished] {
      body(node());
      *finished = true;
    });
    const bool done = world_.simulator.run_until(world_.simulator.now() + seconds(3600).count(),
                                                 [&] { return *finished; });
    ASSERT_TRUE(done) << "the test fiber did not finish";
  }
  // Starts `body` in a fiber of the node without waiting for it.
  void start(std::function<void(Runtime&)> body) {
    node().spawn("test", [this, body = std::move(body)] { body(node()); });
  }
  // Runs the simulation until `condition` holds (checked after every event).
  bool run_until(const std::function<bool()>& condition) {
    return world_.simulator.run_until(world_.simulator.now() + seconds(3600).count(), condition);
  }
  void run_for(Duration duration) { world_.run_for(duration); }
  // Power loss and reboot: every fiber unwinds, and only what was synced survives (torn, under
  // DISK_TORN_WRITE).
  void crash_and_restart() {
    node().crash();
    node().start();
  }

  SimNode& node() { return world_.node(1); }
  SimDisk& disk() { return node().disk(); }
  FaultPlan& faults() { return faults_; }
  sim::Simulator& simulator() { return world_.simulator; }

 private:
  FaultPlan faults_;  // before world_, which keeps a pointer to it
  World world_;
};

std::vector<std::byte> test_payload(uint64_t tag, std::size_t size) {
  std::vector<std::byte> bytes(size);
  Random random(tag);
  for (std::byte& byte : bytes) byte = static_cast<std::byte>(random.next_u64());
  return bytes;
}

std::unique_ptr<WriteAheadLog> open_or_fail(Runtime& runtime, WalOptions options = {}) {
  auto log = WriteAheadLog::open_log(runtime, std::move(options));
  EXPECT_TRUE(log.ok()) << log.status().to_string();
  return log.ok() ? std::move(log).value() : nullptr;
}

void expect_record(WriteAheadLog& log, uint64_t index, uint8_t type, const std::vector<std::byte>& payload) {
  Result<WalRecord> record = log.read(index);
  ASSERT_TRUE(record.ok()) << "index " << index << ": " << record.status().to_string();
  EXPECT_EQ(record->index, index);
  EXPECT_EQ(record->type, type) << "index " << index;
  EXPECT_EQ(record->payload, payload) << "index " << index;
}

// Appends `count` records, one batch each, tagged 1..count with `size`-byte payloads.
void append_tagged(WriteAheadLog& log, uint64_t count, std::size_t size = 100) {
  for (uint64_t tag = 1; tag <= count; ++tag) {
    Result<uint64_t> index = log.append(kWalRecordEntry, test_payload(tag, size));
    ASSERT_TRUE(index.ok()) << index.status().to_string();
  }
}

std::shared_ptr<SimInode> inode_of(SimDisk& disk, std::string_view path) {
  auto inode = disk.open(path, OpenOptions::read());
  EXPECT_TRUE(inode.ok()) << inode.status().to_string();
  return inode.ok() ? *inode : std::make_shared<SimInode>();
}

// Silent damage on the medium: what a later crash and restart will read.
void flip_durable_byte(SimDisk& disk, std::string_view path, uint64_t offset) {
  auto inode = inode_of(disk, path);
  ASSERT_LT(offset, inode->durable.size());
  inode->durable[offset] ^= std::byte{0x20};
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// Offsets in a log whose batches each hold one record smaller than a block: batch b (1-based)
// starts at block b, its record header 40 bytes later, the payload 24 bytes after that.
constexpr uint64_t batch_offset(uint64_t batch) { return batch * wal::kBlockSize; }
constexpr uint64_t payload_offset(uint64_t batch) {
  return batch_offset(batch) + wal::kBatchHeaderSize + wal::kRecordHeaderSize;
}

// ---------------------------------------------------------------------------------------------
// Round trip and group commit

TEST(WalRoundTrip, ConcurrentSingleAndBatchedAppendsReadBackAfterACrash) {
  WalNode node(1);
  struct Written {
    uint8_t type;
    std::vector<std::byte> payload;
  };
  std::map<uint64_t, Written> written;
  node.run([&](Runtime& runtime) {
    auto log = open_or_fail(runtime);
    ASSERT_NE(log, nullptr);
    EXPECT_TRUE(log->recovery_report().created);
    FiberScope appenders(runtime.process());
    for (int fiber = 0; fiber < 8; ++fiber) {
      appenders.spawn("appender", [&, fiber] {
        for (int round = 0; round < 10; ++round) {
          const uint64_t tag = static_cast<uint64_t>(fiber * 1000 + round * 10);
          const std::size_t size = static_cast<std::size_t>((tag * 37) % 5000);
          if (round % 2 == 0) {
            auto payload = test_payload(tag, size);
            Result<uint64_t> index = log->append(kWalRecordHardState, payload);
            ASSERT_TRUE(index.ok()) << index.status().to_string();
            written[*index] = {kWalRecordHardState, std::move(payload)};
          } else {
            std::vector<std::vector<std::byte>> payloads;
            std::vector<WalRecordInput> batch;
            for (uint64_t i = 0; i < 3; ++i) payloads.push_back(test_payload(tag + i, size / (i + 1)));
            for (const auto& payload : payloads) batch.push_back({.type = kWalRecordEntry, .payload = payload});
            Result<uint64_t> first = log->append_batch(batch);
            ASSERT_TRUE(first.ok()) << first.status().to_string();
            for (uint64_t i = 0; i < 3; ++i) written[*first + i] = {kWalRecordEntry, payloads[i]};
          }
        }
      });
    }
    appenders.join();
    EXPECT_EQ(log->last_index(), 8u * (5 + 5 * 3));
    for (const auto& [index, record] : written) expect_record(*log, index, record.type, record.payload);
  });
  ASSERT_EQ(written.size(), 8u * (5 + 5 * 3));
  EXPECT_EQ(written.begin()->first, 1u);
  EXPECT_EQ(written.rbegin()->first, written.size()) << "indexes are consecutive from 1";

  node.crash_and_restart();
  node.run([&](Runtime& runtime) {
    auto log = open_or_fail(runtime);
    ASSERT_NE(log, nullptr);
    const WalRecoveryReport& report = log->recovery_report();
    EXPECT_FALSE(report.created);
    EXPECT_FALSE(report.torn_tail.has_value()) << report.summary();
    EXPECT_EQ(report.records, written.size());
    EXPECT_EQ(log->first_index(), 1u);
    EXPECT_EQ(log->last_index(), written.size());
    for (const auto& [index, record] : written) expect_record(*log, index, record.type, record.payload);
    EXPECT_EQ(log->read(0).status().code(), StatusCode::kOutOfRange);
    EXPECT_EQ(log->read(written.size() + 1).status().code(), StatusCode::kOutOfRange);
  });
}

TEST(WalGroupCommit, FiftyConcurrentAppendersShareAFewSyncs) {
  WalNode node(2);
  WalCounters counters;
  std::vector<uint64_t> indexes;
  node.run([&](Runtime& runtime) {
    auto log = open_or_fail(runtime);
    ASSERT_NE(log, nullptr);
    FiberScope appenders(runtime.process());
    for (uint64_t i = 0; i < 50; ++i) {
      appenders.spawn("appender", [&, i] {
        Result<uint64_t> index = log->append(kWalRecordEntry, test_payload(i, 200));
        ASSERT_TRUE(index.ok()) << index.status().to_string();
        indexes.push_back(*index);
      });
    }
    appenders.join();
    counters = log->counters();
  });
  std::sort(indexes.begin(), indexes.end());
  ASSERT_EQ(indexes.size(), 50u);
  EXPECT_EQ(indexes.front(), 1u);
  EXPECT_EQ(indexes.back(), 50u);
  EXPECT_EQ(std::adjacent_find(indexes.begin(), indexes.end()), indexes.end()) << "no index given twice";
  EXPECT_EQ(counters.records_written, 50u);
  EXPECT_EQ(counters.syncs, counters.batches_written) << "one sync per batch when no segment rolls over";
  EXPECT_LT(counters.batches_written, 10u) << "appends that arrive while a batch syncs must share the next one";
  std::printf("[ info ] 50 concurrent appends: %llu batches, %llu syncs (%.1f records per sync)\n",
              static_cast<unsigned long long>(counters.batches_written),
              static_cast<unsigned long long>(counters.syncs),
              static_cast<double>(counters.records_written) / static_cast<double>(counters.syncs));
}

// ---------------------------------------------------------------------------------------------
// Segments and compaction

WalOptions small_segments() {
  // A header block and two one-block batches per segment.
  return WalOptions{.max_segment_bytes = 3 * wal::kBlockSize};
}

TEST(WalSegments, RollOverWhenTheNextBatchWouldExceedMaxSegmentBytes) {
  WalNode node(3);
  node.run([&](Runtime& runtime) {
    auto log = open_or_fail(runtime, small_segments());
    ASSERT_NE(log, nullptr);
    append_tagged(*log, 10);
    std::vector<WalSegmentInfo> segments = log->segments();
    ASSERT_EQ(segments.size(), 5u);
    for (std::size_t i = 0; i < segments.size(); ++i) {
      EXPECT_EQ(segments[i].first_index, 1 + 2 * i);
      EXPECT_EQ(segments[i].path, wal::segment_path("wal", 1 + 2 * i));
      EXPECT_EQ(segments[i].record_count, 2u);
      EXPECT_LE(segments[i].bytes, small_segments().max_segment_bytes);
    }
    // A record bigger than a segment gets a segment of its own.
    const auto big = test_payload(99, 5 * wal::kBlockSize);
    Result<uint64_t> index = log->append(kWalRecordEntry, big);
    ASSERT_TRUE(index.ok()) << index.status().to_string();
    segments = log->segments();
    ASSERT_EQ(segments.size(), 6u);
    EXPECT_EQ(segments.back().first_index, 11u);
    EXPECT_EQ(segments.back().record_count, 1u);
    EXPECT_EQ(log->counters().segments_created, 5u);
    expect_record(*log, 11, kWalRecordEntry, big);
    for (uint64_t tag = 1; tag <= 10; ++tag) expect_record(*log, tag, kWalRecordEntry, test_payload(tag, 100));
  });
  auto listing = node.disk().list("wal");
  ASSERT_TRUE(listing.ok());
  EXPECT_EQ(listing->size(), 6u);
}

TEST(WalSegments, RemoveBeforeDeletesOnlyWholeSegmentsBelowThePointAndSurvivesReopen) {
  WalNode node(4);
  node.run([&](Runtime& runtime) {
    auto log = open_or_fail(runtime, small_segments());
    ASSERT_NE(log, nullptr);
    append_tagged(*log, 10);  // segments [1,2] [3,4] [5,6] [7,8] [9,10]
    ASSERT_TRUE(log->remove_before(6).ok());
    EXPECT_EQ(log->first_index(), 5u) << "segment [5,6] holds 6, which is not below 6";
    EXPECT_EQ(log->read(4).status().code(), StatusCode::kOutOfRange);
    EXPECT_EQ(log->read(1).status().code(), StatusCode::kOutOfRange);
    expect_record(*log, 5, kWalRecordEntry, test_payload(5, 100));
    ASSERT_TRUE(log->remove_before(6).ok());
    EXPECT_EQ(log->first_index(), 5u) << "removing again changes nothing";
    ASSERT_TRUE(log->remove_before(1000).ok());
    EXPECT_EQ(log->first_index(), 9u) << "the last segment is never removed";
    EXPECT_EQ(log->last_index(), 10u);
    EXPECT_EQ(log->counters().segments_removed, 4u);
  });
  node.crash_and_restart();  // the removals were synced: they must not come back
  auto listing = node.disk().list("wal");
  ASSERT_TRUE(listing.ok());
  EXPECT_EQ(*listing, std::vector<std::string>{wal::segment_file_name(9)});
  node.run([&](Runtime& runtime) {
    auto log = open_or_fail(runtime, small_segments());
    ASSERT_NE(log, nullptr);
    EXPECT_EQ(log->first_index(), 9u);
    EXPECT_EQ(log->last_index(), 10u);
    EXPECT_EQ(log->read(8).status().code(), StatusCode::kOutOfRange);
    expect_record(*log, 9, kWalRecordEntry, test_payload(9, 100));
    expect_record(*log, 10, kWalRecordEntry, test_payload(10, 100));
    Result<uint64_t> next = log->append(kWalRecordEntry, test_payload(11, 100));
    ASSERT_TRUE(next.ok());
    EXPECT_EQ(*next, 11u);
  });
}

TEST(WalSegments, ANewLogStartsAtTheGivenIndex) {
  WalNode node(5);
  node.run([&](Runtime& runtime) {
    auto log = WriteAheadLog::open_log(runtime, {}, 500);
    ASSERT_TRUE(log.ok());
    EXPECT_EQ((*log)->first_index(), 500u);
    EXPECT_EQ((*log)->last_index(), 499u);
    EXPECT_EQ((*log)->read(499).status().code(), StatusCode::kOutOfRange);
    Result<uint64_t> index = (*log)->append(kWalRecordSnapshotMarker, test_payload(1, 10));
    ASSERT_TRUE(index.ok());
    EXPECT_EQ(*index, 500u);
  });
  EXPECT_TRUE(node.disk().exists(wal::segment_path("wal", 500)).value());
}

// ---------------------------------------------------------------------------------------------
// Limits

TEST(WalLimits, BadInputIsInvalidArgumentAndLeavesTheLogWorking) {
  WalNode node(6);
  node.run([&](Runtime& runtime) {
    const WalOptions options{.max_record_bytes = 1000, .max_pending_records = 4, .max_pending_bytes = 4000};
    auto log = open_or_fail(runtime, options);
    ASSERT_NE(log, nullptr);
    const auto ok_payload = test_payload(1, 1000);
    const auto too_big = test_payload(2, 1001);
    EXPECT_EQ(log->append(0, ok_payload).status().code(), StatusCode::kInvalidArgument) << "type 0";
    EXPECT_EQ(log->append(kWalRecordEntry, too_big).status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(log->append_batch({}).status().code(), StatusCode::kInvalidArgument) << "empty batch";
    const std::vector<WalRecordInput> five(5, WalRecordInput{.payload = ok_payload});
    EXPECT_EQ(log->append_batch(five).status().code(), StatusCode::kInvalidArgument) << "more than the queue holds";
    const std::vector<WalRecordInput> mixed = {{.payload = ok_payload}, {.type = 0, .payload = ok_payload}};
    EXPECT_EQ(log->append_batch(mixed).status().code(), StatusCode::kInvalidArgument) << "all or nothing";
    const std::vector<WalRecordInput> four(4, WalRecordInput{.payload = ok_payload});
    EXPECT_EQ(log->append_batch(four).status().code(), StatusCode::kInvalidArgument) << "4 x 1024 bytes > 4000";
    EXPECT_TRUE(log->failed_status().ok());
    EXPECT_EQ(log->last_index(), 0u) << "nothing was appended";
    Result<uint64_t> index = log->append(kWalRecordEntry, ok_payload);
    ASSERT_TRUE(index.ok()) << index.status().to_string();
    EXPECT_EQ(*index, 1u);
  });
}

TEST(WalLimits, BadOptionsAreInvalidArgument) {
  WalNode node(7);
  node.run([&](Runtime& runtime) {
    auto expect_invalid = [&](WalOptions options, uint64_t first_index = 1) {
      auto log = WriteAheadLog::open_log(runtime, std::move(options), first_index);
      EXPECT_EQ(log.status().code(), StatusCode::kInvalidArgument) << log.status().to_string();
    };
    expect_invalid({.max_segment_bytes = wal::kBlockSize});
    expect_invalid({.max_record_bytes = 0});
    expect_invalid({.max_record_bytes = limits::kWalRecordBytesMax + 1});
    expect_invalid({.max_record_bytes = 1000, .max_pending_bytes = 1000});
    expect_invalid({.max_pending_records = 0});
    expect_invalid({.directory = "../wal"});
    expect_invalid({.directory = ""});
    expect_invalid({}, 0);
  });
  EXPECT_FALSE(node.disk().exists("wal").value()) << "nothing was created for invalid options";
}

// ---------------------------------------------------------------------------------------------
// Sticky failures

TEST(WalStickyFailure, AFailedSyncFailsEveryQueuedAndLaterAppendWithoutTouchingTheDisk) {
  WalNode node(8);
  node.run([&](Runtime& runtime) {
    auto log = open_or_fail(runtime);
    ASSERT_NE(log, nullptr);
    append_tagged(*log, 3);
    node.faults() = plan_with(proto::DISK_SYNC_FAILURE, 1.0);
    // Five appenders at once: one batch fails, and so does everything queued behind it.
    std::vector<Status> failures;
    FiberScope appenders(runtime.process());
    for (uint64_t i = 0; i < 5; ++i) {
      appenders.spawn("appender", [&, i] { failures.push_back(log->append(kWalRecordEntry, test_payload(10 + i, 100)).status()); });
    }
    appenders.join();
    ASSERT_EQ(failures.size(), 5u);
    EXPECT_EQ(failures[0].code(), StatusCode::kIoError) << failures[0].to_string();
    for (const Status& failure : failures) EXPECT_EQ(failure, failures[0]) << "every pending append gets the same error";
    EXPECT_EQ(log->failed_status(), failures[0]);

    node.faults() = FaultPlan{};  // the disk is healthy again, but the log stays failed
    const uint64_t trace_events = node.simulator().trace().events();
    const WalCounters counters = log->counters();
    EXPECT_EQ(log->append(kWalRecordEntry, test_payload(20, 100)).status(), failures[0]);
    const std::vector<WalRecordInput> batch(2, WalRecordInput{.payload = test_payload(21, 10)});
    EXPECT_EQ(log->append_batch(batch).status(), failures[0]);
    EXPECT_EQ(log->remove_before(2), failures[0]);
    EXPECT_EQ(node.simulator().trace().events(), trace_events) << "a failed log must not touch the disk";
    EXPECT_EQ(log->counters().batches_written, counters.batches_written);
    EXPECT_EQ(log->last_index(), 3u);
    for (uint64_t tag = 1; tag <= 3; ++tag) expect_record(*log, tag, kWalRecordEntry, test_payload(tag, 100));
  });
  node.crash_and_restart();
  node.run([&](Runtime& runtime) {
    auto log = open_or_fail(runtime);
    ASSERT_NE(log, nullptr);
    EXPECT_TRUE(log->failed_status().ok()) << "reopening clears the failure";
    ASSERT_EQ(log->last_index(), 3u) << "the failed batch never reached the medium";
    for (uint64_t tag = 1; tag <= 3; ++tag) expect_record(*log, tag, kWalRecordEntry, test_payload(tag, 100));
    Result<uint64_t> index = log->append(kWalRecordEntry, test_payload(4, 100));
    ASSERT_TRUE(index.ok()) << index.status().to_string();
    EXPECT_EQ(*index, 4u);
  });
}

// After a failed fsync, Linux keeps showing the unwritten data but marks it clean, so a plain
// fsync at reopen would not persist it. Recovery must write it again before a new batch's
// durable_through vouches for it; otherwise the next crash turns it into "corruption".
TEST(WalStickyFailure, ReopenWithoutACrashAfterAFailedSyncMakesTheVisibleTailDurable) {
  WalNode node(9);
  node.run([&](Runtime& runtime) {
    auto log = open_or_fail(runtime);
    ASSERT_NE(log, nullptr);
    append_tagged(*log, 3);
    node.faults() = plan_with(proto::DISK_SYNC_FAILURE, 1.0);
    EXPECT_EQ(log->append(kWalRecordEntry, test_payload(4, 100)).status().code(), StatusCode::kIoError);
    node.faults() = FaultPlan{};
    log.reset();  // the process lives on: the page cache still shows record 4
    log = open_or_fail(runtime);
    ASSERT_NE(log, nullptr);
    ASSERT_EQ(log->last_index(), 4u) << "the unacknowledged record is visible as a whole record at the tail";
    expect_record(*log, 4, kWalRecordEntry, test_payload(4, 100));
    Result<uint64_t> index = log->append(kWalRecordEntry, test_payload(5, 100));
    ASSERT_TRUE(index.ok());
    EXPECT_EQ(*index, 5u);
  });
  node.crash_and_restart();
  node.run([&](Runtime& runtime) {
    auto log = open_or_fail(runtime);
    ASSERT_NE(log, nullptr);
    EXPECT_EQ(log->last_index(), 5u);
    for (uint64_t tag = 1; tag <= 5; ++tag) expect_record(*log, tag, kWalRecordEntry, test_payload(tag, 100));
  });
}

TEST(WalStickyFailure, NoSpaceIsSticky) {
  WalNode node(10);
  node.run([&](Runtime& runtime) {
    auto log = open_or_fail(runtime);
    ASSERT_NE(log, nullptr);
    append_tagged(*log, 2);
    node.faults() = plan_with(proto::DISK_FULL, 1.0);
    const Status failure = log->append(kWalRecordEntry, test_payload(3, 100)).status();
    EXPECT_EQ(failure.code(), StatusCode::kNoSpace) << failure.to_string();
    node.faults() = FaultPlan{};
    EXPECT_EQ(log->append(kWalRecordEntry, test_payload(3, 100)).status(), failure);
    EXPECT_EQ(log->failed_status(), failure);
  });
}

// ---------------------------------------------------------------------------------------------
// Recovery

// Crashes while a big one-record batch is written but not yet synced, with torn writes: each of
// its sectors survives or not. Whatever survived, every acknowledged record must be there, the
// big record whole or absent, a torn tail truncated and reported, and appends must continue.
// Seeds are tried until two of them produced a torn tail (the file's new size survived but
// some sectors did not); when the old size survived, the tail is simply gone.
TEST(WalRecovery, TornTailIsTruncatedReportedAndAppendsContinue) {
  int torn_tails_seen = 0;
  for (uint64_t seed = 1; seed <= 16 && torn_tails_seen < 2; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    WalNode node(seed);
    node.faults() = plan_with(proto::DISK_TORN_WRITE, 0.5);
    const auto big = test_payload(100, 40 * 512);  // 40 sectors: a crash keeps a random subset
    bool acknowledged_five = false;
    bool big_acknowledged = false;
    uint64_t last_before_crash = 0;
    node.start([&](Runtime& runtime) {
      auto log = open_or_fail(runtime);
      ASSERT_NE(log, nullptr);
      append_tagged(*log, 5);
      acknowledged_five = true;
      big_acknowledged = log->append(kWalRecordEntry, big).ok();
    });
    // Crash once the big batch is written and before its sync returns.
    const bool written = node.run_until([&] {
      return acknowledged_five && !inode_of(node.disk(), kFirstSegment)->dirty.empty();
    });
    ASSERT_TRUE(written);
    ASSERT_FALSE(big_acknowledged);
    node.crash_and_restart();
    node.run([&](Runtime& runtime) {
      auto log = open_or_fail(runtime);
      ASSERT_NE(log, nullptr);
      const WalRecoveryReport& report = log->recovery_report();
      for (uint64_t tag = 1; tag <= 5; ++tag) expect_record(*log, tag, kWalRecordEntry, test_payload(tag, 100));
      if (log->last_index() == 6) {
        expect_record(*log, 6, kWalRecordEntry, big);  // every sector survived: whole, or not at all
      } else {
        EXPECT_EQ(log->last_index(), 5u);
      }
      if (report.torn_tail) {
        ++torn_tails_seen;
        EXPECT_EQ(log->last_index(), 5u);
        EXPECT_EQ(report.torn_tail->segment_path, kFirstSegment);
        EXPECT_EQ(report.torn_tail->offset, batch_offset(6));
        EXPECT_GT(report.torn_tail->bytes_dropped, 0u);
        EXPECT_TRUE(contains(report.summary(), "torn tail")) << report.summary();
        EXPECT_EQ(inode_of(node.disk(), kFirstSegment)->durable.size(), batch_offset(6))
            << "truncated, and the truncation synced";
      }
      Result<uint64_t> next = log->append(kWalRecordEntry, test_payload(7, 100));
      ASSERT_TRUE(next.ok()) << next.status().to_string();
      EXPECT_EQ(*next, log->last_index());
      last_before_crash = *next;
    });
    node.faults() = FaultPlan{};
    node.crash_and_restart();
    node.run([&](Runtime& runtime) {
      auto log = open_or_fail(runtime);
      ASSERT_NE(log, nullptr);
      EXPECT_EQ(log->last_index(), last_before_crash);
      EXPECT_FALSE(log->recovery_report().torn_tail.has_value()) << log->recovery_report().summary();
      expect_record(*log, last_before_crash, kWalRecordEntry, test_payload(7, 100));
    });
  }
  EXPECT_GE(torn_tails_seen, 1) << "no seed produced a torn tail: the test did not test anything";
}

TEST(WalRecovery, DamageToASyncedBatchThatLaterBatchesVouchForIsCorruptionAndNothingIsTruncated) {
  WalNode node(11);
  node.run([&](Runtime& runtime) {
    auto log = open_or_fail(runtime);
    ASSERT_NE(log, nullptr);
    append_tagged(*log, 3);
  });
  flip_durable_byte(node.disk(), kFirstSegment, payload_offset(1) + 5);
  const std::vector<std::byte> damaged = *node.disk().durable_image(kFirstSegment);
  node.crash_and_restart();
  node.run([&](Runtime& runtime) {
    auto log = WriteAheadLog::open_log(runtime, {});
    ASSERT_EQ(log.status().code(), StatusCode::kCorruption) << log.status().to_string();
    const std::string& message = log.status().message();
    EXPECT_TRUE(contains(message, kFirstSegment)) << message;
    EXPECT_TRUE(contains(message, "offset " + std::to_string(batch_offset(1)))) << message;
    EXPECT_TRUE(contains(message, "index 1")) << message;
    EXPECT_TRUE(contains(message, "checksum")) << message;
  });
  EXPECT_EQ(*node.disk().durable_image(kFirstSegment), damaged) << "recovery must not truncate or rewrite";
}

TEST(WalRecovery, DamageAnywhereInASealedSegmentIsCorruption) {
  WalNode node(12);
  node.run([&](Runtime& runtime) {
    auto log = open_or_fail(runtime, small_segments());
    ASSERT_NE(log, nullptr);
    append_tagged(*log, 6);  // segments [1,2] [3,4] [5,6]
  });
  // Record 2 is the last batch of its segment: only the next segment's existence vouches for it.
  flip_durable_byte(node.disk(), kFirstSegment, payload_offset(2) + 50);
  const std::vector<std::byte> damaged = *node.disk().durable_image(kFirstSegment);
  node.crash_and_restart();
  node.run([&](Runtime& runtime) {
    auto log = WriteAheadLog::open_log(runtime, small_segments());
    ASSERT_EQ(log.status().code(), StatusCode::kCorruption) << log.status().to_string();
    const std::string& message = log.status().message();
    EXPECT_TRUE(contains(message, kFirstSegment)) << message;
    EXPECT_TRUE(contains(message, "offset " + std::to_string(batch_offset(2)))) << message;
    EXPECT_TRUE(contains(message, "sealed")) << message;
  });
  EXPECT_EQ(*node.disk().durable_image(kFirstSegment), damaged);
}

TEST(WalRecovery, InvalidHeaderOfASealedSegmentIsCorruption) {
  WalNode node(13);
  node.run([&](Runtime& runtime) { append_tagged(*open_or_fail(runtime, small_segments()), 4); });
  flip_durable_byte(node.disk(), kFirstSegment, 20);  // inside the first index field
  node.crash_and_restart();
  node.run([&](Runtime& runtime) {
    auto log = WriteAheadLog::open_log(runtime, small_segments());
    ASSERT_EQ(log.status().code(), StatusCode::kCorruption) << log.status().to_string();
    EXPECT_TRUE(contains(log.status().message(), kFirstSegment + " at offset 0")) << log.status().message();
  });
  EXPECT_TRUE(node.disk().exists(kFirstSegment).value());
}

// The documented limit of what recovery can tell: damage to the LAST synced batch, with nothing
// written after it, looks exactly like a torn tail. It is dropped and reported.
TEST(WalRecovery, DamagedLastBatchWithNothingAfterItIsDroppedAndReported) {
  WalNode node(14);
  node.run([&](Runtime& runtime) { append_tagged(*open_or_fail(runtime), 3); });
  flip_durable_byte(node.disk(), kFirstSegment, payload_offset(3));
  node.crash_and_restart();
  node.run([&](Runtime& runtime) {
    auto log = open_or_fail(runtime);
    ASSERT_NE(log, nullptr);
    EXPECT_EQ(log->last_index(), 2u);
    const WalRecoveryReport& report = log->recovery_report();
    ASSERT_TRUE(report.torn_tail.has_value());
    EXPECT_EQ(report.torn_tail->offset, batch_offset(3));
    EXPECT_EQ(report.torn_tail->bytes_dropped, wal::kBlockSize);
    EXPECT_FALSE(report.torn_tail->all_zero);
    EXPECT_TRUE(contains(report.torn_tail->reason, "record 3")) << report.torn_tail->reason;
  });
}

// A later block-aligned batch header only vouches for damaged data if it validates under the
// segment's salt. A payload that carries a header (here: at a block boundary of the file, where
// the search looks) cannot vouch unless whoever wrote it knew the salt.
TEST(WalRecovery, AHeaderForgedInsideAPayloadCannotVouchWithoutTheSalt) {
  for (const bool knows_salt : {false, true}) {
    SCOPED_TRACE(knows_salt ? "forger knows the salt" : "forger guesses the salt");
    WalNode node(15);
    node.run([&](Runtime& runtime) {
      auto log = open_or_fail(runtime);
      ASSERT_NE(log, nullptr);
      append_tagged(*log, 1);
      const auto header_block = *node.disk().durable_image(kFirstSegment);
      const uint64_t salt = wal::decode_segment_header(header_block).value().salt;
      // Record 2's payload starts at payload_offset(2); put a header where the file's next block
      // begins, claiming that everything through index 1000 was durable.
      std::vector<std::byte> payload = test_payload(2, 3 * wal::kBlockSize);
      const uint64_t at = batch_offset(3) - payload_offset(2);
      wal::encode_batch_header({.record_count = 1, .first_index = 900, .records_length = 100, .durable_through = 1000},
                               knows_salt ? salt : salt + 1,
                               std::span<std::byte, wal::kBatchHeaderSize>(payload.data() + at,
                                                                           wal::kBatchHeaderSize));
      ASSERT_TRUE(log->append(kWalRecordEntry, payload).ok());
    });
    // Damage record 2's batch header: it is the last batch, so without a voucher this is a tail.
    flip_durable_byte(node.disk(), kFirstSegment, batch_offset(2) + 10);
    node.crash_and_restart();
    node.run([&](Runtime& runtime) {
      auto log = WriteAheadLog::open_log(runtime, {});
      if (knows_salt) {
        EXPECT_EQ(log.status().code(), StatusCode::kCorruption) << "control: a valid header does vouch";
      } else {
        ASSERT_TRUE(log.ok()) << log.status().to_string();
        EXPECT_EQ((*log)->last_index(), 1u);
        ASSERT_TRUE((*log)->recovery_report().torn_tail.has_value());
        EXPECT_EQ((*log)->recovery_report().torn_tail->offset, batch_offset(2));
      }
    });
  }
}

TEST(WalRecovery, AReadErrorIsReportedWithFileAndOffsetAndNothingIsTruncated) {
  WalNode node(16);
  node.run([&](Runtime& runtime) { append_tagged(*open_or_fail(runtime), 3); });
  node.crash_and_restart();
  const std::vector<std::byte> before = *node.disk().durable_image(kFirstSegment);
  auto inode = inode_of(node.disk(), kFirstSegment);
  inode->bad_sectors.insert(batch_offset(2) / node.disk().sector_size());  // a latent sector error
  node.run([&](Runtime& runtime) {
    auto log = WriteAheadLog::open_log(runtime, {});
    ASSERT_EQ(log.status().code(), StatusCode::kIoError) << log.status().to_string();
    EXPECT_TRUE(contains(log.status().message(), kFirstSegment + " at offset " + std::to_string(batch_offset(2))))
        << log.status().message();
  });
  EXPECT_EQ(*node.disk().durable_image(kFirstSegment), before);
  EXPECT_EQ(inode->current, before) << "not even the cache was changed";
  inode->bad_sectors.clear();  // the drive remapped it
  node.run([&](Runtime& runtime) {
    auto log = open_or_fail(runtime);
    ASSERT_NE(log, nullptr);
    EXPECT_EQ(log->last_index(), 3u);
  });
}

TEST(WalRecovery, ATornSegmentCreationIsRemovedAndReported) {
  struct Case {
    const char* name;
    std::size_t size;
    bool data_after_header;
  };
  for (const Case& torn : {Case{"empty file", 0, false}, Case{"shorter than a block", 700, false},
                           Case{"zero header block", wal::kBlockSize, false},
                           Case{"zero header, zero tail", 3 * wal::kBlockSize, false}}) {
    SCOPED_TRACE(torn.name);
    WalNode node(17);
    node.run([&](Runtime& runtime) { append_tagged(*open_or_fail(runtime), 2); });
    const std::string next = wal::segment_path("wal", 3);
    auto file = node.disk().open(next, OpenOptions::create_new());
    ASSERT_TRUE(file.ok());
    if (torn.size > 0) {
      ASSERT_TRUE(node.disk().write(**file, next, 0, std::vector<std::byte>(torn.size)).ok());
    }
    ASSERT_TRUE(node.disk().sync(**file, next).ok());
    ASSERT_TRUE(node.disk().sync_directory("wal").ok());
    node.crash_and_restart();
    node.run([&](Runtime& runtime) {
      auto log = open_or_fail(runtime);
      ASSERT_NE(log, nullptr);
      EXPECT_EQ(log->recovery_report().removed_torn_segments, std::vector<std::string>{next});
      EXPECT_EQ(log->last_index(), 2u);
      Result<uint64_t> index = log->append(kWalRecordEntry, test_payload(3, 100));
      ASSERT_TRUE(index.ok());
      EXPECT_EQ(*index, 3u);
    });
    node.crash_and_restart();
    EXPECT_FALSE(node.disk().exists(next).value()) << "the removal was made durable";
  }
}

TEST(WalRecovery, AnInvalidLastHeaderWithDataAfterItIsCorruptionNotATornCreation) {
  WalNode node(18);
  node.run([&](Runtime& runtime) { append_tagged(*open_or_fail(runtime, small_segments()), 3); });
  const std::string last = wal::segment_path("wal", 3);
  flip_durable_byte(node.disk(), last, 0);  // the magic; record 3's batch follows in block 1
  node.crash_and_restart();
  node.run([&](Runtime& runtime) {
    auto log = WriteAheadLog::open_log(runtime, small_segments());
    ASSERT_EQ(log.status().code(), StatusCode::kCorruption) << log.status().to_string();
    EXPECT_TRUE(contains(log.status().message(), last)) << log.status().message();
  });
  EXPECT_TRUE(node.disk().exists(last).value());
}

TEST(WalRecovery, AMissingMiddleSegmentOrAStrayFileIsCorruption) {
  WalNode node(19);
  node.run([&](Runtime& runtime) { append_tagged(*open_or_fail(runtime, small_segments()), 6); });
  ASSERT_TRUE(node.disk().remove(wal::segment_path("wal", 3)).ok());
  ASSERT_TRUE(node.disk().sync_directory("wal").ok());
  node.crash_and_restart();
  node.run([&](Runtime& runtime) {
    auto log = WriteAheadLog::open_log(runtime, small_segments());
    ASSERT_EQ(log.status().code(), StatusCode::kCorruption) << log.status().to_string();
    EXPECT_TRUE(contains(log.status().message(), wal::segment_path("wal", 5))) << log.status().message();
    EXPECT_TRUE(contains(log.status().message(), "missing")) << log.status().message();
  });

  WalNode other(20);
  other.run([&](Runtime& runtime) { append_tagged(*open_or_fail(runtime), 1); });
  ASSERT_TRUE(other.disk().open("wal/notes.txt", OpenOptions::create_new()).ok());
  other.run([&](Runtime& runtime) {
    auto log = WriteAheadLog::open_log(runtime, {});
    ASSERT_EQ(log.status().code(), StatusCode::kCorruption) << log.status().to_string();
    EXPECT_TRUE(contains(log.status().message(), "notes.txt")) << log.status().message();
  });
}

// ---------------------------------------------------------------------------------------------
// Reads and determinism

TEST(WalRead, EveryReadVerifiesTheChecksum) {
  WalNode node(21);
  node.run([&](Runtime& runtime) {
    auto log = open_or_fail(runtime);
    ASSERT_NE(log, nullptr);
    append_tagged(*log, 3);
    expect_record(*log, 2, kWalRecordEntry, test_payload(2, 100));
    // Damage in the page cache after the append: the next read must notice.
    inode_of(node.disk(), kFirstSegment)->current[payload_offset(2) + 7] ^= std::byte{1};
    Result<WalRecord> record = log->read(2);
    ASSERT_EQ(record.status().code(), StatusCode::kCorruption) << record.status().to_string();
    EXPECT_TRUE(contains(record.status().message(),
                         kFirstSegment + " at offset " + std::to_string(batch_offset(2) + wal::kBatchHeaderSize)))
        << record.status().message();
    expect_record(*log, 1, kWalRecordEntry, test_payload(1, 100));
    expect_record(*log, 3, kWalRecordEntry, test_payload(3, 100));
    EXPECT_TRUE(log->failed_status().ok()) << "a bad read does not fail the log";
  });
}

// Appends from 20 fibers, a crash with torn writes in the middle, a reopen and more appends:
// the trace hash (every disk operation, timer and fault) of one seed.
uint64_t trace_hash_of_a_crashing_run(uint64_t seed) {
  WalNode node(seed);
  node.faults() = plan_with(proto::DISK_TORN_WRITE, 0.5);
  node.start([&](Runtime& runtime) {
    auto log = open_or_fail(runtime, small_segments());
    ASSERT_NE(log, nullptr);
    FiberScope appenders(runtime.process());
    for (int i = 0; i < 20; ++i) {
      appenders.spawn("appender", [&] {
        for (int round = 0; round < 3; ++round) {
          const uint64_t size = runtime.random().uniform(3000);
          if (!log->append(kWalRecordEntry, test_payload(size, size)).ok()) return;
        }
      });
    }
    appenders.join();
  });
  node.run_for(milliseconds(3));
  node.crash_and_restart();
  node.run([&](Runtime& runtime) {
    auto log = open_or_fail(runtime, small_segments());
    ASSERT_NE(log, nullptr);
    for (uint64_t index = log->first_index(); index <= log->last_index(); ++index) {
      EXPECT_TRUE(log->read(index).ok());
    }
    append_tagged(*log, 5);
  });
  return node.simulator().trace().hash();
}

TEST(WalDeterminism, TheSameSeedGivesTheSameTraceHash) {
  const uint64_t first = trace_hash_of_a_crashing_run(7);
  EXPECT_EQ(first, trace_hash_of_a_crashing_run(7));
  EXPECT_NE(first, trace_hash_of_a_crashing_run(8));
}

}  // namespace
}  // namespace cairn
