// A simulated machine: its Runtime and its process lifecycle (see sim_node.h).
#include "sim/sim_node.h"

#include "sim/fault_plan.h"
#include "sim/sim_disk.h"
#include "sim/sim_file_system.h"
#include "sim/sim_network.h"
#include "sim/simulator.h"

namespace cairn::sim {

// Log lines of a node go to the run's event log, stamped with simulated time and node id.
class NodeLogger final : public Logger {
 public:
  NodeLogger(Simulator& simulator, NodeId node, LogLevel threshold)
      : simulator_(&simulator), node_(node), threshold_(threshold) {}
  bool enabled(LogLevel level) const override { return simulator_->trace().logging() && level >= threshold_; }

 protected:
  void write(LogLevel level, std::string_view component, std::string_view message,
             std::initializer_list<LogField> fields) override {
    simulator_->trace().note(simulator_->now(), node_, format_log_fields(level, component, message, fields));
  }

 private:
  Simulator* simulator_;
  NodeId node_;
  LogLevel threshold_;
};

SimNode::SimNode(Simulator& simulator, SimNodeOptions options, BootFunction boot)
    : Runtime(/*fault_points_enabled=*/true),
      simulator_(&simulator),
      options_(std::move(options)),
      boot_(std::move(boot)),
      // Machines booted at different times: monotonic clocks do not share an origin.
      clock_(Duration{static_cast<int64_t>(simulator.stream("clock-base/" + std::to_string(options_.id))
                                               .uniform_between(1'000'000'000'000LL, 900'000'000'000'000LL))}),
      random_(simulator.stream("node/" + std::to_string(options_.id))),
      buggify_random_(simulator.stream("buggify/" + std::to_string(options_.id))),
      disk_(std::make_unique<SimDisk>(simulator, options_.id, options_.disk, options_.faults, options_.corruptible_disk,
                                      simulator.stream("disk/" + std::to_string(options_.id)))),
      file_system_(std::make_unique<SimFileSystem>(*this, *disk_)),
      network_(std::make_unique<NodeNetwork>(*this)),
      logger_(std::make_unique<NodeLogger>(simulator, options_.id, options_.log_level)) {}

SimNode::~SimNode() { shut_down(); }

void SimNode::start() {
  if (retired_) return;  // a restart scheduled before it was retired finds no machine
  CAIRN_ASSERT(!up(), "starting node " + std::to_string(options_.id) + " that is already up");
  ++incarnation_;
  process_ = std::make_unique<Process>(simulator_->scheduler(), "node-" + std::to_string(options_.id));
  simulator_->trace().record(simulator_->now(), TraceEvent::kNodeStart, options_.id, incarnation_);
  const BootContext context{incarnation_};
  process_->root().spawn("main", [this, context] { boot_(*this, context); });
}

Status SimNode::deliver(proto::Envelope&& envelope) {
  if (paused()) {
    if (held_messages_.size() >= kMaxHeldMessages) return Status::resource_exhausted("paused node's buffer is full");
    held_messages_.push_back(std::move(envelope));
    return {};
  }
  return services_.dispatch(std::move(envelope));
}

void SimNode::stop_process() {
  held_messages_.clear();
  if (!up()) return;
  process_->kill();
  for (const auto& [local, event] : timers_) simulator_->cancel(event);
  timers_.clear();
  services_.clear();
  process_.reset();
}

void SimNode::crash() {
  if (!up()) return;
  simulator_->trace().record(simulator_->now(), TraceEvent::kNodeCrash, options_.id, incarnation_);
  stop_process();
  disk_->crash();
}

void SimNode::shut_down() { stop_process(); }

void SimNode::pause() {
  if (up()) process_->pause();
}

void SimNode::unpause() {
  if (!up()) return;
  process_->unpause();
  std::vector<proto::Envelope> held = std::move(held_messages_);
  held_messages_.clear();
  for (proto::Envelope& envelope : held) (void)services_.dispatch(std::move(envelope));
}

void SimNode::wipe() {
  crash();
  disk_->wipe();
}

void SimNode::retire() {
  wipe();
  retired_ = true;
  CAIRN_ASSERT(!up(), "a retired node is down");
}

MonotonicTime SimNode::now() { return clock_.monotonic(simulator_->now()); }

WallTime SimNode::wall_now() { return clock_.wall(simulator_->now()); }

TimerId SimNode::start_timer(Duration delay, std::function<void()> callback) {
  const TimerId local = ++last_timer_id_;
  const TimerId event = simulator_->schedule_at(
      simulator_->now() + clock_.global_delay(delay), [this, local, callback = std::move(callback)] {
        timers_.erase(local);
        simulator_->trace().record(simulator_->now(), TraceEvent::kTimer, options_.id, local);
        callback();
      });
  timers_.emplace(local, event);
  return local;
}

void SimNode::cancel_timer(TimerId id) {
  auto it = timers_.find(id);
  if (it == timers_.end()) return;
  simulator_->cancel(it->second);
  timers_.erase(it);
}

Process& SimNode::process() {
  CAIRN_ASSERT(up(), "node " + std::to_string(options_.id) + " is down: it has no process");
  return *process_;
}

Network& SimNode::network() { return *network_; }

FileSystem& SimNode::file_system() { return *file_system_; }

Logger& SimNode::logger() { return *logger_; }

bool SimNode::fire(std::string_view site) {
  if (!simulator_->coverage().buggify(site, buggify_random_)) return false;
  simulator_->count_fault("buggify", options_.id, hash_text(site), site);
  return true;
}

void SimNode::hit(std::string_view name) { simulator_->coverage().probe(options_.id, name); }

SimNode& add_program_node(Simulator& simulator, NodeId id, const std::string& region, const proto::DiskModel& disk,
                          std::function<void(Runtime&)> body) {
  SimNodeOptions options{.id = id, .region = region, .disk = disk};
  return simulator.add_node(std::make_unique<SimNode>(
      simulator, options, [body = std::move(body)](Runtime& runtime, const BootContext&) { body(runtime); }));
}

}  // namespace cairn::sim
