// Simulator: the world of one simulated run — virtual time, the event queue, the fiber
// scheduler, the network and the nodes — driven from one root seed.
//
// The loop alternates two things: run every ready fiber (in an order drawn from the seed), then
// advance virtual time to the next event and run it (events due at the same instant are ordered
// by random tiebreaks drawn from the seed). Nothing else decides what happens next, so a run is
// a pure function of (binary, scenario, seed), and its trace hash proves it.
//
// Every component draws from its own random stream, derived from the root seed by name
// (stream("network"), stream("disk/3"), ...), so adding a draw in one place does not change
// what another component sees.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "core/runtime/network.h"
#include "core/runtime/random.h"
#include "core/runtime/scheduler.h"
#include "core/runtime/timer_queue.h"
#include "sim/coverage.h"
#include "sim/trace.h"

namespace cairn::sim {

class SimNode;
class SimNetwork;

class Simulator {
 public:
  explicit Simulator(uint64_t seed);
  ~Simulator();
  Simulator(const Simulator&) = delete;
  Simulator& operator=(const Simulator&) = delete;

  uint64_t seed() const { return seed_; }
  Scheduler& scheduler() { return scheduler_; }
  Trace& trace() { return trace_; }
  // Global virtual time in nanoseconds since the start of the run.
  int64_t now() const { return now_; }
  Random stream(std::string_view name) const { return Random(derive_seed(seed_, name)); }

  // Runs `callback` on the loop after `delay` of global virtual time.
  TimerId schedule(Duration delay, std::function<void()> callback);
  TimerId schedule_at(int64_t at, std::function<void()> callback);
  void cancel(TimerId id) { events_.cancel(id); }

  // Runs fibers and events until virtual time `until`; later events stay queued, and time ends
  // at `until` even if the queue ran dry before.
  void run_until(int64_t until);
  // As run_until, but stops early (returning true) once `done()` holds after an event.
  bool run_until(int64_t until, const std::function<bool()>& done);

  // The network and the nodes of this world. The network must be installed before nodes.
  void install_network(std::unique_ptr<SimNetwork> network);
  SimNetwork& network() { return *network_; }
  SimNode& add_node(std::unique_ptr<SimNode> node);
  SimNode* find_node(NodeId id);
  const std::map<NodeId, std::unique_ptr<SimNode>>& nodes() const { return nodes_; }

  // Counts an injected fault by kind (for reports) and records it in the trace.
  void count_fault(const std::string& kind, uint64_t node, uint64_t detail = 0, std::string_view label = {});
  const std::map<std::string, uint64_t>& fault_counts() const { return faults_; }

  uint64_t events_processed() const { return events_processed_; }

  // The run's buggify sites and coverage probes (every node's fault points report here).
  Coverage& coverage() { return coverage_; }
  const Coverage& coverage() const { return coverage_; }

 private:
  uint64_t seed_;
  Scheduler scheduler_;
  Scheduler::Installation installation_;
  Random tiebreak_;
  TimerQueue events_;
  int64_t now_ = 0;
  uint64_t events_processed_ = 0;
  Trace trace_;
  std::map<std::string, uint64_t> faults_;
  Coverage coverage_;
  std::unique_ptr<SimNetwork> network_;
  std::map<NodeId, std::unique_ptr<SimNode>> nodes_;
};

}  // namespace cairn::sim
