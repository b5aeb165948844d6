// The write-ahead log's read-back of its own writes (WalOptions::verify_writes), on a simulated
// node whose disk really corrupts data (DISK_BIT_FLIP, DISK_MISDIRECTED_WRITE, DISK_READ_ERROR,
// aimed at "wal/"):
//  - a batch that does not read back as written fails its append (CORRUPTION naming file and
//    offset; IO_ERROR if it cannot be read), stickily, and is never acknowledged; after a reopen,
//    with or without a crash, every acknowledged record is intact, or the damage a misdirected
//    write did elsewhere is reported as CORRUPTION, never truncated as a torn tail;
//  - the same faults with verify_writes off acknowledge a record that the next open loses: what
//    the read-back prevents;
//  - a new segment's header and recovery's rewrite of the tail are read back too;
//  - no false alarms over thousands of appends;
//  - a RapidCheck property: random appends, crashes and reopens under random bit flips or
//    misdirected writes never lose an acknowledged record silently.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "core/runtime/event.h"
#include "core/runtime/fiber_scope.h"
#include "sim/fault_plan.h"
#include "sim/sim_disk.h"
#include "sim/sim_node.h"
#include "sim/simulator.h"
#include "storage/wal/wal_format.h"
#include "storage/wal/write_ahead_log.h"
#include "tests/sim/sim_harness.h"
#include "tests/storage/wal_tagged_records.h"
#include "tests/support/reaching_property.h"

namespace cairn {
namespace {

using namespace wal_testing;

using sim::BootContext;
using sim::FaultPlan;
using sim::SimDisk;
using sim::SimInode;

const std::string kFirstSegment = wal::segment_path("wal", 1);

// A payload that makes its batch exactly one block: no padding, so that every bit a fault can
// flip in the batch is one that recovery checks.
// With one full-block record per batch, batch b (1-based) is block b of the first segment.
constexpr uint64_t batch_offset(uint64_t batch) { return batch * wal::kBlockSize; }

// A corrupting disk fault, at `rate` per operation, on the log's files only.
FaultPlan aimed_at_wal(proto::FaultKind kind, double rate) {
  proto::FaultProfile profile;
  proto::Fault* fault = profile.add_faults();
  fault->set_kind(kind);
  fault->mutable_rate()->set_min(rate);
  fault->mutable_rate()->set_max(rate);
  fault->set_target_path("wal/");
  Random random(1);
  return FaultPlan::choose(profile, {1}, random);
}

// One simulated node whose disk applies corrupting faults (unlike wal_log_test.cc's). Test bodies
// run in fibers of the node; the node itself idles. The fault plan is read live by the disk.
class CorruptibleWalNode {
 public:
  explicit CorruptibleWalNode(uint64_t seed) : simulator_(seed) {
    simulator_.install_network(
        std::make_unique<sim::SimNetwork>(simulator_, sim::testing::fixed_latency_network(1), nullptr));
    sim::SimNodeOptions options{.id = 1,
                                .region = "r",
                                .disk = sim::testing::fast_disk(),
                                .corruptible_disk = true,
                                .faults = &faults_};
    node_ = &simulator_.add_node(
        std::make_unique<sim::SimNode>(simulator_, options, [](Runtime&, const BootContext&) { Event().wait(); }));
    node_->start();
  }

  // Runs `body` in a fiber of the node until it returns.
  void run(std::function<void(Runtime&)> body) {
    auto finished = std::make_shared<bool>(false);
    start([body = std::move(body), finished](Runtime& runtime) {
      body(runtime);
      *finished = true;
    });
    ASSERT_TRUE(run_until([&] { return *finished; })) << "the test fiber did not finish";
  }
  void start(std::function<void(Runtime&)> body) {
    node_->spawn("test", [this, body = std::move(body)] { body(*node_); });
  }
  bool run_until(const std::function<bool()>& condition) {
    return simulator_.run_until(simulator_.now() + seconds(3600).count(), condition);
  }
  void run_for(Duration duration) { simulator_.run_until(simulator_.now() + duration.count()); }
  // Power loss and reboot: only what was synced survives.
  void crash_and_restart() {
    node_->crash();
    node_->start();
  }

  void aim(proto::FaultKind kind, double rate) { faults_ = aimed_at_wal(kind, rate); }
  void heal() { faults_ = FaultPlan{}; }
  uint64_t faults_struck(const std::string& kind) const {
    auto it = simulator_.fault_counts().find(kind);
    return it == simulator_.fault_counts().end() ? 0 : it->second;
  }

  SimDisk& disk() { return node_->disk(); }
  std::vector<std::byte> durable_image(std::string_view path) { return disk().durable_image(path).value(); }

 private:
  FaultPlan faults_;  // before simulator_, which holds the node that points to it
  sim::Simulator simulator_;
  sim::SimNode* node_ = nullptr;
};

void expect_tagged(WriteAheadLog& log, uint64_t first, uint64_t last) {
  for (uint64_t tag = first; tag <= last; ++tag) {
    Result<WalRecord> record = log.read(tag);
    ASSERT_TRUE(record.ok()) << "index " << tag << ": " << record.status().to_string();
    EXPECT_EQ(record->payload, test_payload(tag)) << "index " << tag;
  }
}

void expect_names_batch(const Status& status, uint64_t batch) {
  const std::string where = kFirstSegment + " at offset " + std::to_string(batch_offset(batch));
  EXPECT_TRUE(contains(status.message(), where)) << status.to_string();
  EXPECT_TRUE(contains(status.message(), "not acknowledged")) << status.to_string();
}

// Writes `bytes` at `offset` of a file in both the page cache and on the medium (growing the
// file if needed): what a write that went astray and was then synced leaves behind.
void overwrite_on_medium(SimDisk& disk, std::string_view path, uint64_t offset, std::span<const std::byte> bytes) {
  auto inode = disk.open(path, OpenOptions::read());
  ASSERT_TRUE(inode.ok()) << inode.status().to_string();
  for (std::vector<std::byte>* image : {&(*inode)->current, &(*inode)->durable}) {
    if (image->size() < offset + bytes.size()) image->resize(offset + bytes.size());
    std::copy(bytes.begin(), bytes.end(), image->begin() + static_cast<std::ptrdiff_t>(offset));
  }
}

// ---------------------------------------------------------------------------------------------
// (a) A bit flipped on the way to the medium

TEST(WalReadBack, ABitFlipInTheLastBatchFailsItsAppendAndEveryAcknowledgedRecordSurvivesAReopen) {
  for (const bool crash : {true, false}) {
    SCOPED_TRACE(crash ? "reopened after a crash" : "reopened without a crash (the cache keeps the flipped bit)");
    CorruptibleWalNode node(31);
    node.run([&](Runtime& runtime) {
      auto log = open_or_fail(runtime);
      ASSERT_NE(log, nullptr);
      append_tagged(*log, 1, 3);
      node.aim(proto::DISK_BIT_FLIP, 1.0);
      const Status failed = log->append(kWalRecordEntry, test_payload(4)).status();
      node.heal();
      ASSERT_EQ(failed.code(), StatusCode::kCorruption) << failed.to_string();
      expect_names_batch(failed, 4);
      EXPECT_TRUE(contains(failed.message(), "did not read back as written")) << failed.to_string();
      EXPECT_EQ(log->last_index(), 3u) << "the record is not acknowledged";
      EXPECT_EQ(log->failed_status(), failed);
      EXPECT_EQ(log->append(kWalRecordEntry, test_payload(4)).status(), failed) << "sticky, like a failed fsync";
      EXPECT_EQ(log->counters().batches_written, 3u);
      EXPECT_EQ(log->counters().batches_read_back, 4u);
      EXPECT_EQ(log->counters().read_back_failures, 1u);
      expect_tagged(*log, 1, 3);
    });
    ASSERT_EQ(node.faults_struck("disk_bit_flip"), 1u);
    if (crash) node.crash_and_restart();  // else the process lives on, and so does its page cache
    node.run([&](Runtime& runtime) {
      auto log = open_or_fail(runtime);
      ASSERT_NE(log, nullptr);
      EXPECT_EQ(log->last_index(), 3u);
      expect_tagged(*log, 1, 3);
      const WalRecoveryReport& report = log->recovery_report();
      ASSERT_TRUE(report.torn_tail.has_value()) << "the flipped, unacknowledged batch is dropped: " << report.summary();
      EXPECT_EQ(report.torn_tail->offset, batch_offset(4));
      Result<uint64_t> index = log->append(kWalRecordEntry, test_payload(4));
      ASSERT_TRUE(index.ok()) << index.status().to_string();
      EXPECT_EQ(*index, 4u);
    });
    node.crash_and_restart();
    node.run([&](Runtime& runtime) {
      auto log = open_or_fail(runtime);
      ASSERT_NE(log, nullptr);
      EXPECT_EQ(log->last_index(), 4u);
      EXPECT_FALSE(log->recovery_report().torn_tail.has_value()) << log->recovery_report().summary();
      expect_tagged(*log, 1, 4);
    });
  }
}

// ---------------------------------------------------------------------------------------------
// (b) A write that lands at the wrong offset

// The batch's own range keeps its old bytes (here: nothing, it was the end of the file), which
// the read-back catches. The stray copy lands at another sector of the segment: past the end
// (harmless: recovery drops it with the unacknowledged tail), or over acknowledged batches or
// the segment header. That damage cannot be undone by this node; recovery must report it as
// CORRUPTION (the stray copy's own header, or a later batch, vouches for what it destroyed),
// never truncate it as a torn tail. Seeds are tried until both outcomes have been seen, and at
// least one stray copy destroyed the LAST acknowledged batch, where only the copy itself vouches.
TEST(WalReadBack, AMisdirectedLastBatchFailsItsAppendAndTheDamageElsewhereIsReportedNotTruncated) {
  int clean = 0;
  int reported = 0;
  int last_batch_destroyed = 0;
  for (uint64_t seed = 1; seed <= 60 && (clean < 2 || reported < 2 || last_batch_destroyed < 1); ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    CorruptibleWalNode node(seed);
    std::vector<std::byte> before;
    node.run([&](Runtime& runtime) {
      auto log = open_or_fail(runtime);
      ASSERT_NE(log, nullptr);
      append_tagged(*log, 1, 5);
      before = node.durable_image(kFirstSegment);
      node.aim(proto::DISK_MISDIRECTED_WRITE, 1.0);
      const Status failed = log->append(kWalRecordEntry, test_payload(6)).status();
      node.heal();
      ASSERT_EQ(failed.code(), StatusCode::kCorruption) << failed.to_string();
      expect_names_batch(failed, 6);
      EXPECT_EQ(log->last_index(), 5u);
      EXPECT_EQ(log->counters().read_back_failures, 1u);
    });
    ASSERT_EQ(node.faults_struck("disk_misdirected_write"), 1u);
    ASSERT_EQ(before.size(), batch_offset(6));
    const std::vector<std::byte> after = node.durable_image(kFirstSegment);
    const auto first_difference = std::mismatch(before.begin(), before.end(), after.begin()).first;
    const bool acknowledged_bytes_hit = first_difference != before.end();
    const bool last_batch_hit = first_difference - before.begin() >= static_cast<std::ptrdiff_t>(batch_offset(5));
    node.crash_and_restart();
    node.run([&](Runtime& runtime) {
      auto log = WriteAheadLog::open_log(runtime, {});
      if (acknowledged_bytes_hit) {
        ASSERT_EQ(log.status().code(), StatusCode::kCorruption)
            << "the stray write destroyed acknowledged data: " << log.status().to_string()
            << (log.ok() ? " " + (*log)->recovery_report().summary() : "");
        EXPECT_TRUE(contains(log.status().message(), kFirstSegment)) << log.status().to_string();
        return;
      }
      ASSERT_TRUE(log.ok()) << log.status().to_string();
      EXPECT_EQ((*log)->last_index(), 5u);
      expect_tagged(**log, 1, 5);
      ASSERT_TRUE((*log)->recovery_report().torn_tail.has_value());
      EXPECT_EQ((*log)->recovery_report().torn_tail->offset, batch_offset(6));
      Result<uint64_t> index = (*log)->append(kWalRecordEntry, test_payload(6));
      ASSERT_TRUE(index.ok()) << index.status().to_string();
      EXPECT_EQ(*index, 6u);
    });
    if (acknowledged_bytes_hit) {
      EXPECT_EQ(node.durable_image(kFirstSegment), after) << "a refused recovery truncates and rewrites nothing";
      ++reported;
      if (last_batch_hit) ++last_batch_destroyed;
    } else {
      ++clean;
    }
  }
  std::printf("[ info ] misdirected batches: %d landed past the log, %d destroyed acknowledged data "
              "(%d the last batch)\n",
              clean, reported, last_batch_destroyed);
  EXPECT_GE(clean, 2);
  EXPECT_GE(reported, 2);
  EXPECT_GE(last_batch_destroyed, 1);
}

// The case above that only the stray copy can vouch for, placed by hand: batch 4's bytes over
// the last acknowledged batch (3), at its offset or a few sectors into it, with nothing after.
// A stray copy that destroyed nothing acknowledged (past the end, never at batch 4's own place:
// that would be batch 4, written where it belongs) vouches for nothing.
TEST(WalReadBack, AStrayCopyOfTheNextBatchOverTheLastAcknowledgedBatchIsCorruptionNotATornTail) {
  struct Case {
    uint64_t offset;
    bool destroys_batch_3;
  };
  for (const Case stray : {Case{batch_offset(3), true}, Case{batch_offset(3) + 512, true},
                           Case{batch_offset(3) + 3584, true}, Case{batch_offset(4) + 512, false},
                           Case{batch_offset(5), false}}) {
    SCOPED_TRACE("stray copy at offset " + std::to_string(stray.offset));
    CorruptibleWalNode node(32);
    node.run([&](Runtime& runtime) {
      auto log = open_or_fail(runtime);
      ASSERT_NE(log, nullptr);
      append_tagged(*log, 1, 3);
    });
    // Batch 4 as the writer would have laid it out: durable through 3.
    const uint64_t salt = wal::decode_segment_header(node.durable_image(kFirstSegment)).value().salt;
    const std::vector<std::byte> payload = test_payload(4);
    std::vector<std::byte> batch(wal::kBlockSize);
    wal::encode_batch_header({.record_count = 1,
                              .first_index = 4,
                              .records_length = wal::record_size(payload.size()),
                              .durable_through = 3},
                             salt, std::span<std::byte, wal::kBatchHeaderSize>(batch.data(), wal::kBatchHeaderSize));
    wal::encode_record_header(
        {.payload_length = static_cast<uint32_t>(payload.size()), .index = 4, .type = kWalRecordEntry}, payload, salt,
        std::span<std::byte, wal::kRecordHeaderSize>(batch.data() + wal::kBatchHeaderSize, wal::kRecordHeaderSize));
    std::copy(payload.begin(), payload.end(), batch.begin() + wal::kBatchHeaderSize + wal::kRecordHeaderSize);
    overwrite_on_medium(node.disk(), kFirstSegment, stray.offset, batch);
    const std::vector<std::byte> damaged = node.durable_image(kFirstSegment);
    node.crash_and_restart();
    node.run([&](Runtime& runtime) {
      auto log = WriteAheadLog::open_log(runtime, {});
      if (stray.destroys_batch_3) {
        ASSERT_EQ(log.status().code(), StatusCode::kCorruption)
            << log.status().to_string() << (log.ok() ? " " + (*log)->recovery_report().summary() : "");
        const std::string& message = log.status().message();
        EXPECT_TRUE(contains(message, kFirstSegment + " at offset " + std::to_string(batch_offset(3)))) << message;
        EXPECT_TRUE(contains(message, "index 3")) << message;
        EXPECT_TRUE(contains(message, "misdirected write of batch 4")) << message;
      } else {
        ASSERT_TRUE(log.ok()) << log.status().to_string();
        EXPECT_EQ((*log)->last_index(), 3u);
        expect_tagged(**log, 1, 3);
        ASSERT_TRUE((*log)->recovery_report().torn_tail.has_value());
        EXPECT_EQ((*log)->recovery_report().torn_tail->offset, batch_offset(4));
      }
    });
    if (stray.destroys_batch_3) {
      EXPECT_EQ(node.durable_image(kFirstSegment), damaged) << "nothing was truncated";
    }
  }
}

// ---------------------------------------------------------------------------------------------
// (c) The same faults without the read-back: an acknowledged record is lost

TEST(WalReadBack, WithoutVerifyWritesABitFlippedLastBatchIsAcknowledgedAndThenLost) {
  const WalOptions unverified{.verify_writes = false};
  CorruptibleWalNode node(31);
  node.run([&](Runtime& runtime) {
    auto log = open_or_fail(runtime, unverified);
    ASSERT_NE(log, nullptr);
    append_tagged(*log, 1, 3);
    node.aim(proto::DISK_BIT_FLIP, 1.0);
    Result<uint64_t> index = log->append(kWalRecordEntry, test_payload(4));
    node.heal();
    ASSERT_TRUE(index.ok()) << index.status().to_string();
    EXPECT_EQ(*index, 4u) << "acknowledged: the caller was promised it is durable";
    EXPECT_EQ(log->counters().batches_read_back, 0u);
  });
  ASSERT_EQ(node.faults_struck("disk_bit_flip"), 1u);
  node.crash_and_restart();
  node.run([&](Runtime& runtime) {
    auto log = open_or_fail(runtime, unverified);
    ASSERT_NE(log, nullptr);
    EXPECT_EQ(log->last_index(), 3u) << "acknowledged record 4 is gone";
    expect_tagged(*log, 1, 3);
    ASSERT_TRUE(log->recovery_report().torn_tail.has_value()) << "taken for a torn tail";
    EXPECT_EQ(log->recovery_report().torn_tail->offset, batch_offset(4));
  });
}

TEST(WalReadBack, WithoutVerifyWritesAMisdirectedLastBatchIsAcknowledgedAndThenLostOrReported) {
  const WalOptions unverified{.verify_writes = false};
  int lost = 0;
  int reported = 0;
  for (uint64_t seed = 1; seed <= 60 && (lost < 1 || reported < 1); ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    CorruptibleWalNode node(seed);
    node.run([&](Runtime& runtime) {
      auto log = open_or_fail(runtime, unverified);
      ASSERT_NE(log, nullptr);
      append_tagged(*log, 1, 5);
      node.aim(proto::DISK_MISDIRECTED_WRITE, 1.0);
      Result<uint64_t> index = log->append(kWalRecordEntry, test_payload(6));
      node.heal();
      ASSERT_TRUE(index.ok()) << index.status().to_string();
      EXPECT_EQ(*index, 6u) << "acknowledged";
    });
    ASSERT_EQ(node.faults_struck("disk_misdirected_write"), 1u);
    node.crash_and_restart();
    node.run([&](Runtime& runtime) {
      auto log = WriteAheadLog::open_log(runtime, unverified);
      if (!log.ok()) {
        EXPECT_EQ(log.status().code(), StatusCode::kCorruption) << log.status().to_string();
        ++reported;
        return;
      }
      EXPECT_EQ((*log)->last_index(), 5u) << "acknowledged record 6 cannot be where it was never written";
      ++lost;
    });
  }
  std::printf("[ info ] without read-back, acknowledged misdirected batches: %d lost, %d reported\n", lost, reported);
  EXPECT_GE(lost, 1);
  EXPECT_GE(reported, 1);
}

// ---------------------------------------------------------------------------------------------
// Read errors, segment headers, recovery's rewrite

TEST(WalReadBack, AReadErrorDuringTheReadBackFailsTheAppendWithAnIoErrorAndIsSticky) {
  CorruptibleWalNode node(33);
  node.run([&](Runtime& runtime) {
    auto log = open_or_fail(runtime);
    ASSERT_NE(log, nullptr);
    append_tagged(*log, 1, 3);
    node.aim(proto::DISK_READ_ERROR, 1.0);
    const Status failed = log->append(kWalRecordEntry, test_payload(4)).status();
    node.heal();
    ASSERT_EQ(failed.code(), StatusCode::kIoError) << failed.to_string();
    expect_names_batch(failed, 4);
    EXPECT_TRUE(contains(failed.message(), "reading back")) << failed.to_string();
    EXPECT_EQ(log->last_index(), 3u);
    EXPECT_EQ(log->append(kWalRecordEntry, test_payload(4)).status(), failed);
    EXPECT_EQ(log->counters().read_back_failures, 1u);
  });
  // The drive remaps the latent sector error; the batch itself had been written correctly, so it
  // may come back as a whole (unacknowledged) record.
  node.disk().open(kFirstSegment, OpenOptions::read()).value()->bad_sectors.clear();
  node.crash_and_restart();
  node.run([&](Runtime& runtime) {
    auto log = open_or_fail(runtime);
    ASSERT_NE(log, nullptr);
    EXPECT_GE(log->last_index(), 3u);
    expect_tagged(*log, 1, log->last_index());
  });
}

TEST(WalReadBack, ANewSegmentHeaderThatDoesNotReadBackFailsTheAppendAndTheSegmentIsRemoved) {
  const WalOptions small_segments{.max_segment_bytes = 3 * wal::kBlockSize};  // two batches each
  const std::string second = wal::segment_path("wal", 3);
  CorruptibleWalNode node(34);
  node.run([&](Runtime& runtime) {
    auto log = open_or_fail(runtime, small_segments);
    ASSERT_NE(log, nullptr);
    append_tagged(*log, 1, 2);
    node.aim(proto::DISK_BIT_FLIP, 1.0);
    const Status failed = log->append(kWalRecordEntry, test_payload(3)).status();
    node.heal();
    ASSERT_EQ(failed.code(), StatusCode::kCorruption) << failed.to_string();
    EXPECT_TRUE(contains(failed.message(), "segment header")) << failed.to_string();
    EXPECT_TRUE(contains(failed.message(), second + " at offset 0")) << failed.to_string();
    EXPECT_EQ(log->failed_status(), failed);
    EXPECT_EQ(log->segments().size(), 1u);
  });
  EXPECT_FALSE(node.disk().exists(second).value()) << "the half-made segment is removed";
  node.crash_and_restart();
  node.run([&](Runtime& runtime) {
    auto log = open_or_fail(runtime, small_segments);
    ASSERT_NE(log, nullptr);
    EXPECT_TRUE(log->recovery_report().removed_torn_segments.empty()) << log->recovery_report().summary();
    EXPECT_EQ(log->last_index(), 2u);
    expect_tagged(*log, 1, 2);
    append_tagged(*log, 3, 3);
  });
}

// Recovery rewrites the last batch, which may hold acknowledged records. A rewrite that does not
// read back has damaged them on the medium, and the next open would take them for a torn tail:
// recovery must write them again from memory. Bit flips strike half of the writes; seeds are
// tried until some open needed more than one attempt and still succeeded.
TEST(WalReadBack, RecoveryWritesTheTailAgainUntilItReadsBack) {
  int repaired = 0;
  for (uint64_t seed = 1; seed <= 30 && repaired < 2; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    CorruptibleWalNode node(seed);
    node.run([&](Runtime& runtime) { append_tagged(*open_or_fail(runtime), 1, 3); });
    node.crash_and_restart();
    node.aim(proto::DISK_BIT_FLIP, 0.5);
    bool opened = false;
    node.run([&](Runtime& runtime) {
      auto log = WriteAheadLog::open_log(runtime, {});
      if (!log.ok()) {
        EXPECT_EQ(log.status().code(), StatusCode::kCorruption) << log.status().to_string();
        EXPECT_TRUE(contains(log.status().message(), "3 attempts")) << log.status().to_string();
        return;
      }
      opened = true;
      EXPECT_EQ((*log)->last_index(), 3u);
    });
    node.heal();
    const uint64_t flips = node.faults_struck("disk_bit_flip");
    if (!opened) {
      EXPECT_EQ(flips, 3u) << "only three failed attempts in a row give up";
      continue;
    }
    if (flips > 0) ++repaired;
    node.crash_and_restart();
    node.run([&](Runtime& runtime) {
      auto log = open_or_fail(runtime);
      ASSERT_NE(log, nullptr);
      EXPECT_EQ(log->last_index(), 3u) << "the acknowledged tail is intact on the medium";
      EXPECT_FALSE(log->recovery_report().torn_tail.has_value()) << log->recovery_report().summary();
      expect_tagged(*log, 1, 3);
    });
  }
  EXPECT_GE(repaired, 1) << "no open repaired a flipped rewrite: the test did not test anything";
}

// Found by the property below: recovery's rewrite of the last batch went astray a few sectors
// before its place, laying the batch's own zero padding over its header; it was synced before
// the read-back caught it, the power went before the retry, and the next open took the
// acknowledged batch for a torn tail (the stray copy is of that batch, so it vouches for
// nothing). The rewrite is now verified before it is synced. Here every write of recovery goes
// astray, and the power goes as soon as anything of it reaches the medium (or when the open
// returns). A stray copy that missed the tail's own place reads back fine there (it rewrote
// identical bytes) and is synced: if it hit earlier batches, the next open must report it. One
// that hit the tail itself must never be synced: the open gives up after three attempts and the
// medium keeps the tail. Never may an open succeed without every acknowledged record.
TEST(WalReadBack, PowerLossWhileRecoveryRewritesTheTailAstrayNeverLosesTheTail) {
  int tail_hit = 0;
  int intact = 0;
  int reported = 0;
  for (uint64_t seed = 1; seed <= 40 && (tail_hit < 2 || intact < 2 || reported < 2); ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    CorruptibleWalNode node(seed);
    node.run([&](Runtime& runtime) {
      auto log = open_or_fail(runtime);
      ASSERT_NE(log, nullptr);
      for (uint64_t tag = 1; tag <= 3; ++tag) {
        // Small records: the last batch is mostly zero padding.
        ASSERT_TRUE(log->append(kWalRecordEntry, test_payload(tag, 100)).ok());
      }
    });
    node.crash_and_restart();
    const std::vector<std::byte> before = node.durable_image(kFirstSegment);
    node.aim(proto::DISK_MISDIRECTED_WRITE, 1.0);
    bool open_returned = false;
    node.start([&](Runtime& runtime) {
      auto log = WriteAheadLog::open_log(runtime, {});
      if (!log.ok()) {
        EXPECT_EQ(log.status().code(), StatusCode::kCorruption) << log.status().to_string();
        EXPECT_TRUE(contains(log.status().message(), "3 attempts")) << log.status().to_string();
        ++tail_hit;
      }
      open_returned = true;
    });
    ASSERT_TRUE(node.run_until([&] { return open_returned || node.durable_image(kFirstSegment) != before; }));
    node.heal();
    node.crash_and_restart();
    node.run([&](Runtime& runtime) {
      auto log = WriteAheadLog::open_log(runtime, {});
      if (!log.ok()) {
        ASSERT_EQ(log.status().code(), StatusCode::kCorruption) << log.status().to_string();
        ++reported;
        return;
      }
      ASSERT_EQ((*log)->last_index(), 3u) << "acknowledged records lost: " << (*log)->recovery_report().summary();
      for (uint64_t tag = 1; tag <= 3; ++tag) {
        Result<WalRecord> record = (*log)->read(tag);
        ASSERT_TRUE(record.ok()) << record.status().to_string();
        EXPECT_EQ(record->payload, test_payload(tag, 100));
      }
      ++intact;
    });
  }
  std::printf("[ info ] stray rewrites: %d hit the tail itself (open refused), %d left it intact, %d reported\n",
              tail_hit, intact, reported);
  EXPECT_GE(tail_hit, 2);
  EXPECT_GE(intact, 2);
  EXPECT_GE(reported, 2);
}

// ---------------------------------------------------------------------------------------------
// (d) No false alarms

TEST(WalReadBack, ThousandsOfAppendsWithoutFaultsAllReadBackAsWritten) {
  const WalOptions options{.max_segment_bytes = 256 * 1024};
  CorruptibleWalNode node(35);
  std::map<uint64_t, std::vector<std::byte>> written;
  node.run([&](Runtime& runtime) {
    auto log = open_or_fail(runtime, options);
    ASSERT_NE(log, nullptr);
    FiberScope appenders(runtime.process());
    for (uint64_t fiber = 0; fiber < 32; ++fiber) {
      appenders.spawn("appender", [&, fiber] {
        for (uint64_t round = 0; round < 100; ++round) {
          const uint64_t tag = fiber * 1000 + round;
          auto payload = test_payload(tag, static_cast<std::size_t>((tag * 7919) % 6000));
          Result<uint64_t> index = log->append(kWalRecordEntry, payload);
          ASSERT_TRUE(index.ok()) << index.status().to_string();
          written[*index] = std::move(payload);
        }
      });
    }
    appenders.join();
    const WalCounters& counters = log->counters();
    EXPECT_EQ(counters.records_written, 3200u);
    EXPECT_EQ(counters.batches_read_back, counters.batches_written);
    EXPECT_EQ(counters.read_back_failures, 0u);
    EXPECT_GT(counters.segments_created, 5u);
    std::printf("[ info ] 3200 appends: %llu batches, all read back as written\n",
                static_cast<unsigned long long>(counters.batches_written));
  });
  node.crash_and_restart();
  node.run([&](Runtime& runtime) {
    auto log = open_or_fail(runtime, options);
    ASSERT_NE(log, nullptr);
    ASSERT_EQ(log->last_index(), 3200u);
    for (const auto& [index, payload] : written) {
      Result<WalRecord> record = log->read(index);
      ASSERT_TRUE(record.ok()) << record.status().to_string();
      ASSERT_EQ(record->payload, payload) << "index " << index;
    }
  });
}

// ---------------------------------------------------------------------------------------------
// The property: under random bit flips or misdirected writes (on every write the log makes,
// recovery's included), with crashes and clean reopens in between, every open of the log either
// finds every acknowledged record intact, or reports CORRUPTION (at open, or reading a record).
// An acknowledged record missing from an open that succeeded is the one thing that must never
// happen. Records found but never acknowledged must be whole records of some attempt; once found
// they count as durable too.

struct Round {
  int appenders = 1;             // fibers appending at once
  int appends_each = 1;          // appends per fiber
  bool crash = false;            // the round ends in power loss, else in a clean reopen
  uint32_t crash_after_us = 0;   // when the power goes
};

void showValue(const Round& round, std::ostream& os) {
  os << "{appenders=" << round.appenders << " each=" << round.appends_each << " crash=" << round.crash
     << " after_us=" << round.crash_after_us << "}";
}

struct PropertyModel {
  std::map<uint64_t, std::vector<std::byte>> attempts;  // attempt id -> payload (it starts with the id)
  std::map<uint64_t, uint64_t> durable;                 // index -> attempt that must be there
  uint64_t next_attempt = 1;
  bool corruption_reported = false;
  std::vector<std::string> problems;
};

std::vector<std::byte> attempt_payload(uint64_t attempt, std::size_t size) {
  std::vector<std::byte> payload = test_payload(attempt, std::max<std::size_t>(size, 8));
  wal::store_u64(payload.data(), attempt);
  return payload;
}

// Checks an open log against the model; false if the log reported corruption (the case ends).
bool check_open_log(WriteAheadLog& log, PropertyModel& model) {
  const uint64_t last = log.last_index();
  if (!model.durable.empty() && model.durable.rbegin()->first > last) {
    model.problems.push_back("acknowledged record " + std::to_string(model.durable.rbegin()->first) +
                             " lost silently: the log ends at " + std::to_string(last) + "; " +
                             log.recovery_report().summary());
    return true;
  }
  for (uint64_t index = log.first_index(); index <= last; ++index) {
    Result<WalRecord> record = log.read(index);
    if (record.status().code() == StatusCode::kCorruption) return false;
    if (!record.ok()) {
      model.problems.push_back("reading " + std::to_string(index) + ": " + record.status().to_string());
      return true;
    }
    const uint64_t attempt = record->payload.size() >= 8 ? wal::load_u64(record->payload.data()) : 0;
    auto expected = model.attempts.find(attempt);
    if (expected == model.attempts.end() || expected->second != record->payload) {
      model.problems.push_back("record " + std::to_string(index) + " is not what any append wrote");
      return true;
    }
    auto durable = model.durable.find(index);
    if (durable != model.durable.end() && durable->second != attempt) {
      model.problems.push_back("acknowledged record " + std::to_string(index) + " was replaced");
      return true;
    }
    model.durable[index] = attempt;  // found by an open: it must stay
  }
  return true;
}

// Most cases must strike the fault they are about: a case whose appends all went untouched
// checks nothing the other tests do not.
RC_REACHING_PROP(WalReadBackProperty, RandomFaultsNeverLoseAnAcknowledgedRecordSilently, "a fault struck", 0.9, 100, ()) {
  const uint64_t seed = *rc::gen::inRange<uint64_t>(1, 1'000'000'000);
  const auto kind = *rc::gen::element(proto::DISK_BIT_FLIP, proto::DISK_MISDIRECTED_WRITE);
  // Rates, rounds and crash times high enough that most cases write, and are struck, before
  // their first crash (measured: with 1 round and crashes from 0 µs, 39 % were never struck).
  const double rate = *rc::gen::inRange(150, 600) / 1000.0;
  const auto rounds = *rc::gen::container<std::vector<Round>>(
      static_cast<std::size_t>(*rc::gen::inRange(2, 12)),
      rc::gen::build<Round>(rc::gen::set(&Round::appenders, rc::gen::inRange(1, 6)),
                            rc::gen::set(&Round::appends_each, rc::gen::inRange(1, 6)),
                            rc::gen::set(&Round::crash, rc::gen::arbitrary<bool>()),
                            rc::gen::set(&Round::crash_after_us, rc::gen::inRange<uint32_t>(500, 6000))));
  const WalOptions options{.max_record_bytes = 16 * 1024, .max_segment_bytes = 8 * wal::kBlockSize};
  CorruptibleWalNode node(seed);
  node.aim(kind, rate);
  PropertyModel model;
  // Each round opens the log, checks it, and appends; the last open only checks.
  for (std::size_t number = 0; number <= rounds.size() && !model.corruption_reported; ++number) {
    const bool final_check = number == rounds.size();
    const Round round = final_check ? Round{.appenders = 0} : rounds[number];
    bool finished = false;
    node.start([&, round](Runtime& runtime) {
      auto opened = WriteAheadLog::open_log(runtime, options);
      if (!opened.ok()) {
        if (opened.status().code() == StatusCode::kCorruption) {
          model.corruption_reported = true;
        } else {
          model.problems.push_back("open: " + opened.status().to_string());
        }
        finished = true;
        return;
      }
      WriteAheadLog& log = **opened;
      if (!check_open_log(log, model)) model.corruption_reported = true;
      if (model.corruption_reported || !model.problems.empty()) {
        finished = true;
        return;
      }
      FiberScope appenders(runtime.process());
      for (int fiber = 0; fiber < round.appenders; ++fiber) {
        appenders.spawn("appender", [&] {
          for (int i = 0; i < round.appends_each; ++i) {
            const uint64_t attempt = model.next_attempt++;
            const std::size_t size = runtime.random().uniform(2) == 0 ? runtime.random().uniform(600)
                                                                       : runtime.random().uniform(9000);
            model.attempts[attempt] = attempt_payload(attempt, size);
            Result<uint64_t> index = log.append(kWalRecordEntry, model.attempts[attempt]);
            if (!index.ok()) return;  // sticky: the log stays failed until the next round reopens it
            model.durable[*index] = attempt;
          }
        });
      }
      appenders.join();
      finished = true;
    });
    if (round.crash) {
      node.run_for(microseconds(round.crash_after_us));
      node.crash_and_restart();
    } else {
      RC_ASSERT(node.run_until([&] { return finished; }));
    }
    if (!model.problems.empty()) {
      std::string all;
      for (const std::string& problem : model.problems) all += problem + "\n";
      RC_FAIL(all);
    }
  }
  RC_CLASSIFY(node.faults_struck(sim::fault_kind_name(kind)) > 0, "a fault struck");
  RC_CLASSIFY(model.corruption_reported, "corruption reported");
  RC_CLASSIFY(!model.corruption_reported, "every acknowledged record intact");
}

}  // namespace
}  // namespace cairn
