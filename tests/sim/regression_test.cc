// Replays every seed that ever found a bug (scenarios/regressions/*.textproto, field
// regression_seeds): each must pass all of its checks. One test per file and seed, so that
// ctest runs them in parallel and a failure names its regression.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <tuple>

#include "sim/scenario_loader.h"
#include "sim/scenario_runner.h"

namespace cairn::sim {
namespace {

struct Regression {
  std::string path;
  uint64_t seed = 0;
};

void PrintTo(const Regression& regression, std::ostream* out) {
  *out << std::filesystem::path(regression.path).filename().string() << " seed " << regression.seed;
}

// Every (file, seed) of the folder; a file that does not load or names no seed is listed with
// seed 0, so that its test fails and says why.
std::vector<Regression> all_regressions() {
  std::vector<Regression> regressions;
  for (const auto& entry : std::filesystem::directory_iterator(CAIRN_SOURCE_DIR "/scenarios/regressions")) {
    if (entry.path().extension() != ".textproto") continue;
    auto scenario = load_scenario_file(entry.path().string());
    if (!scenario.ok() || scenario->regression_seeds_size() == 0) {
      regressions.push_back({entry.path().string(), 0});
      continue;
    }
    for (uint64_t seed : scenario->regression_seeds()) regressions.push_back({entry.path().string(), seed});
  }
  std::sort(regressions.begin(), regressions.end(),
            [](const Regression& a, const Regression& b) { return std::tie(a.path, a.seed) < std::tie(b.path, b.seed); });
  return regressions;
}

class Regressions : public ::testing::TestWithParam<Regression> {};

TEST_P(Regressions, SeedThatFoundABugStillPasses) {
  const Regression& regression = GetParam();
  auto scenario = load_scenario_file(regression.path);
  ASSERT_TRUE(scenario.ok()) << scenario.status().message();
  ASSERT_NE(regression.seed, 0u) << regression.path << " names no seed";
  auto report = run_scenario(*scenario, regression.seed, RunOptions{});
  ASSERT_TRUE(report.ok()) << report.status().message();
  for (const CheckOutcome& check : report->checks) {
    EXPECT_TRUE(check.passed) << regression.path << " seed " << regression.seed << ": " << check_name(check.check)
                              << ": " << check.detail;
  }
}

std::string regression_name(const ::testing::TestParamInfo<Regression>& info) {
  std::string name = std::filesystem::path(info.param.path).stem().string() + "_seed_" + std::to_string(info.param.seed);
  std::replace_if(name.begin(), name.end(), [](char c) { return !std::isalnum(static_cast<unsigned char>(c)); }, '_');
  return name;
}

INSTANTIATE_TEST_SUITE_P(EveryRegression, Regressions, ::testing::ValuesIn(all_regressions()), regression_name);

TEST(RegressionFolder, HoldsTheRegressionsFound) {
  // Guards against a wrong folder path, which would leave nothing to replay.
  EXPECT_GE(all_regressions().size(), 10u);
}

}  // namespace
}  // namespace cairn::sim
