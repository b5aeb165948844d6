// The simulated Runtime: virtual time, timeouts, clocks with drift and skew, crash (fibers
// unwound, unsynced data gone), restart from disk, pause, and buggify determinism.
#include <gtest/gtest.h>

#include "tests/support/test_support.h"

#include "core/runtime/event.h"
#include "core/runtime/mutex.h"
#include "core/runtime/timeout.h"
#include "sim_harness.h"

namespace cairn::sim {
namespace {

using cairn::testing::Tracked;

using testing::World;

TEST(SimRuntime, SleepAdvancesVirtualTimeExactly) {
  std::vector<int64_t> wake_times;
  World world(1, 1, [&](Runtime& runtime, const BootContext&) {
    for (int i = 0; i < 3; ++i) {
      runtime.sleep(milliseconds(250));
      wake_times.push_back(static_cast<SimNode&>(runtime).simulator().now());
    }
  });
  world.start_all();
  world.run_for(seconds(10));
  EXPECT_EQ(wake_times, (std::vector<int64_t>{250'000'000, 500'000'000, 750'000'000}));
}

TEST(SimRuntime, WithTimeoutUnblocksAndNests) {
  Status inner;
  Status outer;
  int64_t inner_at = 0;
  int64_t outer_at = 0;
  World world(2, 1, [&](Runtime& runtime, const BootContext&) {
    Simulator& simulator = static_cast<SimNode&>(runtime).simulator();
    Event never;
    inner = with_timeout(runtime, milliseconds(100), [&] { never.wait(); });
    inner_at = simulator.now();
    // An outer deadline that expires first unwinds through an inner, longer one.
    outer = with_timeout(runtime, milliseconds(50), [&] {
      Status nested = with_timeout(runtime, seconds(10), [&] { never.wait(); });
      ADD_FAILURE() << "the inner scope must not return: " << nested.to_string();
    });
    outer_at = simulator.now();
  });
  world.start_all();
  world.run_for(seconds(1));
  EXPECT_EQ(inner.code(), StatusCode::kTimeout);
  EXPECT_EQ(inner_at, 100'000'000);
  EXPECT_EQ(outer.code(), StatusCode::kTimeout);
  EXPECT_EQ(outer_at, 150'000'000);
}

TEST(SimRuntime, TimeoutReleasesAMutexWaiterCleanly) {
  Status timed_out;
  bool later_lock = false;
  World world(3, 1, [&](Runtime& runtime, const BootContext&) {
    Mutex mutex;
    runtime.spawn("holder", [&] {
      std::lock_guard lock(mutex);
      runtime.sleep(milliseconds(500));
    });
    runtime.sleep(milliseconds(1));
    timed_out = with_timeout(runtime, milliseconds(100), [&] { std::lock_guard lock(mutex); });
    std::lock_guard lock(mutex);  // after the holder is done
    later_lock = true;
  });
  world.start_all();
  world.run_for(seconds(2));
  EXPECT_EQ(timed_out.code(), StatusCode::kTimeout);
  EXPECT_TRUE(later_lock);
}

TEST(SimRuntime, DriftChangesHowLongLocalTimeTakes) {
  int64_t woke_at = 0;
  World world(4, 1, [&](Runtime& runtime, const BootContext&) {
    runtime.sleep(seconds(1));
    woke_at = static_cast<SimNode&>(runtime).simulator().now();
  });
  world.node(1).clock().set_drift_ppm(100'00, 0);  // 1% fast: a local second passes sooner
  world.start_all();
  world.run_for(seconds(5));
  EXPECT_NEAR(static_cast<double>(woke_at), 1e9 / 1.01, 2.0);
}

TEST(SimRuntime, WallClockCarriesOffsetAndStepsWhileMonotonicStaysMonotonic) {
  World world(5, 2, [](Runtime&, const BootContext&) {});
  SimNode& a = world.node(1);
  SimNode& b = world.node(2);
  EXPECT_NE(b.now().time_since_epoch(), a.now().time_since_epoch()) << "machines boot at different times";
  EXPECT_EQ(b.wall_now(), a.wall_now()) << "yet their calendar clocks agree, boot times notwithstanding";
  b.clock().set_offset(seconds(3));
  EXPECT_EQ(b.wall_now() - a.wall_now(), seconds(3)) << "an offset shows on the wall clock";
  const MonotonicTime before = b.now();
  const WallTime wall_before = b.wall_now();
  b.clock().step(-seconds(10));
  EXPECT_LT(b.wall_now(), wall_before) << "a step moves the wall clock back";
  EXPECT_EQ(b.now(), before) << "but not the monotonic clock";
}

TEST(SimRuntime, CrashUnwindsFibersAndDropsUnsyncedData) {
  int live = 0;
  int boots = 0;
  std::string recovered;
  World world(6, 1, [&](Runtime& runtime, const BootContext& context) {
    ++boots;
    FileSystem& fs = runtime.file_system();
    if (context.incarnation == 1) {
      auto file = fs.open("data", OpenOptions::create_or_open());
      ASSERT_TRUE(file.ok());
      ASSERT_TRUE(fs.sync_directory("").ok());
      ASSERT_TRUE((*file)->write(0, as_bytes("synced")).ok());
      ASSERT_TRUE((*file)->sync().ok());
      ASSERT_TRUE((*file)->write(6, as_bytes("+unsynced")).ok());
      for (int i = 0; i < 4; ++i) {
        runtime.spawn("worker", [&] {
          Tracked tracked(&live);
          runtime.sleep(seconds(3600));
        });
      }
      Tracked tracked(&live);
      Event forever;
      forever.wait();
    } else {
      recovered = read_whole_file(fs, "data").value_or("unreadable");
    }
  });
  world.start_all();
  world.run_for(seconds(1));
  EXPECT_EQ(live, 5);
  world.node(1).crash();
  EXPECT_EQ(live, 0) << "every fiber unwound with its destructors";
  EXPECT_FALSE(world.node(1).up());
  world.node(1).start();
  world.run_for(seconds(1));
  EXPECT_EQ(boots, 2);
  EXPECT_EQ(recovered, "synced");
}

TEST(SimRuntime, WipeGivesABlankDisk) {
  bool existed_after_wipe = true;
  World world(7, 1, [&](Runtime& runtime, const BootContext& context) {
    FileSystem& fs = runtime.file_system();
    if (context.incarnation == 1) {
      ASSERT_TRUE(write_file_atomically(fs, "kept", "x").ok());
    } else {
      existed_after_wipe = fs.exists("kept").value();
    }
  });
  world.start_all();
  world.run_for(seconds(1));
  world.node(1).wipe();
  world.node(1).start();
  world.run_for(seconds(1));
  EXPECT_FALSE(existed_after_wipe);
}

TEST(SimRuntime, PausedNodeFreezesAndResumes) {
  int ticks = 0;
  World world(8, 1, [&](Runtime& runtime, const BootContext&) {
    while (true) {
      runtime.sleep(milliseconds(100));
      ++ticks;
    }
  });
  world.start_all();
  world.run_for(milliseconds(1050));
  EXPECT_EQ(ticks, 10);
  world.node(1).pause();
  world.run_for(seconds(2));
  EXPECT_EQ(ticks, 10) << "no progress while paused";
  world.node(1).unpause();
  world.run_for(milliseconds(1));
  EXPECT_GT(ticks, 10) << "timers that fired during the pause run at once";
}

TEST(SimRuntime, BuggifyIsDeterministicPerSeedAndOffWithoutTheFault) {
  auto fires = [](uint64_t seed, double probability) {
    std::vector<bool> outcomes;
    World world(seed, 1, [&](Runtime& runtime, const BootContext&) {
      for (int i = 0; i < 200; ++i) {
        outcomes.push_back(runtime.buggify("site-" + std::to_string(i % 20)));
      }
    });
    world.simulator.coverage().set_buggify_probability(probability);
    world.start_all();
    world.run_for(seconds(1));
    return outcomes;
  };
  const auto first = fires(11, 0.5);
  EXPECT_EQ(first, fires(11, 0.5));
  EXPECT_NE(std::count(first.begin(), first.end(), true), 0);
  const auto off = fires(11, 0.0);
  EXPECT_EQ(std::count(off.begin(), off.end(), true), 0);
}

}  // namespace
}  // namespace cairn::sim
