// The simulator's central promise: a run is a pure function of (binary, scenario, seed). Every
// scenario under scenarios/ (regressions included) is run twice with one seed and must give the
// same trace hash and the same report; another seed must give a different hash.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
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

// One test per scenario file, so that ctest spreads them over its jobs. The property holds for
// a run of any length, so each run is capped at 8 simulated seconds of faults and 2 of quiesce:
// enough for every fault and workload of the file to act, short enough for the sanitizer build.
class DeterminismOf : public ::testing::TestWithParam<std::string> {};

TEST_P(DeterminismOf, SameSeedSameHashDifferentSeedDifferentHash) {
  const std::string file = CAIRN_SOURCE_DIR "/scenarios/" + GetParam();
  auto scenario = load_scenario_file(file);
  ASSERT_TRUE(scenario.ok()) << scenario.status().message();
  scenario->set_duration_seconds(std::min(scenario->duration_seconds(), 8.0));
  scenario->set_quiesce_seconds(std::min(scenario->quiesce_seconds(), 2.0));
  auto first = run_scenario(*scenario, 1, RunOptions{});
  auto second = run_scenario(*scenario, 1, RunOptions{});
  auto other = run_scenario(*scenario, 2, RunOptions{});
  ASSERT_TRUE(first.ok() && second.ok() && other.ok());
  EXPECT_EQ(first->trace_hash, second->trace_hash) << file;
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
  EXPECT_NE(first->trace_hash, other->trace_hash) << file;
}

std::vector<std::string> scenario_names() {
  std::vector<std::string> names;
  for (const std::string& file : scenario_files()) {
    names.push_back(std::filesystem::relative(file, CAIRN_SOURCE_DIR "/scenarios").string());
  }
  return names;
}

INSTANTIATE_TEST_SUITE_P(Scenarios, DeterminismOf, ::testing::ValuesIn(scenario_names()),
                         [](const ::testing::TestParamInfo<std::string>& parameter) {
                           std::string name = parameter.param;
                           for (char& c : name) {
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           }
                           return name;
                         });

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
