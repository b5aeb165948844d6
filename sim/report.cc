// Human and JSON renderings of a run (see report.h).
#include "core/runtime/assert.h"
#include "sim/report.h"

#include <cstdio>

#include "sim/json_writer.h"
#include "sim/scenario_loader.h"
#include "sim/trace.h"

namespace cairn::sim {
namespace {

std::string counts(const std::map<std::string, uint64_t>& by_kind) {
  if (by_kind.empty()) return "none";
  std::string text;
  for (const auto& [kind, count] : by_kind) {
    if (!text.empty()) text += ", ";
    text += kind + " " + std::to_string(count);
  }
  return text;
}

std::string format(const char* pattern, double value) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, pattern, value);
  return buffer;
}

}  // namespace

namespace {
std::string& program_path() {
  static std::string path = "cairn-sim";
  return path;
}
}  // namespace

const std::string& replay_program() { return program_path(); }

void set_replay_program(const std::string& path) {
  CAIRN_ASSERT(!path.empty(), "a replay needs a program");
  program_path() = path;
}

std::string replay_command(const std::string& scenario_path, uint64_t seed) {
  return program_path() + " run " + scenario_path + " --seed " + std::to_string(seed);
}

std::string format_human_report(const RunReport& report, const std::string& scenario_path) {
  std::string text;
  text += "cairn-sim: scenario " + report.scenario + ", seed " + std::to_string(report.seed) + "\n";
  text += "  cluster      " + std::to_string(report.servers) + " servers in " + std::to_string(report.regions) +
          " region(s)" +
          (report.clients > 0 ? ", " + std::to_string(report.clients) + " " + report.client_kind + " clients" : "") + "\n";
  const double speed = report.wall_seconds > 0 ? report.sim_seconds / report.wall_seconds : 0;
  text += "  time         " + format("%.1f", report.sim_seconds) + " s simulated in " +
          format("%.2f", report.wall_seconds) + " s wall (" + format("%.0f", speed) + "x)\n";
  text += "  activity     " + std::to_string(report.events) + " traced events, " +
          std::to_string(report.loop_events) + " loop events, " + std::to_string(report.fiber_switches) +
          " fiber switches\n";
  text += "  messages     " + std::to_string(report.network.sent) + " sent, " +
          std::to_string(report.network.delivered) + " delivered, " + std::to_string(report.network.dropped_total()) +
          " dropped (" + counts(report.network.dropped) + ")\n";
  std::string enabled;
  for (const std::string& fault : report.enabled_faults) enabled += (enabled.empty() ? "" : ", ") + fault;
  text += "  faults on    " + (enabled.empty() ? std::string("none") : enabled) + "\n";
  text += "  injected     " + counts(report.faults) + "\n";
  text += "  client ops   " + std::to_string(report.ops_ok) + " ok, " + std::to_string(report.ops_failed) +
          " failed, " + std::to_string(report.ops_unknown) + " unknown\n";
  if (!report.outcomes.empty()) text += "  outcomes     " + counts(report.outcomes) + "\n";
  if (!report.knobs.empty()) text += "  knobs        " + counts(report.knobs) + "\n";
  if (report.buggify_sites_active > 0) {
    text += "  buggify      " + std::to_string(report.buggify_sites_reached) + " sites reached, " +
            std::to_string(report.buggify_sites_active) + " active, fired: " + counts(report.buggify_fired) + "\n";
  }
  text += "  probes       " + counts(report.probes) + "\n";
  text += "  checks\n";
  for (const CheckOutcome& check : report.checks) {
    text += "    " + std::string(check.passed ? "pass  " : "FAIL  ") + check_name(check.check) + "\n";
    if (!check.passed) text += "          " + check.detail + "\n";
  }
  text += "  trace hash   " + format_hash(report.trace_hash) + "\n";
  text += std::string("  result       ") + (report.ok ? "OK" : "FAILED") + "\n";
  if (!report.ok) text += "  replay       " + replay_command(scenario_path, report.seed) + " --trace-log trace.log\n";
  return text;
}

std::string format_json_report(const RunReport& report) {
  JsonWriter json;
  json.begin_object();
  json.key("scenario").value(report.scenario);
  json.key("seed").value(report.seed);
  json.key("ok").value(report.ok);
  json.key("trace_hash").value(format_hash(report.trace_hash));
  json.key("sim_seconds").value(report.sim_seconds);
  json.key("wall_seconds").value(report.wall_seconds);
  json.key("events").value(report.events);
  json.key("messages").value(report.messages);
  json.key("faults").begin_object();
  for (const auto& [kind, count] : report.faults) json.key(kind).value(count);
  json.end_object();
  json.key("ops").begin_object();
  json.key("ok").value(report.ops_ok);
  json.key("failed").value(report.ops_failed);
  json.key("unknown").value(report.ops_unknown);
  json.end_object();
  json.key("checks").begin_object();
  for (const CheckOutcome& check : report.checks) json.key(check_name(check.check)).value(check.passed ? "pass" : "fail");
  json.end_object();
  json.key("failures").begin_object();
  for (const CheckOutcome& check : report.checks) {
    if (!check.passed) json.key(check_name(check.check)).value(check.detail);
  }
  json.end_object();
  json.key("enabled_faults").begin_array();
  for (const std::string& fault : report.enabled_faults) json.value(fault);
  json.end_array();
  json.key("network").begin_object();
  json.key("sent").value(report.network.sent);
  json.key("delivered").value(report.network.delivered);
  json.key("duplicated").value(report.network.duplicated);
  json.key("dropped").begin_object();
  for (const auto& [reason, count] : report.network.dropped) json.key(reason).value(count);
  json.end_object();
  json.end_object();
  json.key("loop_events").value(report.loop_events);
  json.key("fiber_switches").value(report.fiber_switches);
  if (!report.outcomes.empty()) {
    json.key("outcomes").begin_object();
    for (const auto& [name, count] : report.outcomes) json.key(name).value(count);
    json.end_object();
  }
  if (!report.knobs.empty()) {
    json.key("knobs").begin_object();
    for (const auto& [name, value] : report.knobs) json.key(name).value(value);
    json.end_object();
  }
  json.key("buggify").begin_object();
  json.key("sites_reached").value(report.buggify_sites_reached);
  json.key("sites_active").value(report.buggify_sites_active);
  json.key("fired").begin_object();
  for (const auto& [site, count] : report.buggify_fired) json.key(site).value(count);
  json.end_object();
  json.end_object();
  json.key("probes").begin_object();
  for (const auto& [name, count] : report.probes) json.key(name).value(count);
  json.end_object();
  json.end_object();
  return json.text();
}

}  // namespace cairn::sim
