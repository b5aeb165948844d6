// Structured concurrency: every fiber belongs to a FiberScope, and every scope to a Process.
//
// A FiberScope owns the fibers spawned into it. Destroying the scope cancels them and waits for
// them to unwind, so an object that starts fibers (a server, a connection) holds a FiberScope as
// a member and its fibers can never outlive it. Cancellation is synchronous: when cancel()
// returns, each fiber has thrown FiberCancelled at its blocking point, run its destructors and
// ended, newest first.
//
// A Process is the unit the outside world kills or pauses: a simulated node, or the one process
// of the real daemon. kill() is kill -9 for fibers: every fiber of every scope of the process
// is unwound and the process accepts no new fibers. pause() freezes its fibers where they stand
// (they keep their state but are not scheduled) until unpause().
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/runtime/scheduler.h"
#include "core/runtime/wait_list.h"

namespace cairn {

class FiberScope {
 public:
  explicit FiberScope(Process& process);
  ~FiberScope();
  FiberScope(const FiberScope&) = delete;
  FiberScope& operator=(const FiberScope&) = delete;

  // Starts `body` as a new fiber of this scope; it first runs when the scheduler picks it.
  FiberId spawn(std::string name, std::function<void()> body);
  // Cancels every fiber of the scope and waits for each to unwind. If the calling fiber belongs
  // to this scope, it is cancelled last: cancel() then throws FiberCancelled in it.
  void cancel();
  // Blocks until every fiber of the scope has ended (the caller must not be one of them).
  void join();

  std::size_t live_fibers() const { return fibers_.size(); }
  Process& process() const { return *process_; }

 private:
  friend class Scheduler;
  friend class Process;
  void reap(ScheduledFiber& fiber);
  std::vector<FiberId> fiber_ids_newest_first() const;

  Process* process_;
  Scheduler* scheduler_;
  std::map<FiberId, std::unique_ptr<ScheduledFiber>> fibers_;
  WaitList joiners_;
};

class Process {
 public:
  Process(Scheduler& scheduler, std::string name);
  ~Process();  // kills the process if it is still alive
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  // The scope for fibers that no narrower scope owns (a node's main fiber, for instance).
  FiberScope& root() { return *root_; }
  Scheduler& scheduler() { return *scheduler_; }
  const std::string& name() const { return name_; }

  // Unwinds every fiber of the process. From a fiber of this process, does not return: the
  // other fibers are frozen, the caller unwinds first (by a FiberCancelled thrown from kill()),
  // and the scheduler finishes the kill from its loop, where no fiber of the process is on the
  // stack (unwinding them on top of the caller could destroy objects the caller runs inside).
  void kill();
  bool alive() const { return alive_; }

  void pause();
  void unpause();
  bool paused() const { return paused_; }

  std::size_t live_fibers() const;

 private:
  friend class FiberScope;
  friend class Scheduler;
  void finish_kill();

  Scheduler* scheduler_;
  std::string name_;
  bool alive_ = true;
  bool paused_ = false;
  std::vector<FiberScope*> scopes_;          // every scope of the process, in creation order
  std::vector<ScheduledFiber*> held_ready_;  // fibers that became ready while paused
  std::unique_ptr<FiberScope> root_;
};

}  // namespace cairn
