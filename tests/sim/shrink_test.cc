// The shrinker and the histories of a sweep's failures, as a library: a scenario whose quorums
// are too small (read_quorum 2 + write_quorum 1 = 3 servers, not linearizable) fails
// reads_see_acknowledged_writes; the shrinker must return a smaller scenario that, run again,
// still fails it, and must refuse to shrink a run that passes. Also the time limit of the child
// processes that runs (and a sweep's seeds) go through.
#include <gtest/gtest.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "sim/failure_history.h"
#include "sim/isolated_run.h"
#include "sim/scenario_loader.h"
#include "sim/scenario_runner.h"
#include "sim/shrink.h"
#include "tests/support/sloppy_register.h"
#include "sim/sweep.h"

namespace cairn::sim {
namespace {

const std::string kStaleReads = "reads_see_acknowledged_writes";

proto::Scenario load(const std::string& name) {
  Result<proto::Scenario> scenario = load_scenario_file(CAIRN_SOURCE_DIR "/scenarios/" + name + ".textproto");
  CAIRN_ASSERT(scenario.ok(), scenario.status().message());
  return *scenario;
}

proto::Scenario sloppy_quorums() {
  Result<proto::Scenario> scenario =
      parse_scenario(testing::sloppy_register_scenario_text(/*read_quorum=*/2, /*write_quorum=*/1), "sloppy.textproto");
  CAIRN_ASSERT(scenario.ok(), scenario.status().message());
  return *scenario;
}

bool fails_check_in_process(const proto::Scenario& scenario, uint64_t seed, const std::string& check) {
  Result<RunReport> report = run_scenario(scenario, seed, RunOptions{});
  EXPECT_TRUE(report.ok()) << report.status();
  if (!report.ok()) return false;
  return std::any_of(report->checks.begin(), report->checks.end(),
                     [&](const CheckOutcome& outcome) { return !outcome.passed && check_name(outcome.check) == check; });
}

TEST(Shrink, ReturnsASmallerScenarioThatStillFailsTheSameCheck) {
  proto::Scenario input = sloppy_quorums();
  input.add_regression_seeds(1);
  input.add_regression_seeds(2);
  // Most seeds fail (seed 1 today); the first failing one keeps the test independent of which.
  uint64_t seed = 1;
  while (seed < 5 && !fails_check_in_process(input, seed, kStaleReads)) ++seed;
  std::vector<ShrinkStep> reported;
  ShrinkOptions options{.seed = seed, .max_runs = 24};
  options.on_step = [&](const ShrinkStep& step) { reported.push_back(step); };
  Result<ShrinkResult> result = shrink_failing_run(input, options);
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_TRUE(result->original_failed);
  EXPECT_EQ(result->target, kStaleReads);
  EXPECT_FALSE(result->steps.empty());
  EXPECT_EQ(reported.size(), result->steps.size());
  EXPECT_LE(result->runs, 24u);

  // The kept scenario fails when run again here, in this process, and after a trip through the
  // text format (the file the command writes).
  EXPECT_TRUE(fails_check_in_process(result->scenario, seed, kStaleReads));
  Result<proto::Scenario> reloaded = parse_scenario(scenario_text(result->scenario), "shrunk.textproto");
  ASSERT_TRUE(reloaded.ok()) << reloaded.status();
  EXPECT_TRUE(fails_check_in_process(*reloaded, seed, kStaleReads));

  const ScenarioSize before = scenario_size(input);
  const ScenarioSize after = scenario_size(result->scenario);
  EXPECT_LE(after.faults, before.faults);
  EXPECT_LE(after.clients, before.clients);
  EXPECT_LE(after.duration_seconds, before.duration_seconds);
  EXPECT_LE(after.quiesce_seconds, before.quiesce_seconds);
  EXPECT_EQ(after.regression_seeds, 0);
  EXPECT_TRUE(after.faults < before.faults || after.clients < before.clients ||
              after.duration_seconds < before.duration_seconds || after.quiesce_seconds < before.quiesce_seconds)
      << describe_size(before) << " -> " << describe_size(after);
}

TEST(Shrink, APassingSeedHasNothingToShrink) {
  Result<ShrinkResult> result = shrink_failing_run(load("register_partitions"), ShrinkOptions{.seed = 1});
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_FALSE(result->original_failed);
  EXPECT_TRUE(result->original.ok);
  EXPECT_EQ(result->runs, 0u);
  EXPECT_TRUE(result->steps.empty());
}

TEST(Shrink, KeepsOnlyTheAskedCheck) {
  // Seed 2 of the sloppy scenario fails stale reads but not liveness: nothing to shrink for it.
  Result<ShrinkResult> liveness = shrink_failing_run(sloppy_quorums(), ShrinkOptions{.seed = 2, .check = "LIVENESS"});
  ASSERT_TRUE(liveness.ok()) << liveness.status();
  EXPECT_FALSE(liveness->original_failed);
  EXPECT_FALSE(liveness->original.ok);

  Result<ShrinkResult> unknown = shrink_failing_run(sloppy_quorums(), ShrinkOptions{.seed = 2, .check = "bogus"});
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().code(), StatusCode::kInvalidArgument);
}

TEST(Shrink, StopsAtTheRunBudget) {
  Result<ShrinkResult> result = shrink_failing_run(sloppy_quorums(), ShrinkOptions{.seed = 1, .max_runs = 3});
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->runs, 3u);
  EXPECT_FALSE(result->fixed_point);
}

TEST(Shrink, AHangIsKeptAsAHang) {
  // A run far longer than its time limit stands for a hang: it is killed, counted as a crash,
  // and reductions are kept only while the run still hangs.
  proto::Scenario endless = load("register_partitions");
  endless.set_duration_seconds(100'000);
  Result<ShrinkResult> result =
      shrink_failing_run(endless, ShrinkOptions{.seed = 1, .max_runs = 2, .run_time_limit_seconds = 1});
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_TRUE(result->original_failed);
  EXPECT_TRUE(result->original.crashed);
  EXPECT_TRUE(result->target.starts_with("crash: the run exceeded the per-seed time limit")) << result->target;
  ASSERT_EQ(result->steps.size(), 2u) << "removing a fault leaves the run as endless";
  EXPECT_TRUE(result->outcome.crashed);
  EXPECT_EQ(scenario_size(result->scenario).faults, scenario_size(endless).faults - 2);
}

// The children of process `parent`, from /proc (the field after a process's state is its parent).
std::vector<pid_t> children_of(pid_t parent) {
  std::vector<pid_t> children;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string name = entry.path().filename();
    if (name.empty() || !std::all_of(name.begin(), name.end(), [](char c) { return c >= '0' && c <= '9'; })) continue;
    std::ifstream stat_file(entry.path() / "stat");
    std::string stat((std::istreambuf_iterator<char>(stat_file)), std::istreambuf_iterator<char>());
    const std::size_t after_name = stat.rfind(')');
    if (after_name == std::string::npos) continue;
    std::istringstream fields(stat.substr(after_name + 1));
    char state = 0;
    pid_t process_parent = 0;
    fields >> state >> process_parent;
    if (process_parent == parent) children.push_back(static_cast<pid_t>(std::stoi(name)));
  }
  return children;
}

// The soft CPU-time limit of a process in seconds, from /proc/<pid>/limits ("" if unreadable).
std::string cpu_time_limit_of(pid_t pid) {
  std::ifstream limits("/proc/" + std::to_string(pid) + "/limits");
  std::string line;
  while (std::getline(limits, line)) {
    if (line.rfind("Max cpu time", 0) != 0) continue;
    std::istringstream fields(line.substr(std::string("Max cpu time").size()));
    std::string soft;
    fields >> soft;
    return soft;
  }
  return "";
}

// Forks a process that waits for a sibling (another child of this process) whose CPU-time limit
// is `limit_seconds` — a run that has armed its limits — stops it for `pause`, resumes it and
// exits 0. A process, not a thread: forking the run while a thread of this process holds a lock
// (the allocator's, under ASan) can leave the run's child blocked on that lock forever. The
// pauser never returns into the test: it dies with its parent, gives up after a minute, and
// exits 2 on an exception.
pid_t start_pauser(unsigned limit_seconds, std::chrono::seconds pause) {
  const pid_t parent = ::getpid();
  const pid_t pauser = ::fork();
  if (pauser != 0) return pauser;
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != parent) std::_Exit(1);
  try {
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::minutes(1);
    while (std::chrono::steady_clock::now() < give_up) {
      for (const pid_t child : children_of(parent)) {
        if (child == ::getpid() || cpu_time_limit_of(child) != std::to_string(limit_seconds)) continue;
        ::kill(child, SIGSTOP);
        std::this_thread::sleep_for(pause);
        ::kill(child, SIGCONT);
        std::_Exit(0);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    std::_Exit(1);
  } catch (...) {
    std::_Exit(2);
  }
}

TEST(IsolatedRun, TimeSpentPausedIsNotAHang) {
  // The limit counts CPU time: a run paused with SIGSTOP for longer than its limit (a sweep
  // paused while the machine is needed elsewhere) passes once resumed. Under a wall-clock limit
  // it was reported as a hang.
  proto::Scenario scenario = load("quickstart");
  // Well under the limit in CPU time, under ASan with fake stacks too (about 1.3 s; the default
  // ten seconds of quiesce took 7.7 s there).
  scenario.set_duration_seconds(1);
  scenario.set_quiesce_seconds(1);
  constexpr unsigned kLimitSeconds = 5;
  const pid_t pauser = start_pauser(kLimitSeconds, std::chrono::seconds(kLimitSeconds + 1));
  ASSERT_GT(pauser, 0) << std::strerror(errno);
  Result<SeedOutcome> outcome =
      run_isolated(scenario, IsolatedRunRequest{.seed = 1}, IsolationLimits{.time_limit_seconds = kLimitSeconds});
  ::kill(pauser, SIGKILL);  // no effect if it paused the run: it has exited
  int pauser_status = 0;
  ASSERT_EQ(::waitpid(pauser, &pauser_status, 0), pauser);
  ASSERT_TRUE(WIFEXITED(pauser_status) && WEXITSTATUS(pauser_status) == 0)
      << "the run was not paused: it ended first, or the pauser failed (wait status " << pauser_status << ")";
  ASSERT_TRUE(outcome.ok()) << outcome.status();
  EXPECT_FALSE(outcome->crashed) << outcome->detail;
  EXPECT_TRUE(outcome->ok) << outcome->detail;
}

TEST(Shrink, ClientCountsOfWorkloadsWithClients) {
  proto::Scenario registers = load("register_partitions");
  EXPECT_EQ(workload_clients(registers), 6u);
  EXPECT_TRUE(set_workload_clients(registers, 2));
  EXPECT_EQ(registers.workload().register_().clients(), 2u);
  proto::Scenario raft_kv = load("raft_kv_crashes");
  EXPECT_EQ(workload_clients(raft_kv), 5u);
  EXPECT_TRUE(set_workload_clients(raft_kv, 3));
  EXPECT_EQ(raft_kv.workload().raft_kv().clients(), 3u);
  proto::Scenario storage = load("storage_faults");
  EXPECT_EQ(workload_clients(storage), std::nullopt);
  EXPECT_FALSE(set_workload_clients(storage, 2));
}

TEST(FailureHistory, FailingSeedsGetAHistoryFileUpToTheLimit) {
  const std::string directory = ::testing::TempDir() + "/failure-histories-" + std::to_string(::getpid());
  std::filesystem::remove_all(directory);
  SweepResult sweep = run_sweep(sloppy_quorums(), SweepOptions{.first_seed = 1, .last_seed = 2, .jobs = 2});
  ASSERT_EQ(sweep.failed(), 2u);
  const Status recorded = record_failure_histories(
      sloppy_quorums(), FailureHistoryOptions{.directory = directory, .max_seeds = 1, .jobs = 2}, sweep);
  ASSERT_TRUE(recorded.ok()) << recorded;

  const SeedOutcome& first = sweep.outcomes[0];
  EXPECT_EQ(first.history_path, directory + "/register_partitions-seed-1.history.jsonl");
  EXPECT_EQ(first.history_note, "") << "the re-run replays the sweep's run, same trace hash";
  ASSERT_TRUE(std::filesystem::exists(first.history_path));
  EXPECT_GT(std::filesystem::file_size(first.history_path), 0u);

  const SeedOutcome& second = sweep.outcomes[1];
  EXPECT_EQ(second.history_path, "");
  EXPECT_NE(second.history_note.find("only the first 1"), std::string::npos) << second.history_note;
  EXPECT_FALSE(std::filesystem::exists(directory + "/register_partitions-seed-2.history.jsonl"));
  std::filesystem::remove_all(directory);
}

TEST(FailureHistory, StorageWorkloadsHaveNoClientHistory) {
  const std::string directory = ::testing::TempDir() + "/storage-histories-" + std::to_string(::getpid());
  SweepResult sweep;
  sweep.outcomes.push_back(SeedOutcome{.seed = 7, .ok = false});
  ASSERT_TRUE(record_failure_histories(load("storage_faults"), FailureHistoryOptions{.directory = directory}, sweep).ok());
  EXPECT_EQ(sweep.outcomes[0].history_path, "");
  EXPECT_EQ(sweep.outcomes[0].history_note, "no history (storage workload)");
  EXPECT_FALSE(std::filesystem::exists(directory));
}

}  // namespace
}  // namespace cairn::sim
