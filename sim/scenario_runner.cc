// One simulated run from scenario and seed to report (see scenario_runner.h).
#include "sim/scenario_runner.h"

#include <chrono>
#include <cstdio>
#include <fstream>
#include <set>

#include "core/register/register_server.h"
#include "core/register/register_store.h"
#include "core/runtime/event.h"
#include "sim/fault_plan.h"
#include "sim/nemesis.h"
#include "sim/perfetto_export.h"
#include "sim/scenario_loader.h"
#include "sim/sim_disk.h"
#include "sim/sim_node.h"
#include "sim/simulator.h"
#include "sim/checkers/history_writer.h"
#include "sim/workload/raft_kv_workload.h"
#include "sim/workload/register_workload.h"
#include "sim/workload/storage_workload.h"

namespace cairn::sim {
namespace {

// What every server runs: one replica of the register, until its process is killed. A start
// that fails (the disk failed a sync, say) is retried: a node that gave up would stay silently
// dead, and a cluster waiting on it could never recover a replaced peer.
//
// `bootstrapped` is the operator's knowledge of which servers finished bootstrapping. A server
// that crashed before it did held nothing and promised nothing, so it bootstraps again, as an
// operator re-runs the bootstrap of a node that failed during it; taking it for a replaced disk
// would leave a second replica rebuilding where the register tolerates one (register_recovery,
// seed 743332803565: node 1 crashed 2.6 ms into its first start, node 2 was wiped, and neither
// could ever rebuild from node 3 alone).
void run_register_server(Runtime& runtime, const std::vector<NodeId>& servers, std::set<NodeId>& bootstrapped) {
  RegisterServer::Options options;
  options.replicas = servers;
  options.bootstrap = !bootstrapped.contains(runtime.node_id());
  Duration backoff = milliseconds(10);
  while (true) {
    RegisterServer server(runtime, options);
    Status started = server.start();
    if (started.ok()) {
      // Nothing has been served yet: start() does not block after the service opens.
      bootstrapped.insert(runtime.node_id());
      Event forever;
      forever.wait();
    }
    runtime.logger().log(LogLevel::kError, "register", "start failed; retrying", {{"error", started.to_string()}});
    runtime.sleep(backoff);
    backoff = std::min(backoff * 2, seconds(1));
  }
}

std::string json_escape(const std::string& text) {
  std::string escaped;
  for (char c : text) {
    if (c == '"' || c == '\\') {
      escaped += '\\';
      escaped += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buffer[8];
      std::snprintf(buffer, sizeof buffer, "\\u%04x", c);
      escaped += buffer;
    } else {
      escaped += c;
    }
  }
  return escaped;
}

Status write_history(const std::string& path, const RegisterHistory& history) {
  std::ofstream out(path);
  if (!out) return Status::io_error("cannot write the history file '" + path + "'");
  for (const RegisterOperation& operation : history) {
    const char* outcome = !operation.completed()                              ? "unknown"
                          : operation.outcome == OperationOutcome::kOk        ? "ok"
                          : operation.outcome == OperationOutcome::kFailed    ? "fail"
                                                                              : "unknown";
    // A read of version 0 saw the register's initial value, which `check-history` calls nil.
    const bool nil = !operation.write && operation.value.sequence() == 0;
    out << "{\"process\":" << operation.client << ",\"f\":\"" << (operation.write ? "write" : "read")
        << "\",\"invoke_ns\":" << operation.invoked_at << ",\"complete_ns\":" << operation.completed_at
        << ",\"type\":\"" << outcome << "\",\"value\":"
        << (nil ? "null" : "\"" + json_escape(operation.write ? operation.written_data : operation.value.data()) + "\"")
        << ",\"version\":[" << operation.value.sequence() << "," << operation.value.writer() << "]}\n";
  }
  return out.good() ? Status{} : Status::io_error("error writing the history file '" + path + "'");
}

}  // namespace

Result<RunReport> run_scenario(const proto::Scenario& scenario, uint64_t seed, const RunOptions& options) {
  const auto wall_start = std::chrono::steady_clock::now();
  RunReport report;
  report.scenario = scenario.name();
  report.seed = seed;

  // Before the simulator: nodes still record events while the simulator is torn down.
  std::unique_ptr<PerfettoExport> perfetto;
  if (!options.perfetto_path.empty()) {
    CAIRN_ASSIGN_OR_RETURN(perfetto, PerfettoExport::open(options.perfetto_path));
  }
  Simulator simulator(seed);
  if (!options.trace_log_path.empty() && !simulator.trace().open_log(options.trace_log_path)) {
    return Status::io_error("cannot write the trace log '" + options.trace_log_path + "'");
  }
  if (perfetto) simulator.trace().add_sink(perfetto.get());

  std::vector<NodeId> servers;
  for (NodeId id = 1; id <= server_count(scenario); ++id) servers.push_back(id);
  Random swarm = simulator.stream("swarm");
  FaultPlan plan = FaultPlan::choose(scenario.faults(), servers, swarm);
  for (const ActiveFault& fault : plan.active()) report.enabled_faults.push_back(fault.name());
  simulator.coverage().set_buggify_probability(plan.rate(proto::BUGGIFY));
  simulator.install_network(std::make_unique<SimNetwork>(simulator, scenario.network(), &plan));

  const bool storage_workload = scenario.workload().has_storage();
  std::unique_ptr<StorageWorkload> storage;
  std::unique_ptr<RaftKvWorkload> raft_kv;
  auto register_bootstrapped = std::make_shared<std::set<NodeId>>();
  BootFunction boot = [servers, register_bootstrapped](Runtime& runtime, const BootContext&) {
    run_register_server(runtime, servers, *register_bootstrapped);
  };
  if (storage_workload) {
    std::set<NodeId> corruptible;
    const bool corrupting_faults = plan.enabled(proto::DISK_BIT_FLIP) || plan.enabled(proto::DISK_MISDIRECTED_WRITE);
    for (NodeId server : servers) {
      if (corrupting_faults && plan.unreliable(server)) corruptible.insert(server);
    }
    storage = std::make_unique<StorageWorkload>(simulator, scenario.workload().storage(), servers, corruptible);
    boot = storage->boot_function();
  }
  if (scenario.workload().has_raft_kv()) {
    raft_kv = std::make_unique<RaftKvWorkload>(simulator, scenario.workload().raft_kv(), servers,
                                               seconds_to_duration(scenario.duration_seconds()).count());
    boot = raft_kv->server_boot_function();
    const bool corrupting = plan.enabled(proto::DISK_READ_ERROR) || plan.enabled(proto::DISK_BIT_FLIP) ||
                            plan.enabled(proto::DISK_MISDIRECTED_WRITE);
    if (corrupting) raft_kv->excuse_from_catch_up(plan.unreliable_nodes());
  }
  NodeId next_id = 1;
  for (const proto::Region& region : scenario.topology().regions()) {
    for (uint32_t i = 0; i < region.nodes(); ++i, ++next_id) {
      SimNodeOptions node_options{.id = next_id,
                                  .region = region.name(),
                                  .disk = scenario.disk(),
                                  .log_level = options.log_level,
                                  .corruptible_disk = plan.unreliable(next_id),
                                  .faults = &plan};
      simulator.add_node(std::make_unique<SimNode>(simulator, node_options, boot));
    }
  }

  std::unique_ptr<RegisterWorkload> workload;
  std::vector<NodeId> clients;
  if (raft_kv) {
    const std::string& region = scenario.workload().raft_kv().client_region();
    raft_kv->add_clients(region.empty() ? scenario.topology().regions(0).name() : region, scenario.disk());
    clients = raft_kv->client_ids();
  } else if (!storage_workload) {
    const proto::RegisterWorkload& workload_config = scenario.workload().register_();
    workload = std::make_unique<RegisterWorkload>(simulator, workload_config, servers);
    const std::string client_region = workload_config.client_region().empty() ? scenario.topology().regions(0).name()
                                                                               : workload_config.client_region();
    workload->add_clients(client_region, scenario.disk());
    clients = workload->client_ids();
  }

  if (perfetto) {
    for (const auto& [id, node] : simulator.nodes()) {
      const bool server = id <= servers.size();
      perfetto->name_node(id, (server ? "server " : id == RaftKvWorkload::kAdministratorId ? "administrator " : "client ") +
                                  std::to_string(id) + " (" + node->region() + ")");
    }
  }
  Nemesis nemesis(simulator, plan, servers, clients, raft_kv.get());
  nemesis.apply_clock_faults();
  for (NodeId server : servers) simulator.find_node(server)->start();
  if (workload) workload->start();
  if (raft_kv) raft_kv->start();

  const int64_t fault_end = seconds_to_duration(scenario.duration_seconds()).count();
  const int64_t end = fault_end + seconds_to_duration(scenario.quiesce_seconds()).count();
  nemesis.start(fault_end);
  simulator.run_until(fault_end);
  nemesis.heal_all();
  plan.heal_disk_faults();
  // Buggify is a fault too: its rare paths include failed syncs and lost replies (FoundationDB
  // also quiets them once the test's faults are over).
  simulator.coverage().set_buggify_probability(0);
  if (raft_kv) raft_kv->mark_quiesce_started();
  simulator.run_until(end);
  if (raft_kv) raft_kv->mark_run_ended();  // REPLICAS_CATCH_UP: the quiesce phase is its bound

  if (raft_kv) {
    raft_kv->stop();
    for (int check : scenario.checks()) {
      switch (static_cast<proto::Check>(check)) {
        case proto::LINEARIZABLE: report.checks.push_back(raft_kv->check_linearizable()); break;
        case proto::RAFT_SAFETY: report.checks.push_back(raft_kv->check_raft_safety()); break;
        case proto::LIVENESS: report.checks.push_back(raft_kv->check_liveness(fault_end, end)); break;
        case proto::REPLICAS_CATCH_UP: report.checks.push_back(raft_kv->check_replicas_caught_up()); break;
        case proto::READ_YOUR_WRITES: report.checks.push_back(raft_kv->check_read_your_writes()); break;
        case proto::MONOTONIC_READS: report.checks.push_back(raft_kv->check_monotonic_reads()); break;
        case proto::OPERATIONS_COMPLETED: report.checks.push_back(raft_kv->check_operations_completed()); break;
        default: break;  // the loader refuses checks this workload cannot answer
      }
    }
    if (!options.history_path.empty()) {
      CAIRN_RETURN_IF_ERROR(linearizability::write_json_lines_file(options.history_path, raft_kv->history()));
    }
    const RaftKvOutcomes outcomes = raft_kv->outcomes();
    report.outcomes = outcomes.counters();
    report.ops_ok = outcomes.writes_ok + outcomes.reads_ok;
    report.ops_failed = outcomes.writes_failed;
    report.ops_unknown = outcomes.unknown;
    report.clients = scenario.workload().raft_kv().clients();
    report.client_kind = "key-value";
    report.knobs = raft_kv->knobs();
    // The servers' fibers report to the workload (its oracle) while they unwind: end them first.
    for (const auto& [id, node] : simulator.nodes()) node->shut_down();
  } else if (storage) {
    report.checks.push_back(storage->check_integrity());
    const StorageOutcomes outcomes = storage->outcomes();
    report.outcomes = outcomes.counters();
    report.ops_ok = outcomes.batches_applied + outcomes.reads_verified;
    report.ops_failed = outcomes.write_errors + outcomes.read_errors;
    // The servers' fibers use the workload's state and the fault plan while they unwind (SQLite
    // rolls back through the disk, each operation failing at once): end them while both live.
    for (const auto& [id, node] : simulator.nodes()) node->shut_down();
  } else {
    workload->stop();
    RegisterCheckInput input;
    input.history = &workload->history();
    for (NodeId server : servers) {
      input.durable_register_files.push_back(simulator.find_node(server)->disk().durable_image(RegisterStore::kFileName));
    }
    input.clients = workload->client_ids();
    input.quiesce_started_at = fault_end;
    input.ended_at = end;
    std::vector<proto::Check> checks;
    for (int check : scenario.checks()) checks.push_back(static_cast<proto::Check>(check));
    report.checks = run_register_checks(checks, input);
    if (!options.history_path.empty()) CAIRN_RETURN_IF_ERROR(write_history(options.history_path, workload->history()));
    for (const RegisterOperation& operation : workload->history()) {
      if (operation.ok()) {
        ++report.ops_ok;
      } else if (operation.completed() && operation.outcome == OperationOutcome::kFailed) {
        ++report.ops_failed;
      } else {
        ++report.ops_unknown;
      }
    }
    report.clients = scenario.workload().register_().clients();
    report.client_kind = "register";
  }
  report.ok = true;
  for (const CheckOutcome& check : report.checks) report.ok = report.ok && check.passed;
  report.trace_hash = simulator.trace().hash();
  report.events = simulator.trace().events();
  report.loop_events = simulator.events_processed();
  report.fiber_switches = simulator.scheduler().fiber_switches();
  report.network = simulator.network().stats();
  report.messages = report.network.sent;
  report.faults = simulator.fault_counts();
  report.probes = simulator.coverage().probe_hits();
  report.buggify_fired = simulator.coverage().buggify_fired();
  report.buggify_sites_reached = simulator.coverage().buggify_sites_reached();
  report.buggify_sites_active = simulator.coverage().buggify_sites_active();
  report.sim_seconds = to_seconds(Duration{simulator.now()});
  report.servers = static_cast<uint32_t>(servers.size());
  report.regions = static_cast<uint32_t>(scenario.topology().regions_size());
  report.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
  return report;
}

}  // namespace cairn::sim
