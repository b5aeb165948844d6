// RegisterStore on the simulated disk: a loaded file is made durable before the node vouches
// for it (the regression of scenarios/regressions/register_rename_not_durable.textproto).
#include <gtest/gtest.h>

#include "core/register/register_store.h"
#include "core/runtime/event.h"
#include "sim_harness.h"

namespace cairn::sim {
namespace {

using testing::World;

// Incarnation 1 leaves register.dat renamed in but its directory unsynced, as a start whose
// directory fsync failed does; it then loads the file (as the retried start does) and, when
// `make_durable` is set, calls make_durable(). Returns what incarnation 2 loads after a crash.
RegisterStore::LoadOutcome outcome_after_crash(bool make_durable) {
  RegisterStore::LoadOutcome after_crash = RegisterStore::LoadOutcome::kDamaged;
  World world(11, 1, [&](Runtime& runtime, const BootContext& context) {
    FileSystem& fs = runtime.file_system();
    RegisterStore store(fs);
    if (context.incarnation == 1) {
      RegisterStore other(fs);
      ASSERT_TRUE(other.initialize(/*recovering=*/false).ok());
      // initialize() wrote register.dat atomically and synced the directory; undo the directory's
      // durability by renaming the file away and back without a sync of the directory.
      ASSERT_TRUE(fs.rename(RegisterStore::kFileName, "register.old").ok());
      ASSERT_TRUE(fs.sync_directory("").ok());
      ASSERT_TRUE(fs.rename("register.old", RegisterStore::kFileName).ok());
      ASSERT_EQ(store.load().outcome, RegisterStore::LoadOutcome::kLoaded);
      if (make_durable) {
        ASSERT_TRUE(store.make_durable().ok());
      }
      Event forever;
      forever.wait();
    } else {
      after_crash = store.load().outcome;
    }
  });
  world.start_all();
  world.run_for(seconds(1));
  world.node(1).crash();
  world.node(1).start();
  world.run_for(seconds(1));
  return after_crash;
}

TEST(RegisterStore, MakeDurableKeepsALoadedFileThroughAPowerLoss) {
  EXPECT_EQ(outcome_after_crash(/*make_durable=*/true), RegisterStore::LoadOutcome::kLoaded);
}

TEST(RegisterStore, WithoutMakeDurableTheLoadedFileIsLostAtAPowerLoss) {
  // The control: the situation the test above sets up really loses the file.
  EXPECT_EQ(outcome_after_crash(/*make_durable=*/false), RegisterStore::LoadOutcome::kFresh);
}

}  // namespace
}  // namespace cairn::sim
