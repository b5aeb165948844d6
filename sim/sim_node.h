// SimNode: one simulated machine — the Runtime its code runs on, its process, clock, disk and
// network endpoint — and the lifecycle the fault injector drives: start, crash (kill -9), restart
// from its disk, pause, and replacement with a blank disk.
//
// Crash means: every fiber of the process unwinds (destructors run, nothing leaks), its timers
// and service bindings vanish, and the disk keeps only what was synced (sim_disk.h). The
// machine's disk, clock and random stream survive into the next incarnation; nothing else does.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/proto/scenario.pb.h"
#include "core/runtime/runtime.h"
#include "core/runtime/service_table.h"
#include "sim/sim_clock.h"

namespace cairn::sim {

class Simulator;
class SimDisk;
class SimFileSystem;
class NodeNetwork;
class NodeLogger;
class FaultPlan;

struct BootContext {
  uint64_t incarnation = 0;  // 1 for the first start, then +1 per restart
};

// What a node runs: called in the node's main fiber at every start. It typically builds its
// services and then blocks until the process is killed.
using BootFunction = std::function<void(Runtime& runtime, const BootContext& context)>;

struct SimNodeOptions {
  NodeId id = 0;
  std::string region;
  proto::DiskModel disk;
  LogLevel log_level = LogLevel::kInfo;  // threshold for the event log
  bool corruptible_disk = false;         // the fault plan's corrupting disk faults apply here
  const FaultPlan* faults = nullptr;     // the run's fault plan for this node's disk (null: none)
};

class SimNode final : public Runtime {
 public:
  SimNode(Simulator& simulator, SimNodeOptions options, BootFunction boot);
  ~SimNode() override;

  // Lifecycle; call from the event loop or from a fiber of another node or the harness.
  void start();
  void crash();
  void pause();
  void unpause();
  // Crash, then swap in a blank disk (the machine's disk was replaced).
  void wipe();
  // Wipe, and never start again (start() does nothing from now on): an operator's machine whose
  // disk was lost, taken out of service rather than brought back under its old id.
  void retire();
  bool retired() const { return retired_; }
  // Final teardown at the end of a run: like crash(), without touching the disk.
  void shut_down();

  // Hands an arriving message to the node's services; while the node is paused, the message
  // waits (as in a kernel socket buffer) until it resumes. NOT_FOUND if no service is bound.
  Status deliver(proto::Envelope&& envelope);

  bool up() const { return process_ != nullptr; }
  bool paused() const { return up() && process_->paused(); }
  uint64_t incarnation() const { return incarnation_; }
  const std::string& region() const { return options_.region; }
  SimClock& clock() { return clock_; }
  SimDisk& disk() { return *disk_; }
  ServiceTable& services() { return services_; }
  Simulator& simulator() { return *simulator_; }

  // Runtime
  NodeId node_id() const override { return options_.id; }
  MonotonicTime now() override;
  WallTime wall_now() override;
  TimerId start_timer(Duration delay, std::function<void()> callback) override;
  void cancel_timer(TimerId id) override;
  Process& process() override;
  Random& random() override { return random_; }
  Network& network() override;
  FileSystem& file_system() override;
  Logger& logger() override;
  metrics::MetricsRegistry& metrics() override { return metrics_; }

 private:
  // FaultPoints: the run's Coverage decides, drawing from this machine's buggify stream.
  bool fire(std::string_view site) override;
  void hit(std::string_view name) override;

  void stop_process();

  Simulator* simulator_;
  SimNodeOptions options_;
  BootFunction boot_;
  SimClock clock_;
  Random random_;
  Random buggify_random_;
  std::unique_ptr<SimDisk> disk_;
  std::unique_ptr<SimFileSystem> file_system_;
  std::unique_ptr<NodeNetwork> network_;
  std::unique_ptr<NodeLogger> logger_;
  // The machine's, not the process's: it outlives restarts, as the disk and clock do.
  metrics::MetricsRegistry metrics_;
  ServiceTable services_;
  std::unique_ptr<Process> process_;
  bool retired_ = false;
  uint64_t incarnation_ = 0;
  // Local timer id -> the simulator's event id; timers die with the process.
  std::map<TimerId, TimerId> timers_;
  TimerId last_timer_id_ = 0;
  static constexpr std::size_t kMaxHeldMessages = 100'000;
  std::vector<proto::Envelope> held_messages_;  // arrived while paused
};

// Adds a node that runs `body` in its main fiber at every start (a workload's client, say).
SimNode& add_program_node(Simulator& simulator, NodeId id, const std::string& region, const proto::DiskModel& disk,
                          std::function<void(Runtime&)> body);

}  // namespace cairn::sim
