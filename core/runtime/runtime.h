// Runtime: everything the database core may use of the outside world, and nothing else.
//
// Code under core/ and storage/ reaches time, timers, randomness, the network, files and fault
// points only through the Runtime it is handed (../shared/tools/det-lint enforces it). Two
// implementations exist:
//  - sim/  SimNodeRuntime: one per simulated node; virtual time, seeded randomness, a simulated
//          network and disk with fault injection; a whole cluster in one process, replayable
//          from its seed;
//  - net/  EpollRuntime: real clocks, TCP, POSIX files; the production daemon.
// The same core code runs unchanged on both.
//
// Every blocking call (sleep, waiting on futures, channels, RPCs, file operations in the
// simulator) parks only the calling fiber and must be made from a fiber.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "core/metrics/metrics_registry.h"
#include "core/runtime/fault_points.h"
#include "core/runtime/fiber_scope.h"
#include "core/runtime/file_system.h"
#include "core/runtime/logger.h"
#include "core/runtime/network.h"
#include "core/runtime/random.h"
#include "core/runtime/time.h"
#include "core/runtime/timer_queue.h"

namespace cairn {

// A Runtime is also the node's FaultPoints (fault_points.h): `runtime.buggify(site)` and
// `runtime.probe(name)`, enabled in the simulator only.
class Runtime : public FaultPoints {
 public:
  explicit Runtime(bool fault_points_enabled) : FaultPoints(fault_points_enabled) {}
  virtual ~Runtime() = default;
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  // The node this runtime belongs to.
  virtual NodeId node_id() const = 0;

  // Monotonic time: never decreases, unaffected by wall clock steps. In the simulator it runs
  // at the node's own (possibly drifting) rate.
  virtual MonotonicTime now() = 0;
  // Wall-clock time; may jump and differ between nodes. Use only for timestamps, never to
  // measure intervals.
  virtual WallTime wall_now() = 0;

  // Calls `callback` on the event loop after `delay` of this node's monotonic time. The callback
  // must not block (spawn a fiber or fulfil a promise instead). Timers die with the process.
  virtual TimerId start_timer(Duration delay, std::function<void()> callback) = 0;
  // Does nothing if the timer fired or was cancelled already.
  virtual void cancel_timer(TimerId id) = 0;

  // The process this node's fibers run in (killed and restarted as one by the simulator).
  virtual Process& process() = 0;
  virtual Random& random() = 0;
  virtual Network& network() = 0;
  virtual FileSystem& file_system() = 0;
  virtual Logger& logger() = 0;
  // This node's metrics (rendered for the daemon's /metrics endpoint). The registry lives as
  // long as the machine: in the simulator it survives process restarts, so counters keep
  // counting across them. Metrics are only written by the core, never read back to decide
  // anything, so they cannot change a simulated run.
  virtual metrics::MetricsRegistry& metrics() = 0;

  // Parks the calling fiber for `duration` of this node's time.
  void sleep(Duration duration);
  // Starts a fiber in this node's process (its root scope).
  FiberId spawn(std::string name, std::function<void()> body) {
    return process().root().spawn(std::move(name), std::move(body));
  }
};

// Cancels a timer when destroyed.
class ScopedTimer {
 public:
  ScopedTimer(Runtime& runtime, Duration delay, std::function<void()> callback)
      : runtime_(&runtime), id_(runtime.start_timer(delay, std::move(callback))) {}
  ~ScopedTimer() { runtime_->cancel_timer(id_); }
  ScopedTimer(const ScopedTimer&) = delete;
  ScopedTimer& operator=(const ScopedTimer&) = delete;

 private:
  Runtime* runtime_;
  TimerId id_;
};

}  // namespace cairn
