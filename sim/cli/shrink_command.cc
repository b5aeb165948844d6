// `cairn-sim shrink` (see shrink_command.h).
#include "sim/cli/shrink_command.h"

#include <cstdio>
#include <fstream>
#include <iostream>

#include "sim/cli/seed_option.h"
#include "sim/failure_history.h"
#include "sim/json_writer.h"
#include "sim/report.h"
#include "sim/scenario_loader.h"
#include "sim/shrink.h"

namespace cairn::sim {
namespace {

constexpr int kExitNothingToShrink = 1;
constexpr int kExitBadInput = 2;
// Failure details can run to kilobytes; the progress line shows the start.
constexpr std::size_t kDetailShown = 240;

std::string shortened(const std::string& text) {
  return text.size() <= kDetailShown ? text : text.substr(0, kDetailShown) + "...";
}

std::string original_failure(const SeedOutcome& outcome) {
  if (outcome.crashed) return "crashes: " + outcome.detail;
  if (outcome.ok) return "passes every check";
  std::string checks;
  for (const std::string& check : outcome.failed_checks) checks += (checks.empty() ? "" : ", ") + check;
  return "fails " + checks;
}

std::string output_path(const ShrinkFlags& flags, const proto::Scenario& scenario) {
  if (!flags.out.empty()) return flags.out;
  return file_name_stem(scenario.name()) + "-seed-" + std::to_string(flags.seed) + "-shrunk.textproto";
}

Status write_scenario_file(const std::string& path, const ShrinkFlags& flags, const ShrinkResult& result) {
  std::ofstream file(path);
  if (!file) return Status::io_error("cannot write '" + path + "'");
  file << "# Shrunk by `cairn-sim shrink` from " << flags.scenario_path << ": seed " << flags.seed
       << " still fails " << result.target << " here.\n"
       << "# Replay: " << replay_command(path, flags.seed) << "\n"
       << scenario_text(result.scenario);
  file.close();
  return file ? Status{} : Status::io_error("error writing '" + path + "'");
}

// Loads the written file as `cairn-sim run` will and runs the seed again: the file, not the
// search's copy in memory, is what the replay command replays.
Result<bool> written_file_fails(const std::string& path, const ShrinkFlags& flags, const std::string& target) {
  Result<proto::Scenario> written = load_scenario_file(path);
  if (!written.ok()) return written.status();
  Result<SeedOutcome> outcome = run_isolated(*written, IsolatedRunRequest{.seed = flags.seed},
                                             IsolationLimits{.time_limit_seconds = flags.run_time_limit});
  if (!outcome.ok()) return outcome.status();
  return fails_like(*outcome, target);
}

void write_size(JsonWriter& json, const ScenarioSize& size) {
  json.begin_object();
  json.key("faults").value(size.faults);
  json.key("clients").value(size.clients);
  json.key("duration_seconds").value(size.duration_seconds);
  json.key("quiesce_seconds").value(size.quiesce_seconds);
  json.key("regression_seeds").value(size.regression_seeds);
  json.end_object();
}

struct Written {
  std::string path;
  bool verified = false;
};

void print_json(const ShrinkFlags& flags, const proto::Scenario& input, const ShrinkResult& result,
                const Written& written) {
  JsonWriter json;
  json.begin_object();
  json.key("scenario").value(input.name());
  json.key("seed").value(flags.seed);
  json.key("original_failed").value(result.original_failed);
  json.key("original").value(original_failure(result.original));
  if (result.original_failed) {
    json.key("target").value(result.target);
    json.key("original_size");
    write_size(json, scenario_size(input));
    json.key("shrunk_size");
    write_size(json, scenario_size(result.scenario));
    json.key("runs").value(result.runs);
    json.key("fixed_point").value(result.fixed_point);
    json.key("steps").begin_array();
    for (const ShrinkStep& step : result.steps) json.value(step.description);
    json.end_array();
    json.key("out").value(written.path);
    json.key("verified").value(written.verified);
    json.key("replay").value(replay_command(written.path, flags.seed));
  }
  json.end_object();
  std::cout << json.text() << "\n";
}

void print_summary(const ShrinkFlags& flags, const proto::Scenario& input, const ShrinkResult& result,
                   const Written& written) {
  std::printf("  runs         %u, %s\n", result.runs,
              result.fixed_point ? "a fixed point (no single reduction keeps the failure)"
                                 : ("stopped at --max-runs " + std::to_string(flags.max_runs)).c_str());
  std::printf("  before       %s\n", describe_size(scenario_size(input)).c_str());
  std::printf("  after        %s\n", describe_size(scenario_size(result.scenario)).c_str());
  std::printf("  wrote        %s\n", written.path.c_str());
  std::printf("  verified     %s\n", written.verified ? ("the file, run again, fails " + result.target).c_str()
                                                      : "NO: the file, run again, did not fail the same way");
  std::printf("  replay       %s\n", replay_command(written.path, flags.seed).c_str());
}

}  // namespace

CLI::App* add_shrink_command(CLI::App& app, ShrinkFlags& flags) {
  CLI::App* command = app.add_subcommand(
      "shrink", "Shrink a scenario while a seed still fails the same check: fewer faults and clients, shorter runs");
  command->add_option("scenario", flags.scenario_path, "Scenario file (protobuf text format)")->required();
  command->add_option("--seed", flags.seed, "The seed whose run fails")->required()->check(kSeedNotNegative);
  command->add_option("--check", flags.check,
                      "The check the shrunk run must still fail (default: the first check the seed fails)");
  command->add_option("--out", flags.out,
                      "Where to write the shrunk scenario (default: <scenario name>-seed-N-shrunk.textproto)");
  command->add_option("--max-runs", flags.max_runs, "Candidate runs at most (default 200)")
      ->check(CLI::Range(1u, 100000u));
  command->add_option("--run-time-limit", flags.run_time_limit,
                      "CPU seconds after which a run is stopped and counted as crashed: a hang (default 600)")
      ->check(CLI::Range(1u, 86400u));
  command->add_flag("--json", flags.json, "Print one JSON object at the end (progress goes to stderr)");
  return command;
}

int shrink_command(const ShrinkFlags& flags) {
  Result<proto::Scenario> input = load_scenario_file(flags.scenario_path);
  if (!input.ok()) {
    std::cerr << "cairn-sim: invalid scenario\n" << input.status().message() << "\n";
    return kExitBadInput;
  }
  // With --json, stdout holds the one JSON object only.
  std::FILE* progress = flags.json ? stderr : stdout;
  ShrinkOptions options;
  options.seed = flags.seed;
  options.check = flags.check;
  options.max_runs = flags.max_runs;
  options.run_time_limit_seconds = flags.run_time_limit;
  options.on_original = [&](const ShrinkResult& result) {
    std::fprintf(progress, "cairn-sim shrink: scenario %s, seed %llu\n", input->name().c_str(),
                 static_cast<unsigned long long>(flags.seed));
    std::fprintf(progress, "  original     %s\n", shortened(original_failure(result.original)).c_str());
    if (result.original_failed) std::fprintf(progress, "  keeping      %s failing\n", result.target.c_str());
    std::fflush(progress);
  };
  options.on_step = [&](const ShrinkStep& step) {
    std::fprintf(progress, "  kept         [run %u] %s\n", step.run, step.description.c_str());
    std::fflush(progress);
  };
  Result<ShrinkResult> result = shrink_failing_run(*input, options);
  if (!result.ok()) {
    std::cerr << "cairn-sim: " << result.status().message() << "\n";
    return kExitBadInput;
  }
  Written written;
  if (!result->original_failed) {
    std::fprintf(progress, "  nothing to shrink: seed %llu does not fail%s\n",
                 static_cast<unsigned long long>(flags.seed), flags.check.empty() ? "" : (" " + flags.check).c_str());
    if (flags.json) print_json(flags, *input, *result, written);
    return kExitNothingToShrink;
  }
  written.path = output_path(flags, *input);
  if (Status status = write_scenario_file(written.path, flags, *result); !status.ok()) {
    std::cerr << "cairn-sim: " << status.message() << "\n";
    return kExitBadInput;
  }
  Result<bool> verified = written_file_fails(written.path, flags, result->target);
  if (!verified.ok()) {
    std::cerr << "cairn-sim: " << verified.status().message() << "\n";
    return kExitBadInput;
  }
  written.verified = *verified;
  if (flags.json) {
    print_json(flags, *input, *result, written);
  } else {
    print_summary(flags, *input, *result, written);
  }
  return written.verified ? 0 : kExitNothingToShrink;
}

}  // namespace cairn::sim
