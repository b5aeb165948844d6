// cairn-sim: the simulator's command line.
//
//   cairn-sim run SCENARIO --seed N [--json] [--trace-log FILE] [--perfetto FILE] [--history FILE]
//   cairn-sim sweep SCENARIO --seeds A..B|fresh:N [--jobs J] [--stop-at-first-failure] [--json]
//   cairn-sim matrix SCENARIO --seeds A..B [--jobs J]   (storage fault matrix, docs/storage.md)
//   cairn-sim shrink SCENARIO --seed N [--check NAME] [--out FILE] [--max-runs K] [--json]
//   cairn-sim check-history FILE --model register|cas-register|kv [--format F] [--max-states N] [--json]
//
// Exit status: 0 when every check passed (every seed, for sweep), 1 when a check failed, 2 for
// bad input (flags, scenario file).
#include <unistd.h>

#include <google/protobuf/text_format.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>

#include "core/runtime/version.h"
#include "core/runtime/logger.h"
#include "sim/cli/check_history_command.h"
#include "sim/cli/seed_option.h"
#include "sim/cli/shrink_command.h"
#include "sim/failure_history.h"
#include "sim/fault_matrix.h"
#include "sim/json_writer.h"
#include "sim/report.h"
#include "sim/scenario_loader.h"
#include "sim/scenario_runner.h"
#include "sim/sweep.h"

namespace cairn::sim {
namespace {

constexpr int kExitFailedChecks = 1;
constexpr int kExitBadInput = 2;

struct RunFlags {
  std::string scenario_path;
  uint64_t seed = 1;
  bool json = false;
  std::string trace_log;
  std::string history;
  std::string perfetto;
  std::string log_level = "info";
};

// What `sweep` and `matrix` share: a scenario run over a range of seeds in parallel processes.
struct SeedRangeFlags {
  std::string scenario_path;
  std::string seeds;
  unsigned jobs = 0;
  unsigned seed_time_limit = 600;
};

struct SweepFlags : SeedRangeFlags {
  bool json = false;
  bool stop_at_first_failure = false;
  std::string failures_dir = "sweep-failures";
  bool histories = true;
};

// Registers the shared options on `command`.
void add_seed_range_options(CLI::App* command, SeedRangeFlags& flags, const std::string& scenario_help,
                            const std::string& seeds_help) {
  command->add_option("scenario", flags.scenario_path, scenario_help)->required();
  command->add_option("--seeds", flags.seeds, seeds_help)->required();
  command->add_option("--jobs", flags.jobs, "Seeds run at once (default: the number of CPUs)")
      ->check(CLI::Range(1u, 1024u));
  command->add_option("--seed-time-limit", flags.seed_time_limit,
                      "CPU seconds after which a seed is stopped and counted as failed: a hang (default 600)")
      ->check(CLI::Range(1u, 86400u));
}

// Parses --seeds (reporting a bad range) and resolves the default of --jobs.
bool resolve_seed_range(const SeedRangeFlags& flags, uint64_t& first, uint64_t& last, unsigned& jobs) {
  if (uint64_t count = 0; parse_fresh_seed_count(flags.seeds, count)) {
    first = draw_fresh_seed_base();
    last = first + count - 1;
    std::cerr << "cairn-sim: fresh seeds " << first << ".." << last
              << " (a new range on every run; replay any of them with --seed)\n";
  } else if (!parse_seed_range(flags.seeds, first, last)) {
    std::cerr << "cairn-sim: --seeds must be A..B with A <= B (for example 1..100), or fresh:N for N seeds from a "
                 "range that changes on every run, got '" << flags.seeds << "'\n";
    return false;
  }
  jobs = flags.jobs > 0 ? flags.jobs : std::max(1u, std::thread::hardware_concurrency());
  return true;
}

Result<proto::Scenario> load_or_report(const std::string& path) {
  Result<proto::Scenario> scenario = load_scenario_file(path);
  if (!scenario.ok()) std::cerr << "cairn-sim: invalid scenario\n" << scenario.status().message() << "\n";
  return scenario;
}

int run_command(const RunFlags& flags) {
  Result<proto::Scenario> scenario = load_or_report(flags.scenario_path);
  if (!scenario.ok()) return kExitBadInput;
  RunOptions options;
  options.trace_log_path = flags.trace_log;
  options.history_path = flags.history;
  options.perfetto_path = flags.perfetto;
  if (!parse_log_level(flags.log_level, options.log_level)) {
    std::cerr << "cairn-sim: --log-level must be debug, info, warning or error\n";
    return kExitBadInput;
  }
  Result<RunReport> report = run_scenario(*scenario, flags.seed, options);
  if (!report.ok()) {
    std::cerr << "cairn-sim: " << report.status().message() << "\n";
    return kExitBadInput;
  }
  if (flags.json) {
    std::cout << format_json_report(*report) << "\n";
  } else {
    std::cout << format_human_report(*report, flags.scenario_path);
  }
  return report->ok ? 0 : kExitFailedChecks;
}

// A one-line progress bar on a terminal; otherwise a plain line every tenth of the way and one
// per failing seed, which reads well in CI logs.
class Progress {
 public:
  Progress(bool terminal, std::size_t total) : terminal_(terminal), total_(total) {}
  void update(const SeedOutcome& outcome, std::size_t done, double elapsed) {
    if (!outcome.ok) ++failed_;
    const double rate = elapsed > 0 ? static_cast<double>(done) / elapsed : 0;
    if (terminal_) {
      constexpr int kWidth = 30;
      const int filled = static_cast<int>(kWidth * done / total_);
      std::fprintf(stderr, "\r[%.*s%*s] %zu/%zu seeds, %zu failed, %.1f seeds/s ", filled,
                   "##############################", kWidth - filled, "", done, total_, failed_, rate);
      if (done == total_) std::fprintf(stderr, "\n");
    } else {
      if (!outcome.ok) std::fprintf(stderr, "seed %llu: FAILED\n", static_cast<unsigned long long>(outcome.seed));
      const std::size_t step = std::max<std::size_t>(1, total_ / 10);
      if (done % step == 0 || done == total_) {
        std::fprintf(stderr, "%zu/%zu seeds done, %zu failed, %.1f seeds/s\n", done, total_, failed_, rate);
      }
    }
    std::fflush(stderr);
  }

 private:
  bool terminal_;
  std::size_t total_;
  std::size_t failed_ = 0;
};

// What the seeds of a sweep reached: per coverage probe (or buggify site), how many seeds hit
// it and how often in all.
struct Reached {
  uint64_t seeds = 0;
  uint64_t hits = 0;
};

std::map<std::string, Reached> reached_across(const SweepResult& result, std::string_view prefix) {
  std::map<std::string, Reached> reached;
  for (const SeedOutcome& outcome : result.outcomes) {
    for (const auto& [name, count] : outcome.counters) {
      if (!name.starts_with(prefix) || count == 0) continue;
      Reached& entry = reached[name.substr(prefix.size())];
      ++entry.seeds;
      entry.hits += count;
    }
  }
  return reached;
}

// The scenario's required probes that no seed hit.
std::vector<std::string> missing_probes(const proto::Scenario& scenario, const std::map<std::string, Reached>& probes) {
  std::vector<std::string> missing;
  for (const std::string& probe : scenario.required_probes()) {
    if (!probes.contains(probe)) missing.push_back(probe);
  }
  return missing;
}

std::string failure_summary(const SeedOutcome& outcome) {
  if (outcome.crashed) return outcome.detail;
  std::string text;
  for (const std::string& check : outcome.failed_checks) text += (text.empty() ? "" : ", ") + check;
  return text.empty() ? outcome.detail : text;
}

int sweep_command(const SweepFlags& flags) {
  uint64_t first = 0;
  uint64_t last = 0;
  unsigned jobs = 0;
  if (!resolve_seed_range(flags, first, last, jobs)) return kExitBadInput;
  Result<proto::Scenario> scenario = load_or_report(flags.scenario_path);
  if (!scenario.ok()) return kExitBadInput;
  const std::size_t total = static_cast<std::size_t>(last - first + 1);
  Progress progress(::isatty(STDERR_FILENO) != 0, total);
  const auto started = std::chrono::steady_clock::now();
  SweepOptions options;
  options.first_seed = first;
  options.last_seed = last;
  options.jobs = jobs;
  options.seed_time_limit_seconds = flags.seed_time_limit;
  options.stop_at_first_failure = flags.stop_at_first_failure;
  options.on_progress = [&](const SeedOutcome& outcome, std::size_t done, std::size_t) {
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    progress.update(outcome, done, elapsed);
  };
  SweepResult result = run_sweep(*scenario, options);
  const std::size_t failed = result.failed();
  const FailureHistoryOptions history_options{
      .directory = flags.failures_dir, .jobs = jobs, .seed_time_limit_seconds = flags.seed_time_limit};
  if (Status recorded = flags.histories ? record_failure_histories(*scenario, history_options, result) : Status{};
      !recorded.ok()) {
    std::cerr << "cairn-sim: " << recorded.message() << "\n";
  }
  const std::map<std::string, Reached> probes = reached_across(result, "probe.");
  const std::map<std::string, Reached> sites = reached_across(result, "buggify.");
  const std::vector<std::string> missing = missing_probes(*scenario, probes);
  if (flags.json) {
    JsonWriter json;
    json.begin_object();
    json.key("scenario").value(scenario->name());
    json.key("first_seed").value(first);
    json.key("last_seed").value(last);
    json.key("runs").value(static_cast<uint64_t>(result.outcomes.size()));
    json.key("passed").value(static_cast<uint64_t>(result.outcomes.size() - failed));
    json.key("failed").value(static_cast<uint64_t>(failed));
    json.key("wall_seconds").value(result.wall_seconds);
    for (const auto& [key, table] : {std::pair{"probes", &probes}, std::pair{"buggify_fired", &sites}}) {
      json.key(key).begin_object();
      for (const auto& [name, entry] : *table) {
        json.key(name).begin_object();
        json.key("seeds").value(entry.seeds);
        json.key("hits").value(entry.hits);
        json.end_object();
      }
      json.end_object();
    }
    json.key("missing_probes").begin_array();
    for (const std::string& probe : missing) json.value(probe);
    json.end_array();
    if (const std::optional<uint64_t> first_failure = result.first_failing_seed()) {
      json.key("first_failing_seed").value(*first_failure);
    }
    json.key("failures").begin_array();
    for (const SeedOutcome& outcome : result.outcomes) {
      if (outcome.ok) continue;
      json.begin_object();
      json.key("seed").value(outcome.seed);
      json.key("crashed").value(outcome.crashed);
      json.key("failed_checks").begin_array();
      for (const std::string& check : outcome.failed_checks) json.value(check);
      json.end_array();
      json.key("detail").value(outcome.detail);
      json.key("details").begin_object();
      for (const auto& [check, detail] : outcome.failure_details) json.key(check).value(detail);
      json.end_object();
      json.key("replay").value(replay_command(flags.scenario_path, outcome.seed));
      json.key("history").value(outcome.history_path);
      if (!outcome.history_note.empty()) json.key("history_note").value(outcome.history_note);
      json.end_object();
    }
    json.end_array();
    json.end_object();
    std::cout << json.text() << "\n";
  } else {
    std::printf("cairn-sim sweep: scenario %s, seeds %llu..%llu (%zu runs, %u jobs)\n", scenario->name().c_str(),
                static_cast<unsigned long long>(first), static_cast<unsigned long long>(last), result.outcomes.size(),
                jobs);
    std::printf("  passed %zu, failed %zu in %.1f s wall (%.1f seeds/s)\n", result.outcomes.size() - failed, failed,
                result.wall_seconds, static_cast<double>(result.outcomes.size()) / std::max(result.wall_seconds, 1e-9));
    std::printf("  buggify      %zu sites fired\n", sites.size());
    std::printf("  probes       %zu hit (seeds that hit each, then hits in all):\n", probes.size());
    for (const auto& [name, entry] : probes) {
      std::printf("    %-52s %6llu %9llu\n", name.c_str(), static_cast<unsigned long long>(entry.seeds),
                  static_cast<unsigned long long>(entry.hits));
    }
    if (scenario->required_probes_size() > 0) {
      if (missing.empty()) {
        std::printf("  required     all %d required probes hit\n", scenario->required_probes_size());
      } else {
        std::printf("  required     NEVER HIT:");
        for (const std::string& probe : missing) std::printf(" %s", probe.c_str());
        std::printf("\n");
      }
    }
    if (flags.stop_at_first_failure && failed > 0) {
      std::printf("  stopped at the first failure: seed %llu\n",
                  static_cast<unsigned long long>(*result.first_failing_seed()));
    }
    if (failed > 0) {
      std::printf("  failing seeds (replay each with the command below it):\n");
      for (const SeedOutcome& outcome : result.outcomes) {
        if (outcome.ok) continue;
        std::printf("    seed %llu: %s\n", static_cast<unsigned long long>(outcome.seed), failure_summary(outcome).c_str());
        if (!outcome.crashed && !outcome.detail.empty()) std::printf("      %s\n", outcome.detail.c_str());
        std::printf("      %s\n", replay_command(flags.scenario_path, outcome.seed).c_str());
        if (!outcome.history_path.empty()) std::printf("      history: %s\n", outcome.history_path.c_str());
        if (!outcome.history_note.empty()) std::printf("      %s\n", outcome.history_note.c_str());
      }
    }
  }
  return failed == 0 && missing.empty() ? 0 : kExitFailedChecks;
}

using MatrixFlags = SeedRangeFlags;

// Writes a failing cell's scenario next to the caller, so its seeds can be replayed with `run`.
std::string save_cell_scenario(const FaultMatrixCell& cell) {
  std::string name = "matrix-" + cell.fault + "-" + (cell.target.empty() ? "every-file" : cell.target);
  for (char& c : name) {
    if (c == '/' || c == '.') c = '-';
  }
  while (!name.empty() && name.back() == '-') name.pop_back();
  name += ".textproto";
  std::string text;
  google::protobuf::TextFormat::PrintToString(cell.scenario, &text);
  std::ofstream(name) << "# A cell of `cairn-sim matrix`: crashes plus one fault aimed at one file.\n" << text;
  return name;
}

int matrix_command(const MatrixFlags& flags) {
  FaultMatrixOptions options;
  if (!resolve_seed_range(flags, options.first_seed, options.last_seed, options.jobs)) return kExitBadInput;
  Result<proto::Scenario> scenario = load_or_report(flags.scenario_path);
  if (!scenario.ok()) return kExitBadInput;
  options.seed_time_limit_seconds = flags.seed_time_limit;
  const auto started = std::chrono::steady_clock::now();
  Result<std::vector<FaultMatrixCell>> cells = run_fault_matrix(*scenario, options);
  if (!cells.ok()) {
    std::cerr << "cairn-sim: " << cells.status().message() << "\n";
    return kExitBadInput;
  }
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::printf("cairn-sim matrix: scenario %s, seeds %llu..%llu per cell, %zu cells, %u jobs, %.1f s wall\n\n",
              scenario->name().c_str(), static_cast<unsigned long long>(options.first_seed),
              static_cast<unsigned long long>(options.last_seed), cells->size(), options.jobs, wall);
  std::printf("%s", format_fault_matrix(*cells).c_str());
  bool failed = false;
  for (const FaultMatrixCell& cell : *cells) {
    if (cell.failures.empty()) continue;
    failed = true;
    const std::string path = save_cell_scenario(cell);
    for (const std::string& failure : cell.failures) std::printf("\n%s %s: %s", cell.fault.c_str(), cell.target.c_str(), failure.c_str());
    std::printf("\n  replay: %s run %s --seed N\n", replay_program().c_str(), path.c_str());
  }
  return failed ? kExitFailedChecks : 0;
}

}  // namespace
}  // namespace cairn::sim

int main(int argc, char** argv) {
  using namespace cairn::sim;
  if (argc > 0 && argv[0] != nullptr && argv[0][0] != '\0') set_replay_program(argv[0]);
  CLI::App app{
      "cairn-sim: run a Cairn cluster inside one process on a simulated network, disk and clock, under seeded\n"
      "fault injection. A run is a pure function of (binary, scenario, seed): the same seed gives the same\n"
      "trace hash, so any failure can be replayed exactly.\n\n"
      "Exit status: 0 if every check passed, 1 if a check failed, 2 for bad input.", "cairn-sim"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("cairn-sim ") + cairn::kCairnVersion);

  RunFlags run_flags;
  CLI::App* run = app.add_subcommand("run", "Run one scenario with one seed and check the outcome");
  run->add_option("scenario", run_flags.scenario_path, "Scenario file (protobuf text format), e.g. scenarios/quickstart.textproto")
      ->required();
  run->add_option("--seed", run_flags.seed, "Root seed of the run (default 1)")->check(kSeedNotNegative);
  run->add_flag("--json", run_flags.json, "Print exactly one JSON object instead of the human summary");
  run->add_option("--trace-log", run_flags.trace_log, "Write every traced event and node log line to FILE");
  run->add_option("--history", run_flags.history, "Write the client history to FILE (JSON lines, one operation each)");
  run->add_option("--perfetto", run_flags.perfetto,
                  "Write the run as Chrome trace-event JSON to FILE: open it in ui.perfetto.dev (nodes as tracks, "
                  "messages as flows, faults as instants)");
  run->add_option("--log-level", run_flags.log_level, "Node log lines in the trace log from this level: debug|info|warning|error")
      ->check(CLI::IsMember({"debug", "info", "warning", "warn", "error"}));

  SweepFlags sweep_flags;
  CLI::App* sweep = app.add_subcommand("sweep", "Run one scenario over a range of seeds, in parallel processes");
  add_seed_range_options(sweep, sweep_flags, "Scenario file (protobuf text format)",
                         "Seed range A..B, inclusive (for example 1..500), or fresh:N: N seeds from a range drawn anew on "
                         "every run (CI explores new seeds each time; each failure prints its seed)");
  sweep->add_flag("--json", sweep_flags.json, "Print one JSON object with the failing seeds instead of the summary");
  sweep->add_flag("--stop-at-first-failure", sweep_flags.stop_at_first_failure,
                  "Start no further seed once one fails; the lowest failing seed is still found");
  sweep->add_flag("!--no-histories", sweep_flags.histories,
                  "Do not run failing seeds again to write their client histories (proofs and mutant sweeps)");
  sweep->add_option("--failures-dir", sweep_flags.failures_dir,
                    "Where the client histories of failing seeds are written (default ./sweep-failures)");

  MatrixFlags matrix_flags;
  CLI::App* matrix = app.add_subcommand(
      "matrix", "Storage fault matrix: every file x every disk fault, each over the seed range (docs/storage.md)");
  add_seed_range_options(matrix, matrix_flags, "A storage scenario, e.g. scenarios/storage_faults.textproto",
                         "Seed range A..B run for every cell (for example 1..200)");

  // BEGIN check-history
  CheckHistoryFlags check_history_flags;
  CLI::App* check_history = add_check_history_command(app, check_history_flags);
  // END check-history

  // BEGIN shrink
  ShrinkFlags shrink_flags;
  CLI::App* shrink = add_shrink_command(app, shrink_flags);
  // END shrink

  if (argc == 1) {
    std::cerr << app.help() << "\nFor example: cairn-sim run scenarios/quickstart.textproto --seed 1\n";
    return 2;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    const int code = app.exit(error);
    return code == 0 ? 0 : 2;
  }
  // BEGIN dispatch
  if (check_history->parsed()) return run_check_history_command(check_history_flags);
  if (shrink->parsed()) return shrink_command(shrink_flags);
  // END dispatch
  if (run->parsed()) return run_command(run_flags);
  if (matrix->parsed()) return matrix_command(matrix_flags);
  return sweep_command(sweep_flags);
}
