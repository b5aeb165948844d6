// The testbed's own instruments: coverage (buggify sites and probes), the per-client session
// checker, messages in short form, the readable event log and the Perfetto export, and the knobs
// a raft_kv run draws. Each is shown to see what it is for — and the checker to fail when it must.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "core/proto/kv.pb.h"
#include "core/proto/raft.pb.h"
#include "core/runtime/message.h"
#include "sim/checkers/json_reader.h"
#include "sim/checkers/session_checker.h"
#include "sim/coverage.h"
#include "sim/message_description.h"
#include "sim/report.h"
#include "sim/scenario_loader.h"
#include "sim/scenario_runner.h"

namespace cairn::sim {
namespace {

using linearizability::Function;
using linearizability::Operation;
using linearizability::Outcome;

std::string read_file(const std::filesystem::path& path) {
  std::ifstream file(path);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

// --- Coverage ------------------------------------------------------------------------------------

TEST(Coverage, ProbesAreCountedByNameAndHeardByTheListener) {
  Coverage coverage(1);
  std::vector<std::pair<NodeId, std::string>> heard;
  coverage.set_probe_listener([&](NodeId node, std::string_view name) { heard.emplace_back(node, std::string(name)); });
  coverage.probe(1, "a.b");
  coverage.probe(2, "a.b");
  const std::string dynamic = std::string("c.") + "d";  // not a literal: found by its text
  coverage.probe(1, dynamic);
  EXPECT_EQ(coverage.probe_hits(), (std::map<std::string, uint64_t>{{"a.b", 2}, {"c.d", 1}}));
  ASSERT_EQ(heard.size(), 3u);
  EXPECT_EQ(heard[1], (std::pair<NodeId, std::string>{2, "a.b"}));
}

TEST(Coverage, ASiteIsActiveForASeedByItsNameAloneAndOffAtRateZero) {
  // Which of 200 sites are active depends on the seed and the names, not on the order reached.
  auto active_sites = [](uint64_t seed, bool reversed) {
    Coverage coverage(seed);
    coverage.set_buggify_probability(1.0);
    Random random(7);
    std::set<int> active;
    for (int i = 0; i < 200; ++i) {
      const int site = reversed ? 199 - i : i;
      if (coverage.buggify("site." + std::to_string(site), random)) active.insert(site);
    }
    EXPECT_EQ(coverage.buggify_sites_reached(), 200u);
    EXPECT_EQ(coverage.buggify_sites_active(), active.size());
    return active;
  };
  const std::set<int> forward = active_sites(3, false);
  EXPECT_EQ(forward, active_sites(3, true));
  EXPECT_NE(forward, active_sites(4, false));
  EXPECT_GT(forward.size(), 20u);   // about a quarter
  EXPECT_LT(forward.size(), 80u);
  Coverage off(3);
  Random random(7);
  for (int i = 0; i < 200; ++i) EXPECT_FALSE(off.buggify("site." + std::to_string(i), random));
  EXPECT_TRUE(off.buggify_fired().empty());
}

TEST(FaultPointCatalog, EverySiteAndProbeOfTheCodeIsDocumentedAndThereAreAtLeastForty) {
  // The simulation guide lists every buggify site and coverage probe: a user choosing a probe
  // for on_probe or required_probes reads the list, so it must be the code's.
  std::set<std::string> sites;
  std::set<std::string> probes;
  const std::regex call(R"re((buggify|probe)\("([a-z0-9_.]+)"\))re");
  for (const char* folder : {"core", "storage", "sim"}) {
    const std::string root = std::string(CAIRN_SOURCE_DIR) + "/" + folder;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(root)) {
      if (entry.path().extension() != ".cc") continue;
      const std::string text = read_file(entry.path());
      for (auto it = std::sregex_iterator(text.begin(), text.end(), call); it != std::sregex_iterator();
           ++it) {
        ((*it)[1] == "buggify" ? sites : probes).insert((*it)[2]);
      }
    }
  }
  EXPECT_GE(sites.size(), 40u);
  EXPECT_GE(probes.size(), 20u);
  const std::string guide = read_file(std::string(CAIRN_SOURCE_DIR) + "/docs/simulation.md");
  for (const std::set<std::string>* names : {&sites, &probes}) {
    for (const std::string& name : *names) {
      EXPECT_NE(guide.find("`" + name + "`"), std::string::npos) << name << " is not in docs/simulation.md";
    }
  }
}

// --- Session checker -----------------------------------------------------------------------------

Operation op(uint64_t client, Function function, const std::string& value, int64_t invoke, int64_t complete) {
  Operation operation;
  operation.process = client;
  operation.function = function;
  operation.key = "k";
  if (!value.empty()) operation.value = value;
  operation.invoke_time = invoke;
  operation.complete_time = complete;
  operation.outcome = Outcome::kOk;
  return operation;
}

TEST(SessionChecker, AReadOlderThanTheClientsOwnWriteIsCaught) {
  // Client 1 wrote "b" (applied at index 7, after "a" at 5), then read "a".
  linearizability::History history = {op(1, Function::kWrite, "b", 10, 20), op(1, Function::kRead, "a", 30, 40)};
  WriteOrder order;
  order.value_index = {{"a", 5}, {"b", 7}};
  order.request_index[{1, 1, 1}] = 7;
  order.acknowledged_request[0] = {1, 1, 1};
  const SessionViolations violations = check_sessions(history, order);
  ASSERT_EQ(violations.read_your_writes.size(), 1u);
  EXPECT_NE(violations.read_your_writes[0].find("older than its own write at index 7"), std::string::npos);
  EXPECT_TRUE(violations.monotonic_reads.empty());
}

TEST(SessionChecker, ARetriedWriteCountsWhereItWasFirstApplied) {
  // The write was applied at 5; its retry, answered from deduplication, said index 9. Another
  // client's write at 8 is newer than this client's own, so reading it is fine.
  linearizability::History history = {op(1, Function::kWrite, "a", 10, 20), op(1, Function::kRead, "c", 30, 40)};
  WriteOrder order;
  order.value_index = {{"a", 5}, {"c", 8}};
  order.request_index[{1, 1, 1}] = 5;  // not 9
  order.acknowledged_request[0] = {1, 1, 1};
  const SessionViolations violations = check_sessions(history, order);
  EXPECT_TRUE(violations.read_your_writes.empty());
}

TEST(SessionChecker, ReadsGoingBackInTimeAreCaughtAndAbsentNeedsADelete) {
  linearizability::History history = {op(2, Function::kRead, "b", 10, 20), op(2, Function::kRead, "a", 30, 40),
                                      op(2, Function::kRead, "", 50, 60)};
  WriteOrder order;
  order.value_index = {{"a", 5}, {"b", 7}};
  SessionViolations violations = check_sessions(history, order);
  ASSERT_EQ(violations.monotonic_reads.size(), 2u) << "\"a\" after \"b\", and nothing after \"b\" with no delete";
  order.delete_indexes["k"] = {9};
  violations = check_sessions(history, order);
  ASSERT_EQ(violations.monotonic_reads.size(), 1u) << "a delete at 9 explains the absent key";
  EXPECT_NE(violations.monotonic_reads[0].find("read k = \"a\""), std::string::npos);
}

TEST(SessionChecker, OwnDeleteThenAbsentIsFineAndUnknownWritesSetNoFloor) {
  Operation own_delete = op(3, Function::kDelete, "", 10, 20);
  Operation unknown = op(3, Function::kWrite, "z", 21, 22);
  unknown.outcome = Outcome::kUnknown;
  linearizability::History history = {own_delete, unknown, op(3, Function::kRead, "", 30, 40)};
  WriteOrder order;
  order.value_index = {{"z", 12}};
  order.delete_indexes["k"] = {11};
  order.request_index[{1, 3, 1}] = 11;
  order.acknowledged_request[0] = {1, 3, 1};
  const SessionViolations violations = check_sessions(history, order);
  EXPECT_TRUE(violations.read_your_writes.empty());
  EXPECT_TRUE(violations.monotonic_reads.empty());
}

// --- Messages in short form ----------------------------------------------------------------------

TEST(MessageDescription, RaftAndKeyValueMessagesShowWhatExplainsASchedule) {
  proto::RaftMessage append;
  append.set_group(1);
  append.set_type(proto::RAFT_APPEND);
  append.set_term(3);
  append.set_index(41);
  append.set_log_term(3);
  append.set_commit(40);
  append.add_entries()->set_data(std::string(1000, 'x'));
  append.add_entries();
  proto::Envelope envelope;
  pack_payload(append, envelope);
  EXPECT_EQ(describe_envelope(envelope), "RaftMessage RAFT_APPEND group=1 term=3 index=41 log_term=3 commit=40 entries=2");

  proto::KvWriteRequest write;
  write.set_group(2);
  write.mutable_command()->mutable_put()->set_key("k7");
  write.mutable_command()->mutable_put()->set_value(std::string(16, 'v'));
  write.mutable_command()->set_client_id(1003);
  write.mutable_command()->set_request_id(5);
  proto::Envelope request;
  pack_payload(write, request);
  request.set_kind(proto::REQUEST);
  request.set_request_id(12);
  EXPECT_EQ(describe_envelope(request),
            "KvWriteRequest rpc=12 group=2 put k7 value=16B client=1003 request_id=5");

  proto::Envelope failed;
  failed.set_kind(proto::RESPONSE);
  failed.set_request_id(12);
  set_envelope_error(Status::unavailable("the leader changed"), failed);
  EXPECT_NE(describe_envelope(failed).find("reply rpc=12 error: UNAVAILABLE"), std::string::npos)
      << describe_envelope(failed);
}

// --- The event log and the Perfetto export -------------------------------------------------------

Result<proto::Scenario> short_raft_run() {
  return parse_scenario(
      "name: \"t\" topology { regions { name: \"a\" nodes: 3 } } workload { raft_kv { clients: 2 } } "
      "faults { faults { kind: NODE_CRASH rate { min: 30 max: 30 } duration_ms { min: 100 max: 200 } } } "
      "duration_seconds: 2 quiesce_seconds: 1 checks: LINEARIZABLE checks: RAFT_SAFETY\n",
      "t.textproto");
}

TEST(TraceOutputs, TheEventLogNamesFieldsAndPerfettoGetsFlowsTracksAndInstants) {
  auto scenario = short_raft_run();
  ASSERT_TRUE(scenario.ok()) << scenario.status().message();
  const auto directory = std::filesystem::temp_directory_path() / "cairn-testbed-trace";
  std::filesystem::create_directories(directory);
  RunOptions options;
  options.trace_log_path = (directory / "trace.log").string();
  options.perfetto_path = (directory / "trace.json").string();
  Result<RunReport> report = run_scenario(*scenario, 5, options);
  ASSERT_TRUE(report.ok()) << report.status().to_string();
  Result<RunReport> plain = run_scenario(*scenario, 5, RunOptions{});
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(report->trace_hash, plain->trace_hash) << "what is written never changes the run";

  const std::string log = read_file(options.trace_log_path);
  EXPECT_NE(log.find(" send from="), std::string::npos);
  EXPECT_NE(log.find(" to="), std::string::npos);
  EXPECT_NE(log.find("RaftMessage RAFT_"), std::string::npos);
  EXPECT_NE(log.find("KvWriteRequest rpc="), std::string::npos);
  EXPECT_NE(log.find(" client_invoke client="), std::string::npos);
  EXPECT_EQ(log.find(" a="), std::string::npos) << "no anonymous fields";

  Result<linearizability::JsonValue> json = linearizability::parse_json(read_file(options.perfetto_path));
  ASSERT_TRUE(json.ok()) << json.status().to_string();
  const linearizability::JsonValue* events = json->find("traceEvents");
  ASSERT_NE(events, nullptr);
  std::map<std::string, int> phases;
  std::set<std::string> flow_starts;
  std::set<std::string> flow_ends;
  std::set<std::string> process_names;
  for (const linearizability::JsonValue& event : events->items) {
    const std::string phase = event.find("ph")->text;
    ++phases[phase];
    if (phase == "s") flow_starts.insert(event.find("id")->text);
    if (phase == "f") flow_ends.insert(event.find("id")->text);
    if (phase == "M" && event.find("name")->text == "process_name") {
      process_names.insert(event.find("args")->find("name")->text);
    }
  }
  EXPECT_GT(phases["X"], 100);
  EXPECT_GT(phases["i"], 0) << "faults and crashes as instants";
  EXPECT_GT(phases["E"], 0) << "client operations as slices";
  EXPECT_LE(phases["E"], phases["B"]) << "an operation ends only after it began";
  EXPECT_TRUE(process_names.contains("server 1 (a)"));
  EXPECT_TRUE(process_names.contains("client 1001 (a)"));
  ASSERT_FALSE(flow_ends.empty());
  for (const std::string& id : flow_ends) EXPECT_TRUE(flow_starts.contains(id)) << "a delivery of no send: " << id;
  std::filesystem::remove_all(directory);
}

// --- Knobs ---------------------------------------------------------------------------------------

TEST(Knobs, EachSeedDrawsItsOwnWithinTheRangesAndKeepsThemConsistent) {
  auto scenario = parse_scenario(
      "name: \"t\" topology { regions { name: \"a\" nodes: 3 } } workload { raft_kv { clients: 1 "
      "knob_ranges { election_ticks { min: 6 max: 60 } heartbeat_ticks { min: 1 max: 30 } "
      "max_clock_drift_ticks { min: 1 max: 100 } max_inflight_appends { min: 1 max: 8 } } } } "
      "duration_seconds: 0.2 quiesce_seconds: 0.2 checks: RAFT_SAFETY\n",
      "knobs.textproto");
  ASSERT_TRUE(scenario.ok()) << scenario.status().message();
  std::set<uint64_t> elections;
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    Result<RunReport> report = run_scenario(*scenario, seed, RunOptions{});
    ASSERT_TRUE(report.ok());
    const std::map<std::string, uint64_t>& knobs = report->knobs;
    const uint64_t election = knobs.at("election_ticks");
    EXPECT_GE(election, 6u);
    EXPECT_LE(election, 60u);
    EXPECT_LE(knobs.at("heartbeat_ticks"), std::max<uint64_t>(1, election / 3)) << "heartbeats inside the timeout";
    EXPECT_LT(knobs.at("max_clock_drift_ticks"), election) << "a lease that is not empty";
    EXPECT_LE(knobs.at("max_inflight_appends"), 8u);
    EXPECT_EQ(knobs.at("compact_after_entries"), 4096u) << "no range: the default";
    elections.insert(election);
    EXPECT_NE(format_json_report(*report).find("\"knobs\":{"), std::string::npos);
  }
  EXPECT_GE(elections.size(), 5u) << "different seeds, different configurations";
}

}  // namespace
}  // namespace cairn::sim
