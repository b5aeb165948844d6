// The check-history subcommand of cairn-sim (see check_history_command.h).
#include "sim/cli/check_history_command.h"

#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>

#include "sim/checkers/history_file.h"
#include "sim/checkers/linearizability_report.h"
#include "sim/json_writer.h"

namespace cairn::sim {
namespace {

using namespace linearizability;

constexpr int kExitNotLinearizable = 1;
constexpr int kExitUnknownOrBadInput = 2;

int exit_status(Verdict verdict) {
  switch (verdict) {
    case Verdict::kLinearizable: return 0;
    case Verdict::kNotLinearizable: return kExitNotLinearizable;
    case Verdict::kUnknown: return kExitUnknownOrBadInput;
  }
  return kExitUnknownOrBadInput;
}

std::string keys_list(const std::vector<std::string>& keys) {
  constexpr std::size_t kShown = 10;
  std::string text;
  for (std::size_t i = 0; i < keys.size() && i < kShown; ++i) text += (i == 0 ? "" : ", ") + describe_value(keys[i]);
  return keys.size() > kShown ? text + ", ..." : text;
}

std::string verdict_line(const CheckResult& result) {
  switch (result.verdict) {
    case Verdict::kLinearizable: return "LINEARIZABLE";
    case Verdict::kNotLinearizable: return "NOT LINEARIZABLE";
    case Verdict::kUnknown:
      return "UNKNOWN: the search budget ran out for " + keys_list(result.undecided_keys) +
             " (raise --max-states)";
  }
  return "?";
}

void print_human(const CheckHistoryFlags& flags, const ParsedHistory& parsed, ModelKind model,
                 const CheckResult& result) {
  const CheckStats& stats = result.stats;
  std::printf("cairn-sim check-history: %s\n", flags.path.c_str());
  std::printf("  format       %s, %llu operations", std::string(history_format_name(parsed.format)).c_str(),
              static_cast<unsigned long long>(stats.operations));
  if (parsed.nemesis_events > 0) std::printf(" (%llu nemesis events ignored)", static_cast<unsigned long long>(parsed.nemesis_events));
  std::printf("\n  model        %s, %llu partition(s)\n", std::string(model_kind_name(model)).c_str(),
              static_cast<unsigned long long>(stats.partitions));
  std::printf("  searched     %llu operations, %llu of unknown outcome (dropped: %llu failed, %llu unknown reads, "
              "%llu unknown writes nobody saw)\n",
              static_cast<unsigned long long>(stats.checked_operations),
              static_cast<unsigned long long>(stats.unknown_operations),
              static_cast<unsigned long long>(stats.dropped_failed),
              static_cast<unsigned long long>(stats.dropped_unknown_reads),
              static_cast<unsigned long long>(stats.dropped_unobserved_unknown));
  std::printf("  explored     %llu states in %llu steps (budget %llu states per partition)\n",
              static_cast<unsigned long long>(stats.states_explored), static_cast<unsigned long long>(stats.steps),
              static_cast<unsigned long long>(flags.max_states));
  std::printf("  result       %s\n", verdict_line(result).c_str());
  if (result.violation) std::printf("\n%s", format_violation(result).c_str());
}

void print_json(const CheckHistoryFlags& flags, const ParsedHistory& parsed, ModelKind model, const CheckResult& result) {
  JsonWriter json;
  json.begin_object();
  json.key("file").value(flags.path);
  json.key("format").value(history_format_name(parsed.format));
  json.key("model").value(model_kind_name(model));
  json.key("max_states_per_partition").value(flags.max_states);
  write_check_result_json(result, json);
  json.end_object();
  std::cout << json.text() << "\n";
}

int bad_input(const std::string& message) {
  std::cerr << "cairn-sim: " << message << "\n";
  return kExitUnknownOrBadInput;
}

}  // namespace

CLI::App* add_check_history_command(CLI::App& app, CheckHistoryFlags& flags) {
  CLI::App* command = app.add_subcommand(
      "check-history",
      "Check a history (JSON lines, Jepsen log or Jepsen EDN) for linearizability; exit 0 linearizable, 1 not, 2 "
      "unknown or bad input");
  command->add_option("file", flags.path, "History file, e.g. from `cairn-sim run --history FILE`")->required();
  command->add_option("--model", flags.model, "Sequential model: register | cas-register | kv")
      ->required()
      ->check(CLI::IsMember({"register", "cas-register", "kv"}));
  command->add_option("--format", flags.format, "History format: auto (default) | jsonl | jepsen-log | edn")
      ->check(CLI::IsMember({"auto", "jsonl", "jepsen-log", "edn"}));
  command->add_flag("--json", flags.json, "Print exactly one JSON object instead of the human summary");
  command->add_option("--max-states", flags.max_states,
                      "Search budget: explored states per key before the verdict is unknown (default " +
                          std::to_string(kDefaultMaxStatesPerPartition) + ")")
      ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 40));
  return command;
}

int run_check_history_command(const CheckHistoryFlags& flags) {
  const std::optional<ModelKind> model = parse_model_kind(flags.model);
  const std::optional<HistoryFormat> format = parse_history_format_name(flags.format);
  if (!model || !format) return bad_input("unknown --model or --format");
  HistoryParseOptions options;
  options.format = *format;
  options.key_value_tuples = *model == ModelKind::kKeyValue;
  Result<ParsedHistory> parsed = read_history_file(flags.path, options);
  if (!parsed.ok()) return bad_input(parsed.status().message());
  Result<CheckResult> result = check_linearizability(parsed->operations, *model,
                                                     CheckOptions{.max_states_per_partition = flags.max_states});
  if (!result.ok()) return bad_input(flags.path + ": " + result.status().message());
  if (flags.json) {
    print_json(flags, *parsed, *model, *result);
  } else {
    print_human(flags, *parsed, *model, *result);
  }
  return exit_status(result->verdict);
}

}  // namespace cairn::sim
