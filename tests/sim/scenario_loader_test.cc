// Scenario files: every file under scenarios/ loads; invalid ones are rejected with the file,
// line and field named; defaults fill what a file leaves out.
#include <gtest/gtest.h>

#include <filesystem>

#include "sim/scenario_loader.h"
#include "sim/scenario_runner.h"

namespace cairn::sim {
namespace {

const std::string kMinimal = R"(
name: "t"
topology { regions { name: "a" nodes: 3 } }
workload { register { clients: 2 write_fraction: 0.5 } }
duration_seconds: 5
)";

// kMinimal with other register workload fields.
std::string with_workload(const std::string& fields) {
  std::string text = kMinimal;
  text.replace(text.find("clients: 2 write_fraction: 0.5"), 30, fields);
  return text;
}

std::string error_for(const std::string& text) {
  auto scenario = parse_scenario(text, "bad.textproto");
  EXPECT_FALSE(scenario.ok());
  return scenario.ok() ? "" : scenario.status().message();
}

TEST(ScenarioLoader, EveryShippedScenarioLoads) {
  int loaded = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(CAIRN_SOURCE_DIR "/scenarios")) {
    if (entry.path().extension() != ".textproto") continue;
    auto scenario = load_scenario_file(entry.path().string());
    EXPECT_TRUE(scenario.ok()) << entry.path() << ": " << scenario.status().message();
    ++loaded;
  }
  EXPECT_GE(loaded, 3);
}

TEST(ScenarioLoader, DefaultsFillOmittedFields) {
  auto scenario = parse_scenario(kMinimal, "minimal");
  ASSERT_TRUE(scenario.ok()) << scenario.status().message();
  EXPECT_EQ(scenario->disk().sector_size(), 512u);
  EXPECT_GT(scenario->network().local_latency_ms().max(), 0);
  EXPECT_EQ(scenario->network().mailbox_capacity(), 1024u);
  EXPECT_EQ(scenario->workload().register_().request_timeout_ms(), 1000);
}

TEST(ScenarioLoader, SyntaxErrorsNameFileLineAndColumn) {
  const std::string error = error_for("name: \"t\"\ntopology { regions { name: \"a\" nodez: 3 } }\n");
  EXPECT_NE(error.find("bad.textproto:2:"), std::string::npos) << error;
  EXPECT_NE(error.find("nodez"), std::string::npos) << error;
}

TEST(ScenarioLoader, UnknownEnumValueIsRejected) {
  const std::string error = error_for(kMinimal + "faults { faults { kind: COSMIC_RAY } }\n");
  EXPECT_NE(error.find("COSMIC_RAY"), std::string::npos) << error;
}

TEST(ScenarioLoader, SemanticErrorsNameLineAndField) {
  const std::string text = kMinimal +
                           "faults {\n"
                           "  faults { kind: MESSAGE_LOSS rate { min: 0.1 max: 1.5 } }\n"
                           "}\n";
  const std::string error = error_for(text);
  EXPECT_NE(error.find("bad.textproto:7: faults.faults[0].rate.max"), std::string::npos) << error;
}

TEST(ScenarioLoader, EveryProblemIsReported) {
  const std::string error = error_for(
      "name: \"\"\n"
      "topology { regions { name: \"a\" nodes: 0 } }\n"
      "workload { register { clients: 0 write_fraction: 2 } }\n"
      "duration_seconds: -1\n"
      "checks: LIVENESS\n");
  for (const char* field : {"name", "topology.regions", "workload.register.clients", "workload.register.write_fraction",
                            "duration_seconds", "checks[0]"}) {
    EXPECT_NE(error.find(field), std::string::npos) << field << " missing from:\n" << error;
  }
}

TEST(ScenarioLoader, MissingFileIsNotFound) {
  auto scenario = load_scenario_file("/nonexistent/x.textproto");
  ASSERT_FALSE(scenario.ok());
  EXPECT_EQ(scenario.status().code(), StatusCode::kNotFound);
  EXPECT_NE(scenario.status().message().find("/nonexistent/x.textproto"), std::string::npos);
}

const std::string kStorage = R"(
name: "s"
topology { regions { name: "a" nodes: 1 } }
workload { storage { read_fraction: 0.5 } }
duration_seconds: 5
checks: STORAGE_INTEGRITY
)";

TEST(ScenarioLoader, StorageWorkloadGetsDefaultsAndItsChecksAreMatched) {
  auto scenario = parse_scenario(kStorage, "s.textproto");
  ASSERT_TRUE(scenario.ok()) << scenario.status().message();
  EXPECT_EQ(scenario->workload().storage().keys(), 64u);
  EXPECT_EQ(scenario->workload().storage().wal_segment_bytes(), 65536u);
  EXPECT_NE(error_for(kMinimal + "checks: STORAGE_INTEGRITY\n").find("storage workload only"), std::string::npos);
  std::string register_check = kStorage;
  register_check.replace(register_check.find("STORAGE_INTEGRITY"), 17, "LIVENESS");
  EXPECT_NE(error_for(register_check).find("register and raft_kv workloads only"), std::string::npos);
  std::string bad_fraction = kStorage;
  bad_fraction.replace(bad_fraction.find("read_fraction: 0.5"), 18, "read_fraction: 2");
  EXPECT_NE(error_for(bad_fraction).find("workload.storage.read_fraction"), std::string::npos);
}

TEST(ScenarioLoader, OnlyDiskFaultsAimAtValidPaths) {
  const std::string aimed = kStorage + "faults { faults { kind: DISK_BIT_FLIP rate { min: 0.1 max: 0.1 } target_path: \"wal/\" } }\n";
  EXPECT_TRUE(parse_scenario(aimed, "s.textproto").ok());
  EXPECT_NE(error_for(kStorage + "faults { faults { kind: MESSAGE_LOSS rate { min: 0.1 max: 0.1 } target_path: \"wal/\" } }\n")
                .find("only disk faults"),
            std::string::npos);
  EXPECT_NE(error_for(kStorage + "faults { faults { kind: DISK_FULL rate { min: 0.1 max: 0.1 } target_path: \"../x\" } }\n")
                .find("target_path"),
            std::string::npos);
}

TEST(ScenarioLoader, QuorumsAndRegionsAreChecked) {
  EXPECT_NE(error_for(with_workload("clients: 1 read_quorum: 4")).find("read_quorum"), std::string::npos);
  EXPECT_NE(error_for(with_workload("clients: 1 client_region: \"mars\"")).find("mars"), std::string::npos);
}

}  // namespace
}  // namespace cairn::sim

namespace cairn::sim {
namespace {

TEST(ScenarioLoader, NotANumberIsRejectedEverywhere) {
  EXPECT_NE(error_for(kMinimal + "network { local_latency_ms { min: nan max: 1 } }\n").find("local_latency_ms.min"),
            std::string::npos);
  EXPECT_NE(error_for(kMinimal + "faults { faults { kind: MESSAGE_LOSS rate { min: 0 max: nan } } }\n").find("rate.max"),
            std::string::npos);
  EXPECT_NE(error_for(with_workload("clients: 1 request_timeout_ms: nan")).find("request_timeout_ms"),
            std::string::npos);
}

TEST(ScenarioLoader, BoundaryValuesThatAreAcceptedAlsoRun) {
  // The largest values the loader accepts must also be values a run survives: a limit that
  // parses and then crashes the simulator is no limit.
  for (const std::string& fault : {
           std::string("faults { kind: CLOCK_DRIFT magnitude { min: 100000 max: 100000 } }"),
           std::string("faults { kind: CLOCK_DRIFT magnitude { min: -100000 max: -100000 } }"),
           std::string("faults { kind: CLOCK_OFFSET magnitude { min: -86400000 max: 86400000 } }"),
           std::string("faults { kind: CLOCK_STEP rate { min: 6000 max: 6000 } magnitude { min: -86400000 max: 86400000 } }"),
           std::string("faults { kind: MESSAGE_REORDER rate { min: 1 max: 1 } magnitude { min: 60000 max: 60000 } }"),
           std::string("faults { kind: NODE_PAUSE rate { min: 6000 max: 6000 } duration_ms { min: 1 max: 3600000 } }"),
           std::string("faults { kind: BUGGIFY rate { min: 1 max: 1 } }"),
       }) {
    SCOPED_TRACE(fault);
    std::string text = kMinimal + "faults { " + fault + " }\n";
    text.replace(text.find("duration_seconds: 5"), 19, "duration_seconds: 1 quiesce_seconds: 1");
    auto scenario = parse_scenario(text, "boundary");
    ASSERT_TRUE(scenario.ok()) << scenario.status().message();
    Result<RunReport> report = run_scenario(*scenario, 1, RunOptions{});
    ASSERT_TRUE(report.ok()) << report.status().to_string();
    EXPECT_GT(report->events, 0u);
    EXPECT_NEAR(report->sim_seconds, 2.0, 1e-9) << "the run ends when its phases do";
    EXPECT_FALSE(report->faults.empty()) << "the fault at its limit was injected";
  }
}

TEST(ScenarioLoader, FaultsAreAimedAndTriggeredOnlyWhereThatMeansSomething) {
  const std::string raft_kv =
      "name: \"r\" topology { regions { name: \"a\" nodes: 3 } } workload { raft_kv { clients: 2 } } "
      "duration_seconds: 1 quiesce_seconds: 1 checks: RAFT_SAFETY\n";
  auto with_fault = [](std::string text, const std::string& fault) {
    text.replace(text.find("duration_seconds"), 0, "faults { faults { " + fault + " } } ");
    return text;
  };
  for (const char* aimed : {"kind: NODE_CRASH target: LEADER rate { min: 1 max: 1 } duration_ms { min: 1 max: 2 }",
                            "kind: PARTITION_MAJORITY_MINORITY target: LEADER rate { min: 1 max: 1 } "
                            "duration_ms { min: 1 max: 2 }",
                            "kind: CLOG_NODE target: FOLLOWER on_probe: \"raft.election.won\" rate { min: 0.5 max: 0.5 } "
                            "duration_ms { min: 1 max: 2 }"}) {
    auto scenario = parse_scenario(with_fault(raft_kv, aimed), "r.textproto");
    EXPECT_TRUE(scenario.ok()) << aimed << ": " << scenario.status().message();
  }
  // A split into two random halves has no one server to aim at; leaders exist in raft_kv only.
  EXPECT_NE(error_for(with_fault(raft_kv, "kind: PARTITION_SYMMETRIC target: LEADER rate { min: 1 max: 1 } "
                                          "duration_ms { min: 1 max: 2 }"))
                .find("target"),
            std::string::npos);
  EXPECT_NE(error_for(with_fault(kMinimal, "kind: NODE_CRASH target: LEADER rate { min: 1 max: 1 } "
                                           "duration_ms { min: 1 max: 2 }"))
                .find("raft_kv workload only"),
            std::string::npos);
  // Only episodes start at a probe, and a probe has a name of lowercase words joined by dots.
  EXPECT_NE(error_for(with_fault(raft_kv, "kind: MESSAGE_LOSS on_probe: \"raft.election.won\" rate { min: 0.1 max: 0.1 }"))
                .find("on_probe"),
            std::string::npos);
  EXPECT_NE(error_for(with_fault(raft_kv, "kind: NODE_CRASH on_probe: \"Raft Election\" rate { min: 0.1 max: 0.1 } "
                                          "duration_ms { min: 1 max: 2 }"))
                .find("not a probe name"),
            std::string::npos);
}

TEST(ScenarioLoader, RatesTooSmallToEverFireAreRejected) {
  const std::string error =
      error_for(kMinimal + "faults { faults { kind: NODE_CRASH rate { min: 1e-12 max: 1e-12 } duration_ms { min: 1 max: 2 } } }\n");
  EXPECT_NE(error.find("never fire"), std::string::npos) << error;
}

TEST(ScenarioLoader, TimeMustBeAbleToAdvance) {
  // (A range of 0..0 means "unset" and gets the default, so the trap needs tiny values.)
  const std::string error = error_for(with_workload("clients: 1 think_time_ms { min: 0 max: 1e-7 }") +
                                      "network { local_latency_ms { min: 0 max: 1e-7 } }\n");
  EXPECT_NE(error.find("never advance"), std::string::npos) << error;
}

TEST(ScenarioLoader, RaftKvWorkloadGetsDefaultsAndItsChecksAreMatched) {
  const std::string raft_kv =
      "name: \"r\" topology { regions { name: \"a\" nodes: 3 } } workload { raft_kv { clients: 2 } } "
      "duration_seconds: 1 quiesce_seconds: 1 checks: LINEARIZABLE checks: RAFT_SAFETY checks: LIVENESS\n";
  auto scenario = parse_scenario(raft_kv, "r.textproto");
  ASSERT_TRUE(scenario.ok()) << scenario.status().message();
  EXPECT_EQ(scenario->workload().raft_kv().keys(), 4u);
  EXPECT_EQ(scenario->workload().raft_kv().raft().election_ticks(), 10u);
  EXPECT_EQ(scenario->workload().raft_kv().raft().heartbeat_ticks(), 2u);
  EXPECT_NE(error_for(kMinimal + "checks: LINEARIZABLE\n").find("raft_kv workload only"), std::string::npos);
  std::string storage_check = raft_kv;
  storage_check.replace(storage_check.find("LINEARIZABLE"), 12, "STORAGE_INTEGRITY");
  EXPECT_NE(error_for(storage_check).find("storage workload only"), std::string::npos);
  std::string wipe = raft_kv;
  wipe.replace(wipe.find("duration_seconds"), 0, "faults { faults { kind: NODE_WIPE rate { min: 1 max: 1 } } } ");
  EXPECT_NE(error_for(wipe).find("NODE_WIPE is not supported with raft_kv"), std::string::npos);
  std::string timing = raft_kv;
  timing.replace(timing.find("clients: 2"), 10, "clients: 2 raft { election_ticks: 2 heartbeat_ticks: 2 }");
  EXPECT_NE(error_for(timing).find("election_ticks"), std::string::npos);
  std::string fractions = raft_kv;
  fractions.replace(fractions.find("clients: 2"), 10, "clients: 2 read_fraction: 0.7 cas_fraction: 0.5");
  EXPECT_NE(error_for(fractions).find("add up to more than 1"), std::string::npos);
}

}  // namespace
}  // namespace cairn::sim
