// Properties of the simulated disk (RapidCheck): after any sequence of writes, truncations,
// syncs and a crash,
//  - every byte that was synced (and not overwritten since) survives;
//  - without torn writes, every unsynced change is lost: the file is exactly its synced image;
//  - with torn writes, each unsynced sector is either wholly old or wholly new.
// Plus unit tests of directory durability and fsync failure.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include "sim/fault_plan.h"
#include "sim/sim_disk.h"
#include "sim/simulator.h"
#include "tests/support/reaching_property.h"

namespace cairn::sim {
namespace {

constexpr uint32_t kSector = 512;

struct DiskOperation {
  enum Kind { kWrite, kTruncate, kSync } kind;
  uint32_t offset;
  uint32_t length;
  uint8_t fill;
};

FaultPlan plan_with(proto::FaultKind kind, double rate) {
  proto::FaultProfile profile;
  if (kind != proto::FAULT_KIND_UNSPECIFIED) {
    proto::Fault* fault = profile.add_faults();
    fault->set_kind(kind);
    fault->mutable_rate()->set_min(rate);
    fault->mutable_rate()->set_max(rate);
  }
  Random random(1);
  return FaultPlan::choose(profile, {1}, random);
}

proto::DiskModel disk_model() {
  proto::DiskModel model;
  model.set_sector_size(kSector);
  return model;
}

// What the file must look like after a crash, sector by sector: `synced` is the image as of the
// last sync; `latest` the image just before the crash.
struct Expectation {
  std::vector<std::byte> synced;
  std::vector<std::byte> latest;
};

Expectation apply(SimDisk& disk, SimInode& inode, const std::vector<DiskOperation>& operations) {
  Expectation expectation;
  for (const DiskOperation& operation : operations) {
    switch (operation.kind) {
      case DiskOperation::kWrite: {
        std::vector<std::byte> data(operation.length % 2000 + 1, static_cast<std::byte>(operation.fill));
        const uint64_t offset = operation.offset % 6000;
        RC_ASSERT(disk.write(inode, "f", offset, data).ok());
        if (expectation.latest.size() < offset + data.size()) expectation.latest.resize(offset + data.size());
        std::copy(data.begin(), data.end(), expectation.latest.begin() + static_cast<std::ptrdiff_t>(offset));
        break;
      }
      case DiskOperation::kTruncate: {
        const uint64_t size = operation.offset % 6000;
        RC_ASSERT(disk.truncate(inode, "f", size).ok());
        expectation.latest.resize(size);
        break;
      }
      case DiskOperation::kSync:
        RC_ASSERT(disk.sync(inode, "f").ok());
        expectation.synced = expectation.latest;
        break;
    }
  }
  return expectation;
}

rc::Gen<DiskOperation> operation_generator() {
  return rc::gen::build<DiskOperation>(
      rc::gen::set(&DiskOperation::kind, rc::gen::element(DiskOperation::kWrite, DiskOperation::kWrite,
                                                          DiskOperation::kTruncate, DiskOperation::kSync)),
      rc::gen::set(&DiskOperation::offset, rc::gen::arbitrary<uint32_t>()),
      rc::gen::set(&DiskOperation::length, rc::gen::arbitrary<uint32_t>()),
      rc::gen::set(&DiskOperation::fill, rc::gen::inRange<uint8_t>(1, 255)));
}

// Runs the operations on a fresh durable file, crashes, and returns the file's contents after.
std::vector<std::byte> crash_after(const std::vector<DiskOperation>& operations, const FaultPlan& plan, uint64_t seed,
                                   Expectation& expectation) {
  Simulator simulator(seed);
  SimDisk disk(simulator, 1, disk_model(), &plan, /*corruptible=*/false, Random(seed));
  auto inode = disk.open("f", OpenOptions::create_or_open());
  RC_ASSERT(inode.ok());
  RC_ASSERT(disk.sync_directory("").ok());
  expectation = apply(disk, **inode, operations);
  disk.crash();
  auto reopened = disk.open("f", OpenOptions::read());
  RC_ASSERT(reopened.ok());
  return (*reopened)->current;
}

RC_GTEST_PROP_CASES(SimDisk, WithoutTornWritesACrashLeavesExactlyTheSyncedImage, 500, ()) {
  const auto operations = *rc::gen::container<std::vector<DiskOperation>>(operation_generator());
  const FaultPlan plan = plan_with(proto::FAULT_KIND_UNSPECIFIED, 0);
  Expectation expectation;
  const auto after = crash_after(operations, plan, *rc::gen::arbitrary<uint64_t>(), expectation);
  RC_ASSERT(after == expectation.synced);
}

RC_GTEST_PROP_CASES(SimDisk, WithTornWritesEachSectorIsWhollyOldOrWhollyNew, 500, ()) {
  const auto operations = *rc::gen::container<std::vector<DiskOperation>>(operation_generator());
  const double survival = *rc::gen::element(0.1, 0.5, 0.9);
  const FaultPlan plan = plan_with(proto::DISK_TORN_WRITE, survival);
  Expectation expectation;
  const auto after = crash_after(operations, plan, *rc::gen::arbitrary<uint64_t>(), expectation);
  // The size is metadata: either the synced size or the latest one.
  RC_ASSERT(after.size() == expectation.synced.size() || after.size() == expectation.latest.size());
  auto sector_of = [](const std::vector<std::byte>& image, std::size_t begin, std::size_t end) {
    std::vector<std::byte> sector(end - begin, std::byte{0});
    for (std::size_t i = begin; i < end && i < image.size(); ++i) sector[i - begin] = image[i];
    return sector;
  };
  for (std::size_t begin = 0; begin < after.size(); begin += kSector) {
    const std::size_t end = std::min<std::size_t>(begin + kSector, after.size());
    const auto got = sector_of(after, begin, end);
    const bool old_sector = got == sector_of(expectation.synced, begin, end);
    const bool new_sector = got == sector_of(expectation.latest, begin, end);
    RC_ASSERT(old_sector || new_sector);
  }
}

TEST(SimDisk, SyncedBytesSurviveEveryCrash) {
  Simulator simulator(3);
  const FaultPlan plan = plan_with(proto::DISK_TORN_WRITE, 0.5);
  SimDisk disk(simulator, 1, disk_model(), &plan, false, Random(3));
  auto inode = disk.open("f", OpenOptions::create_or_open());
  ASSERT_TRUE(inode.ok());
  ASSERT_TRUE(disk.sync_directory("").ok());
  ASSERT_TRUE(disk.write(**inode, "f", 0, as_bytes("durable")).ok());
  ASSERT_TRUE(disk.sync(**inode, "f").ok());
  for (int crash = 0; crash < 20; ++crash) {
    ASSERT_TRUE(disk.write(**inode, "f", 1000, as_bytes("volatile")).ok());
    disk.crash();
    auto file = disk.open("f", OpenOptions::read());
    ASSERT_TRUE(file.ok());
    ASSERT_GE((*file)->current.size(), 7u);
    EXPECT_EQ(std::string(reinterpret_cast<const char*>((*file)->current.data()), 7), "durable");
  }
}

TEST(SimDisk, CreateAndRenameAreDurableOnlyAfterDirectorySync) {
  Simulator simulator(4);
  SimDisk disk(simulator, 1, disk_model(), nullptr, false, Random(4));
  ASSERT_TRUE(disk.open("a", OpenOptions::create_or_open()).ok());
  disk.crash();
  EXPECT_FALSE(disk.exists("a").value()) << "a create without a directory sync is lost";

  ASSERT_TRUE(disk.open("a", OpenOptions::create_or_open()).ok());
  ASSERT_TRUE(disk.sync_directory("").ok());
  ASSERT_TRUE(disk.rename("a", "b").ok());
  disk.crash();
  EXPECT_TRUE(disk.exists("a").value()) << "a rename without a directory sync is undone";
  EXPECT_FALSE(disk.exists("b").value());

  ASSERT_TRUE(disk.rename("a", "b").ok());
  ASSERT_TRUE(disk.sync_directory("").ok());
  disk.crash();
  EXPECT_FALSE(disk.exists("a").value());
  EXPECT_TRUE(disk.exists("b").value());
}

TEST(SimDisk, AfterAFailedSyncTheDroppedDataIsNotPersistedByALaterSync) {
  Simulator simulator(5);
  const FaultPlan always_fail = plan_with(proto::DISK_SYNC_FAILURE, 1.0);
  SimDisk failing(simulator, 1, disk_model(), &always_fail, false, Random(5));
  auto inode = failing.open("f", OpenOptions::create_or_open());
  ASSERT_TRUE(inode.ok());
  ASSERT_TRUE(failing.write(**inode, "f", 0, as_bytes("lost")).ok());
  EXPECT_EQ(failing.sync(**inode, "f").code(), StatusCode::kIoError);
  // The cache still shows the data, but it is no longer dirty: a later good sync (modelled by
  // syncing the same inode through a disk without the fault) does not write it.
  SimDisk healthy(simulator, 1, disk_model(), nullptr, false, Random(6));
  ASSERT_TRUE(healthy.sync(**inode, "f").ok());
  EXPECT_EQ((*inode)->durable.size(), 4u);
  EXPECT_EQ((*inode)->durable, std::vector<std::byte>(4, std::byte{0})) << "the dropped bytes were never written";
}

TEST(SimDisk, LatentSectorErrorsFailReadsUntilRewritten) {
  Simulator simulator(7);
  const FaultPlan plan = plan_with(proto::DISK_READ_ERROR, 1.0);
  SimDisk disk(simulator, 1, disk_model(), &plan, /*corruptible=*/true, Random(7));
  auto inode = disk.open("f", OpenOptions::create_or_open());
  ASSERT_TRUE(inode.ok());
  ASSERT_TRUE(disk.write(**inode, "f", 0, std::vector<std::byte>(kSector, std::byte{1})).ok());
  std::vector<std::byte> buffer(kSector);
  EXPECT_EQ(disk.read(**inode, "f", 0, buffer).status().code(), StatusCode::kIoError);
  SimDisk clean(simulator, 1, disk_model(), nullptr, true, Random(8));
  EXPECT_EQ(clean.read(**inode, "f", 0, buffer).status().code(), StatusCode::kIoError) << "the error is sticky";
  ASSERT_TRUE(clean.write(**inode, "f", 0, std::vector<std::byte>(kSector, std::byte{2})).ok());
  EXPECT_TRUE(clean.read(**inode, "f", 0, buffer).ok()) << "rewriting the sector remaps it";
}

TEST(SimDisk, CorruptingFaultsOnlyHitUnreliableDisks) {
  Simulator simulator(9);
  const FaultPlan plan = plan_with(proto::DISK_BIT_FLIP, 1.0);
  SimDisk reliable(simulator, 1, disk_model(), &plan, /*corruptible=*/false, Random(9));
  auto inode = reliable.open("f", OpenOptions::create_or_open());
  ASSERT_TRUE(reliable.write(**inode, "f", 0, as_bytes("exact")).ok());
  EXPECT_EQ(std::string(reinterpret_cast<const char*>((*inode)->current.data()), 5), "exact");
  SimDisk unreliable(simulator, 2, disk_model(), &plan, /*corruptible=*/true, Random(10));
  auto other = unreliable.open("f", OpenOptions::create_or_open());
  ASSERT_TRUE(unreliable.write(**other, "f", 0, as_bytes("exact")).ok());
  EXPECT_NE(std::string(reinterpret_cast<const char*>((*other)->current.data()), 5), "exact") << "one bit flipped";
}

// A fault aimed with target_path strikes only that file, or the files under that directory.
TEST(SimDisk, AimedFaultsStrikeOnlyTheirTarget) {
  auto plan_aimed_at = [](const std::string& target) {
    proto::FaultProfile profile;
    proto::Fault* fault = profile.add_faults();
    fault->set_kind(proto::DISK_FULL);
    fault->mutable_rate()->set_min(1);
    fault->mutable_rate()->set_max(1);
    fault->set_target_path(target);
    Random random(1);
    return FaultPlan::choose(profile, {1}, random);
  };
  const std::vector<std::byte> data(10, std::byte{1});
  auto write_fails = [&](const FaultPlan& plan, const std::string& path) {
    Simulator simulator(8);
    SimDisk disk(simulator, 1, disk_model(), &plan, false, Random(8));
    EXPECT_TRUE(disk.create_directory("dir").ok());
    auto inode = disk.open(path, OpenOptions::create_or_open());
    EXPECT_TRUE(inode.ok());
    return !disk.write(**inode, path, 0, data).ok();
  };
  const FaultPlan file = plan_aimed_at("db");
  EXPECT_TRUE(write_fails(file, "db"));
  EXPECT_FALSE(write_fails(file, "db-journal")) << "a file target is exact, not a prefix";
  const FaultPlan directory = plan_aimed_at("dir/");
  EXPECT_TRUE(write_fails(directory, "dir/segment"));
  EXPECT_FALSE(write_fails(directory, "db"));
  const FaultPlan everywhere = plan_aimed_at("");
  EXPECT_TRUE(write_fails(everywhere, "db-journal"));
}

}  // namespace
}  // namespace cairn::sim
