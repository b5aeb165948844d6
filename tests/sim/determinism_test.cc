// The simulator's central promise: a run is a pure function of (binary, scenario, seed). Every
// scenario under scenarios/ (regressions included) is run twice with one seed and must give the
// same trace hash and the same report; different seeds must give different hashes.
#include <gtest/gtest.h>

#include <filesystem>
#include <unistd.h>

#include "sim/report.h"
#include "sim/scenario_loader.h"
#include "sim/scenario_runner.h"

namespace cairn::sim {
namespace {

std::vector<std::string> scenario_files() {
  std::vector<std::string> files;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(CAIRN_SOURCE_DIR "/scenarios")) {
    if (entry.path().extension() == ".textproto") files.push_back(entry.path().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

TEST(Determinism, SameSeedSameHashDifferentSeedDifferentHash) {
  const auto files = scenario_files();
  ASSERT_FALSE(files.empty());
  for (const std::string& file : files) {
    auto scenario = load_scenario_file(file);
    ASSERT_TRUE(scenario.ok()) << scenario.status().message();
    for (uint64_t seed : {1u, 2u}) {
      auto first = run_scenario(*scenario, seed, RunOptions{});
      auto second = run_scenario(*scenario, seed, RunOptions{});
      ASSERT_TRUE(first.ok() && second.ok());
      EXPECT_EQ(first->trace_hash, second->trace_hash) << file << " seed " << seed;
      EXPECT_EQ(first->events, second->events) << file;
      EXPECT_EQ(first->ops_ok, second->ops_ok) << file;
      EXPECT_EQ(first->faults, second->faults) << file;
      // The JSON report is identical apart from the wall-clock time.
      auto strip_wall = [](std::string json) {
        const auto begin = json.find("\"wall_seconds\":");
        const auto end = json.find(',', begin);
        return json.erase(begin, end - begin);
      };
      EXPECT_EQ(strip_wall(format_json_report(*first)), strip_wall(format_json_report(*second))) << file;
    }
    auto one = run_scenario(*scenario, 1, RunOptions{});
    auto two = run_scenario(*scenario, 2, RunOptions{});
    EXPECT_NE(one->trace_hash, two->trace_hash) << file;
  }
}

TEST(Determinism, TraceLogDoesNotChangeTheHash) {
  auto scenario = load_scenario_file(CAIRN_SOURCE_DIR "/scenarios/quickstart.textproto");
  ASSERT_TRUE(scenario.ok());
  const std::string log = ::testing::TempDir() + "/cairn-trace-" + std::to_string(::getpid()) + ".log";
  RunOptions logged;
  logged.trace_log_path = log;
  logged.log_level = LogLevel::kDebug;
  auto with_log = run_scenario(*scenario, 9, logged);
  auto without = run_scenario(*scenario, 9, RunOptions{});
  ASSERT_TRUE(with_log.ok() && without.ok());
  EXPECT_EQ(with_log->trace_hash, without->trace_hash);
  EXPECT_GT(std::filesystem::file_size(log), 0u);
  std::filesystem::remove(log);
}

}  // namespace
}  // namespace cairn::sim
