// rewrite_database_files_through_cache (storage/kv/database_files.h) on the simulated disk, whose
// failed fsync drops the dirty pages as Linux does: a journal truncation (SQLite's commit) whose
// sync failed is still hot on disk, and only the rewrite makes the disk agree with the cache —
// the mechanism behind raft_kv_storage_faults seed 886732377350.
#include <gtest/gtest.h>

#include <cstring>

#include "core/runtime/event.h"
#include "sim_harness.h"
#include "storage/kv/database_files.h"

namespace cairn::sim {
namespace {

using testing::World;

constexpr unsigned char kJournalMagic[8] = {0xd9, 0xd5, 0x05, 0xf9, 0x20, 0xa1, 0x63, 0xd7};

void write_synced(FileSystem& fs, const std::string& path, const std::vector<std::byte>& bytes) {
  auto file = fs.open(path, OpenOptions::create_or_open()).value();
  ASSERT_TRUE(file->write(0, bytes).ok());
  ASSERT_TRUE(file->sync().ok());
  ASSERT_TRUE(fs.sync_directory("kv").ok());
}

// Whether the journal is hot after a crash that follows a commit (the journal truncated to
// nothing) whose sync failed; with `rewrite`, the process rewrote the files before the crash.
bool journal_hot_after_crash(bool rewrite) {
  proto::FaultProfile profile;
  proto::Fault* fault = profile.add_faults();
  fault->set_kind(proto::DISK_SYNC_FAILURE);
  fault->set_target_path("kv/data.db-journal");
  fault->mutable_rate()->set_min(1);
  fault->mutable_rate()->set_max(1);
  Random random(1);
  FaultPlan plan = FaultPlan::choose(profile, {1}, random);
  bool hot = false;
  World world(7, 1, [&](Runtime& runtime, const BootContext& context) {
    FileSystem& fs = runtime.file_system();
    if (context.incarnation == 1) {
      ASSERT_TRUE(fs.create_directory("kv").ok());
      ASSERT_TRUE(fs.sync_directory("").ok());
      write_synced(fs, "kv/data.db", std::vector<std::byte>(4096, std::byte{0x11}));
      std::vector<std::byte> journal(1024, std::byte{0x22});
      std::memcpy(journal.data(), kJournalMagic, sizeof kJournalMagic);
      plan.heal_disk_faults();  // the journal's first sync succeeds
      write_synced(fs, "kv/data.db-journal", journal);
      plan = FaultPlan::choose(profile, {1}, random);  // from now on its syncs fail
      auto file = fs.open("kv/data.db-journal", OpenOptions::read_write()).value();
      ASSERT_TRUE(file->truncate(0).ok());
      ASSERT_FALSE(file->sync().ok());  // the commit's sync fails: the cache has it, the disk not
      plan.heal_disk_faults();
      if (rewrite) {
        ASSERT_TRUE(storage::rewrite_database_files_through_cache(fs, "kv/data.db").ok());
      }
      Event forever;
      forever.wait();
    } else {
      auto file = fs.open("kv/data.db-journal", OpenOptions::read());
      if (!file.ok()) return;  // no journal: not hot
      std::byte header[8] = {};
      hot = (*file)->read(0, header).value() == 8 && std::memcmp(header, kJournalMagic, 8) == 0;
    }
  }, &plan);
  world.start_all();
  world.run_for(seconds(1));
  world.node(1).crash();
  world.node(1).start();
  world.run_for(seconds(1));
  return hot;
}

TEST(DatabaseFiles, AfterAFailedCommitSyncTheRewriteLeavesNoHotJournalOnDisk) {
  EXPECT_FALSE(journal_hot_after_crash(/*rewrite=*/true));
}

TEST(DatabaseFiles, ADatabaseNotCreatedYetIsLeftAlone) {
  // A replica whose first open failed before its directory existed is restarted all the same
  // (a fresh seed of raft_kv_storage_faults: NOT_FOUND kept such a replica down for good).
  Status rewritten = Status::internal("not run");
  World world(7, 1, [&](Runtime& runtime, const BootContext&) {
    rewritten = storage::rewrite_database_files_through_cache(runtime.file_system(), "raft/store/data.db");
  });
  world.start_all();
  world.run_for(seconds(1));
  EXPECT_TRUE(rewritten.ok()) << rewritten.to_string();
}

TEST(DatabaseFiles, WithoutTheRewriteTheFailedCommitLeavesTheJournalHotOnDisk) {
  // The control: a sync after the failed one would not help (the pages are clean), so the disk
  // still holds the old, hot journal that the next transaction's journal would overwrite.
  EXPECT_TRUE(journal_hot_after_crash(/*rewrite=*/false));
}

}  // namespace
}  // namespace cairn::sim
