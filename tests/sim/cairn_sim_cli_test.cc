// The cairn-sim command line as a user meets it: exit statuses, usage messages for bad flags,
// located errors for bad scenario files, the JSON contract of `run --json`, and sweeps that
// print the replay command of every failing seed.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <regex>
#include <sstream>
#include <unistd.h>

#include "tests/support/sloppy_register.h"
#include "tests/support/test_support.h"

namespace {

using Outcome = cairn::testing::CommandOutcome;

Outcome cairn_sim(const std::string& arguments) { return cairn::testing::run_command(CAIRN_SIM_PATH, arguments); }

const std::string kQuickstart = std::string(CAIRN_SOURCE_DIR) + "/scenarios/quickstart.textproto";

// The quickstart scenario cut to two simulated seconds (half a minute with ASan's fake stacks is
// what a full one costs), written to a temporary file; `extra` is appended to it.
std::string short_quickstart(const std::string& name, const std::string& extra = "") {
  std::ifstream file(kQuickstart);
  std::stringstream read;
  read << file.rdbuf();
  std::string text = read.str();
  for (const auto& [field, value] : {std::pair{"duration_seconds: ", "1"}, std::pair{"quiesce_seconds: ", "1"}}) {
    const std::size_t at = text.find(std::string("\n") + field);
    EXPECT_NE(at, std::string::npos) << field;
    if (at == std::string::npos) continue;
    const std::size_t end = text.find('\n', at + 1);
    text.replace(at + 1, end - at - 1, std::string(field) + value);
  }
  const std::string path = ::testing::TempDir() + "/" + name + "-" + std::to_string(::getpid()) + ".textproto";
  std::ofstream(path) << text << extra;
  return path;
}

TEST(CairnSimCli, NoCommandPrintsUsage) {
  Outcome outcome = cairn_sim("");
  EXPECT_EQ(outcome.exit_code, 2);
  EXPECT_NE(outcome.output.find("run"), std::string::npos) << outcome.output;
  EXPECT_NE(outcome.output.find("sweep"), std::string::npos) << outcome.output;
}

TEST(CairnSimCli, BadFlagsAreUsageErrors) {
  for (const std::string& arguments : std::vector<std::string>{"run", "run " + kQuickstart + " --seed abc", "run " + kQuickstart + " --seed -1",
                                       "shrink " + kQuickstart + " --seed -1", "run " + kQuickstart + " --bogus",
                                       "sweep " + kQuickstart, "sweep " + kQuickstart + " --seeds 9..3",
                                       "sweep " + kQuickstart + " --seeds 1..2 --jobs 0"}) {
    Outcome outcome = cairn_sim(arguments);
    EXPECT_EQ(outcome.exit_code, 2) << arguments << "\n" << outcome.output;
    EXPECT_FALSE(outcome.output.empty()) << arguments;
  }
}

TEST(CairnSimCli, HelpExplainsCommands) {
  Outcome outcome = cairn_sim("run --help");
  EXPECT_EQ(outcome.exit_code, 0);
  for (const char* flag : {"--seed", "--json", "--trace-log", "--history"}) {
    EXPECT_NE(outcome.output.find(flag), std::string::npos) << flag;
  }
}

TEST(CairnSimCli, InvalidScenarioNamesFileAndLine) {
  const std::string path = ::testing::TempDir() + "/invalid-" + std::to_string(::getpid()) + ".textproto";
  std::ofstream(path) << "name: \"x\"\ntopology { regions { name: \"a\" nodes: 3 } }\nbogus_field: 1\n";
  Outcome outcome = cairn_sim("run " + path);
  EXPECT_EQ(outcome.exit_code, 2);
  EXPECT_NE(outcome.output.find(path + ":3:"), std::string::npos) << outcome.output;
  EXPECT_NE(outcome.output.find("bogus_field"), std::string::npos) << outcome.output;
}

TEST(CairnSimCli, ADirectoryGivenAsAScenarioIsNamedAsSuch) {
  Outcome outcome = cairn_sim("run " + std::string(CAIRN_SOURCE_DIR) + "/scenarios --seed 1");
  EXPECT_EQ(outcome.exit_code, 2) << outcome.output;
  EXPECT_NE(outcome.output.find("is a directory; give a scenario file"), std::string::npos) << outcome.output;
  EXPECT_EQ(outcome.output.find("missing"), std::string::npos) << outcome.output;
}

TEST(CairnSimCli, TheExampleThatFailsByDesignFailsAndItsReplayLineRunsAsPrinted) {
  // The README's sweep and shrink examples use it: it must keep failing.
  const std::string example = std::string(CAIRN_SOURCE_DIR) + "/scenarios/examples/register_sloppy_quorums.textproto";
  Outcome outcome = cairn_sim("run " + example + " --seed 1");
  EXPECT_EQ(outcome.exit_code, 1) << outcome.output;
  // The replay line names the program as it was invoked (here its full path), so it works as is.
  EXPECT_NE(outcome.output.find(std::string("replay       ") + CAIRN_SIM_PATH + " run " + example + " --seed 1"),
            std::string::npos)
      << outcome.output;
}

TEST(CairnSimCli, JsonOutputIsOneObjectWithTheContractFields) {
  Outcome outcome = cairn_sim("run " + kQuickstart + " --seed 1 --json");
  ASSERT_EQ(outcome.exit_code, 0) << outcome.output;
  ASSERT_FALSE(outcome.output.empty());
  EXPECT_EQ(outcome.output.front(), '{');
  EXPECT_EQ(outcome.output.find('\n'), outcome.output.size() - 1) << "exactly one line";
  const std::regex contract(
      R"(^\{"scenario":"quickstart","seed":1,"ok":true,"trace_hash":"[0-9a-f]{16}","sim_seconds":[0-9.e+]+,)"
      R"("wall_seconds":[0-9.e+-]+,"events":[0-9]+,"messages":[0-9]+,"faults":\{[^}]*\},)"
      R"("ops":\{"ok":[0-9]+,"failed":[0-9]+,"unknown":[0-9]+\},"checks":\{("[a-z_]+":"pass",?)+\})");
  EXPECT_TRUE(std::regex_search(outcome.output, contract)) << outcome.output;
  Outcome again = cairn_sim("run " + kQuickstart + " --seed 1 --json");
  const std::regex hash(R"re("trace_hash":"([0-9a-f]{16})")re");
  std::smatch first;
  std::smatch second;
  ASSERT_TRUE(std::regex_search(outcome.output, first, hash));
  ASSERT_TRUE(std::regex_search(again.output, second, hash));
  EXPECT_EQ(first[1], second[1]) << "same seed, same hash";
}

TEST(CairnSimCli, HumanSummaryShowsChecksAndHash) {
  Outcome outcome = cairn_sim("run " + kQuickstart + " --seed 3");
  EXPECT_EQ(outcome.exit_code, 0) << outcome.output;
  EXPECT_NE(outcome.output.find("trace hash"), std::string::npos);
  EXPECT_NE(outcome.output.find("pass  acknowledged_writes_durable"), std::string::npos) << outcome.output;
}

TEST(CairnSimCli, SweepReportsFailingSeedsWithReplayCommands) {
  // Quorums of one (R + W < N) are not linearizable: the sweep must find failing seeds.
  const std::string path = ::testing::TempDir() + "/sloppy-" + std::to_string(::getpid()) + ".textproto";
  // Two simulated seconds of the sloppy register: enough for quorums of one to fail on most seeds.
  std::string text = cairn::testing::sloppy_register_scenario_text(/*read_quorum=*/1, /*write_quorum=*/1);
  text.replace(text.find("duration_seconds: 8"), 19, "duration_seconds: 1");
  text.replace(text.find("quiesce_seconds: 4"), 18, "quiesce_seconds: 1");
  std::ofstream(path) << text;
  Outcome outcome = cairn_sim("sweep " + path + " --seeds 1..4 --jobs 2 --failures-dir " + ::testing::TempDir() +
                              "/sweep-failures-" + std::to_string(::getpid()));
  EXPECT_EQ(outcome.exit_code, 1) << outcome.output;
  EXPECT_NE(outcome.output.find("cairn-sim run " + path + " --seed"), std::string::npos) << outcome.output;
  EXPECT_NE(outcome.output.find("reads_see_acknowledged_writes"), std::string::npos) << outcome.output;

  Outcome clean = cairn_sim("sweep " + kQuickstart + " --seeds 1..4 --jobs 2 --json");
  EXPECT_EQ(clean.exit_code, 0) << clean.output;
  EXPECT_NE(clean.output.find("\"runs\":4,\"passed\":4,\"failed\":0"), std::string::npos) << clean.output;
}

TEST(CairnSimCli, FreshSeedsAreANewRangeOnEveryRunAndSayWhichOneRan) {
  const auto range_of = [](const std::string& output) {
    std::smatch match;
    EXPECT_TRUE(std::regex_search(output, match, std::regex("fresh seeds ([0-9]+)\\.\\.([0-9]+)"))) << output;
    return match.size() == 3 ? std::pair{std::stoull(match[1]), std::stoull(match[2])} : std::pair{0ull, 0ull};
  };
  const std::string scenario = short_quickstart("fresh");
  const Outcome first = cairn_sim("sweep " + scenario + " --seeds fresh:2 --jobs 2 --json");
  const Outcome second = cairn_sim("sweep " + scenario + " --seeds fresh:2 --jobs 2 --json");
  EXPECT_EQ(first.exit_code, 0) << first.output;
  const auto [low, high] = range_of(first.output);
  EXPECT_EQ(high, low + 1);
  EXPECT_GE(low, 1'000'000u) << "never the fixed low seeds";
  EXPECT_NE(range_of(second.output), range_of(first.output));
  EXPECT_NE(first.output.find("\"first_seed\":" + std::to_string(low)), std::string::npos) << first.output;
  EXPECT_EQ(cairn_sim("sweep " + kQuickstart + " --seeds fresh:0").exit_code, 2);
  EXPECT_EQ(cairn_sim("sweep " + kQuickstart + " --seeds fresh:x").exit_code, 2);
}

TEST(CairnSimCli, ASweepFailsWhenARequiredProbeIsNeverHit) {
  const std::string path = short_quickstart("probes", "\nrequired_probes: \"no.such.probe\"\n");
  const Outcome missing = cairn_sim("sweep " + path + " --seeds 1..2 --jobs 2");
  EXPECT_EQ(missing.exit_code, 1) << missing.output;
  EXPECT_NE(missing.output.find("NEVER HIT: no.such.probe"), std::string::npos) << missing.output;
  const Outcome json = cairn_sim("sweep " + path + " --seeds 1..2 --jobs 2 --json");
  EXPECT_NE(json.output.find("\"missing_probes\":[\"no.such.probe\"]"), std::string::npos) << json.output;
  const std::string register_path =
      short_quickstart("register-probes", "\nrequired_probes: \"kv.state_machine.duplicate_request_skipped\"\n");
  // quickstart runs the register, which has no such probe: still never hit.
  EXPECT_EQ(cairn_sim("sweep " + register_path + " --seeds 1..2 --jobs 2").exit_code, 1);
}

TEST(CairnSimCli, StopAtFirstFailureFindsTheLowestFailingSeed) {
  const std::string path = ::testing::TempDir() + "/stop-" + std::to_string(::getpid()) + ".textproto";
  // Two simulated seconds of the sloppy register: enough for quorums of one to fail on most seeds.
  std::string text = cairn::testing::sloppy_register_scenario_text(/*read_quorum=*/1, /*write_quorum=*/1);
  text.replace(text.find("duration_seconds: 8"), 19, "duration_seconds: 1");
  text.replace(text.find("quiesce_seconds: 4"), 18, "quiesce_seconds: 1");
  std::ofstream(path) << text;
  const std::string failures = " --failures-dir " + ::testing::TempDir() + "/stop-failures-" + std::to_string(::getpid());
  const std::string quick = " --no-histories" + failures;
  const Outcome all = cairn_sim("sweep " + path + " --seeds 1..6 --jobs 2 --json" + quick);
  const Outcome stopped = cairn_sim("sweep " + path + " --seeds 1..6 --jobs 2 --json --stop-at-first-failure" + quick);
  std::smatch lowest;
  ASSERT_TRUE(std::regex_search(all.output, lowest, std::regex("\"failures\":\\[\\{\"seed\":([0-9]+)"))) << all.output;
  EXPECT_NE(stopped.output.find("\"first_failing_seed\":" + lowest[1].str()), std::string::npos) << stopped.output;
  std::smatch runs;
  ASSERT_TRUE(std::regex_search(stopped.output, runs, std::regex("\"runs\":([0-9]+)")));
  EXPECT_LE(std::stoull(runs[1]), std::stoull(lowest[1]) + 1) << "at most one seed beyond the first failure (two jobs)";
}

}  // namespace
