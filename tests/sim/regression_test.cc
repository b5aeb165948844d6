// Replays every seed that ever found a bug (scenarios/regressions/*.textproto, field
// regression_seeds): each must pass all of its checks.
#include <gtest/gtest.h>

#include <filesystem>

#include "sim/scenario_loader.h"
#include "sim/scenario_runner.h"

namespace cairn::sim {
namespace {

TEST(Regressions, EverySeedThatFoundABugStillPasses) {
  int replayed = 0;
  for (const auto& entry : std::filesystem::directory_iterator(CAIRN_SOURCE_DIR "/scenarios/regressions")) {
    if (entry.path().extension() != ".textproto") continue;
    auto scenario = load_scenario_file(entry.path().string());
    ASSERT_TRUE(scenario.ok()) << scenario.status().message();
    EXPECT_GT(scenario->regression_seeds_size(), 0) << entry.path() << " names no seed";
    for (uint64_t seed : scenario->regression_seeds()) {
      auto report = run_scenario(*scenario, seed, RunOptions{});
      ASSERT_TRUE(report.ok());
      for (const CheckOutcome& check : report->checks) {
        EXPECT_TRUE(check.passed) << entry.path().filename() << " seed " << seed << ": " << check_name(check.check)
                                  << ": " << check.detail;
      }
      ++replayed;
    }
  }
  EXPECT_GE(replayed, 2);
}

}  // namespace
}  // namespace cairn::sim
