// `cairn-sim check-history` as a user meets it: exit 0 for a linearizable history, 1 with an
// explanation for a violation, 2 when the budget runs out or the input is bad; one JSON object
// with --json; the simulator's own histories (`run --history`) check as linearizable, and those
// of a register with quorums too small to be linearizable do not.
#include <gtest/gtest.h>

#include <fstream>
#include <unistd.h>

#include "tests/support/sloppy_register.h"
#include "tests/support/test_support.h"

namespace {

using Outcome = cairn::testing::CommandOutcome;

Outcome cairn_sim(const std::string& arguments) { return cairn::testing::run_command(CAIRN_SIM_PATH, arguments); }

std::string write_file(const std::string& name, const std::string& text) {
  const std::string path = ::testing::TempDir() + "/check-history-" + std::to_string(::getpid()) + "-" + name;
  std::ofstream(path) << text;
  return path;
}

const std::string kGood =
    "{\"process\":1,\"f\":\"write\",\"invoke_ns\":0,\"complete_ns\":10,\"type\":\"ok\",\"value\":\"a\"}\n"
    "{\"process\":2,\"f\":\"read\",\"invoke_ns\":20,\"complete_ns\":30,\"type\":\"ok\",\"value\":\"a\"}\n";

const std::string kStaleRead =
    "INFO  jepsen.util - 0\t:invoke\t:write\t1\n"
    "INFO  jepsen.util - 0\t:ok\t:write\t1\n"
    "INFO  jepsen.util - 0\t:invoke\t:write\t2\n"
    "INFO  jepsen.util - 0\t:ok\t:write\t2\n"
    "INFO  jepsen.util - 1\t:invoke\t:read\tnil\n"
    "INFO  jepsen.util - 1\t:ok\t:read\t1\n";

// Ten concurrent writes and reads that pin their order: more than a handful of states to search.
std::string hard_history() {
  std::string text;
  for (int i = 0; i < 10; ++i) text += std::to_string(i) + " :invoke :write " + std::to_string(i) + "\n";
  for (int i = 9; i >= 0; --i) text += "20 :invoke :read nil\n20 :ok :read " + std::to_string(i) + "\n";
  for (int i = 0; i < 10; ++i) text += std::to_string(i) + " :ok :write " + std::to_string(i) + "\n";
  return text;
}

TEST(CheckHistoryCli, LinearizableExitsZero) {
  Outcome outcome = cairn_sim("check-history --model register " + write_file("good.jsonl", kGood));
  EXPECT_EQ(outcome.exit_code, 0) << outcome.output;
  EXPECT_NE(outcome.output.find("LINEARIZABLE"), std::string::npos) << outcome.output;
}

TEST(CheckHistoryCli, ViolationExitsOneWithAnExplanation) {
  Outcome outcome = cairn_sim("check-history --model cas-register " + write_file("stale.log", kStaleRead));
  EXPECT_EQ(outcome.exit_code, 1) << outcome.output;
  EXPECT_NE(outcome.output.find("NOT LINEARIZABLE"), std::string::npos) << outcome.output;
  EXPECT_NE(outcome.output.find("reads \"1\", but the value is \"2\""), std::string::npos) << outcome.output;
  EXPECT_NE(outcome.output.find("(line 5)"), std::string::npos) << outcome.output;
}

TEST(CheckHistoryCli, ExhaustedBudgetExitsTwo) {
  const std::string path = write_file("hard.log", hard_history());
  Outcome small = cairn_sim("check-history --model register --max-states 3 " + path);
  EXPECT_EQ(small.exit_code, 2) << small.output;
  EXPECT_NE(small.output.find("UNKNOWN"), std::string::npos) << small.output;
  Outcome enough = cairn_sim("check-history --model register " + path);
  EXPECT_EQ(enough.exit_code, 0) << enough.output;
}

TEST(CheckHistoryCli, BadInputExitsTwoAndSaysWhere) {
  const std::string garbage = write_file("garbage.jsonl", kGood + "{\"process\":1,\"f\":\"read\"\n");
  Outcome outcome = cairn_sim("check-history --model register " + garbage);
  EXPECT_EQ(outcome.exit_code, 2) << outcome.output;
  EXPECT_NE(outcome.output.find(garbage + ": line 3:"), std::string::npos) << outcome.output;
  const std::string good = write_file("good2.jsonl", kGood);
  for (const std::string& arguments : std::vector<std::string>{
           "check-history " + good, "check-history --model queue " + good, "check-history --model register",
        "check-history --model register --format yaml " + good, "check-history --model register /nonexistent/file",
        "check-history --model register --max-states 0 " + good}) {
    Outcome bad = cairn_sim(arguments);
    EXPECT_EQ(bad.exit_code, 2) << arguments << "\n" << bad.output;
    EXPECT_FALSE(bad.output.empty()) << arguments;
  }
  const std::string with_cas = write_file("cas.log", "0 :invoke :cas [1 2]\n0 :ok :cas [1 2]\n");
  Outcome wrong_model = cairn_sim("check-history --model register " + with_cas);
  EXPECT_EQ(wrong_model.exit_code, 2) << wrong_model.output;
  EXPECT_NE(wrong_model.output.find("cas-register"), std::string::npos) << wrong_model.output;
}

TEST(CheckHistoryCli, JsonIsOneObject) {
  Outcome outcome = cairn_sim("check-history --model cas-register --json --format jepsen-log " +
                              write_file("stale-json.log", kStaleRead));
  EXPECT_EQ(outcome.exit_code, 1) << outcome.output;
  ASSERT_FALSE(outcome.output.empty());
  EXPECT_EQ(outcome.output.front(), '{');
  EXPECT_EQ(outcome.output.find('\n'), outcome.output.size() - 1) << "exactly one line";
  EXPECT_NE(outcome.output.find("\"verdict\":\"not_linearizable\""), std::string::npos) << outcome.output;
  EXPECT_NE(outcome.output.find("\"format\":\"jepsen-log\""), std::string::npos) << outcome.output;
  EXPECT_NE(outcome.output.find("\"state_after_prefix\":\"2\""), std::string::npos) << outcome.output;
}

TEST(CheckHistoryCli, TheSimulatorsHistoriesAreLinearizable) {
  const std::string history = ::testing::TempDir() + "/check-history-" + std::to_string(::getpid()) + "-sim.jsonl";
  for (const char* scenario : {"quickstart", "register_partitions"}) {
    Outcome run = cairn_sim("run " + std::string(CAIRN_SOURCE_DIR) + "/scenarios/" + scenario +
                            ".textproto --seed 2 --history " + history);
    ASSERT_EQ(run.exit_code, 0) << run.output;
    Outcome check = cairn_sim("check-history --model register " + history);
    EXPECT_EQ(check.exit_code, 0) << scenario << "\n" << check.output;
  }
}

TEST(CheckHistoryCli, ARegisterWithTooSmallQuorumsIsCaught) {
  // Quorums of one (R + W < N) let a read miss the latest write: not linearizable.
  const std::string scenario_path =
      write_file("sloppy.textproto", cairn::testing::sloppy_register_scenario_text(/*read_quorum=*/1, /*write_quorum=*/1));
  const std::string history = write_file("sloppy.jsonl", "");
  Outcome run = cairn_sim("run " + scenario_path + " --seed 1 --history " + history);
  ASSERT_NE(run.output.find("client ops"), std::string::npos) << run.output;
  Outcome check = cairn_sim("check-history --model register " + history);
  EXPECT_EQ(check.exit_code, 1) << check.output;
  EXPECT_NE(check.output.find("reads \"c"), std::string::npos) << check.output;
}

}  // namespace
