// `cairn-sim shrink` and the failure histories of `cairn-sim sweep` as a user meets them: exit
// statuses, the written scenario that replays the failure, and a history file for every failing
// seed of a sweep.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "tests/support/sloppy_register.h"
#include "tests/support/test_support.h"

namespace {

using Outcome = cairn::testing::CommandOutcome;

Outcome cairn_sim(const std::string& arguments) { return cairn::testing::run_command(CAIRN_SIM_PATH, arguments); }

const std::string kRegisterPartitions = std::string(CAIRN_SOURCE_DIR) + "/scenarios/register_partitions.textproto";

std::string temporary(const std::string& name) {
  return ::testing::TempDir() + "/" + name + "-" + std::to_string(::getpid());
}

// Stale reads on most seeds (see tests/support/sloppy_register.h).
std::string write_sloppy_scenario() {
  const std::string path = temporary("sloppy") + ".textproto";
  std::ofstream(path) << cairn::testing::sloppy_register_scenario_text(/*read_quorum=*/2, /*write_quorum=*/1);
  return path;
}

TEST(ShrinkCli, BadInputExitsTwo) {
  const std::string sloppy = write_sloppy_scenario();
  for (const std::string& arguments :
       std::vector<std::string>{"shrink", "shrink " + sloppy, "shrink /nonexistent.textproto --seed 1",
                                "shrink " + sloppy + " --seed 1 --check bogus", "shrink " + sloppy + " --seed 1 --max-runs 0"}) {
    Outcome outcome = cairn_sim(arguments);
    EXPECT_EQ(outcome.exit_code, 2) << arguments << "\n" << outcome.output;
    EXPECT_FALSE(outcome.output.empty()) << arguments;
  }
}

TEST(ShrinkCli, APassingSeedHasNothingToShrink) {
  Outcome outcome = cairn_sim("shrink " + kRegisterPartitions + " --seed 1");
  EXPECT_EQ(outcome.exit_code, 1) << outcome.output;
  EXPECT_NE(outcome.output.find("nothing to shrink"), std::string::npos) << outcome.output;
}

TEST(ShrinkCli, WritesAScenarioThatReplaysTheFailure) {
  const std::string sloppy = write_sloppy_scenario();
  const std::string out = temporary("shrunk") + ".textproto";
  std::filesystem::remove(out);
  Outcome outcome = cairn_sim("shrink " + sloppy + " --seed 1 --max-runs 12 --out " + out);
  ASSERT_EQ(outcome.exit_code, 0) << outcome.output;
  EXPECT_NE(outcome.output.find("kept         [run "), std::string::npos) << outcome.output;
  // The program as it was invoked: here its full path.
  EXPECT_NE(outcome.output.find(std::string("replay       ") + CAIRN_SIM_PATH + " run " + out + " --seed 1"),
            std::string::npos)
      << outcome.output;
  ASSERT_TRUE(std::filesystem::exists(out));

  Outcome replay = cairn_sim("run " + out + " --seed 1");
  EXPECT_EQ(replay.exit_code, 1) << replay.output;
  EXPECT_NE(replay.output.find("FAIL  reads_see_acknowledged_writes"), std::string::npos) << replay.output;
  std::filesystem::remove(out);
}

TEST(SweepCli, FailingSeedsComeWithAHistoryFile) {
  const std::string sloppy = write_sloppy_scenario();
  const std::string directory = temporary("sweep-failures");
  std::filesystem::remove_all(directory);
  Outcome outcome = cairn_sim("sweep " + sloppy + " --seeds 1..2 --jobs 2 --failures-dir " + directory);
  EXPECT_EQ(outcome.exit_code, 1) << outcome.output;
  const std::string history = directory + "/register_partitions-seed-1.history.jsonl";
  EXPECT_NE(outcome.output.find("cairn-sim run " + sloppy + " --seed 1"), std::string::npos) << outcome.output;
  EXPECT_NE(outcome.output.find("history: " + history), std::string::npos) << outcome.output;
  ASSERT_TRUE(std::filesystem::exists(history));
  EXPECT_GT(std::filesystem::file_size(history), 0u);

  Outcome json = cairn_sim("sweep " + sloppy + " --seeds 1..1 --json --failures-dir " + directory);
  EXPECT_EQ(json.exit_code, 1) << json.output;
  EXPECT_NE(json.output.find("\"history\":\"" + history + "\""), std::string::npos) << json.output;
  std::filesystem::remove_all(directory);
}

}  // namespace
