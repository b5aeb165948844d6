// The fiber scheduler: which fiber runs next, and the mechanics of blocking and waking.
//
// One Scheduler per OS thread. It runs fibers cooperatively: a fiber runs until it blocks
// (park) or yields; the loop that owns the scheduler (the simulator's event loop or the epoll
// loop) calls run_until_idle() between its own events. The pick among ready fibers is either
// FIFO (the real runtime) or drawn from a seeded random stream (the simulator), so that the
// simulator explores different interleavings per seed while staying reproducible.
//
// Blocking is always: register somewhere that will call make_ready() (a WaitList, a timer),
// then park(). park() is also where a fiber learns that it was cancelled or that a with_timeout
// scope around it expired: it throws FiberCancelled or TimeoutExpired there, and only there.
//
// Rules for code running on fibers:
//  - never block while an exception is unwinding the stack (in a destructor run by unwinding, or
//    in a catch block): the C++ exception state is per thread, not per fiber;
//  - never swallow FiberCancelled: `catch (...)` must rethrow.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/runtime/fiber.h"
#include "core/runtime/random.h"

namespace cairn {

class FiberScope;
class Process;

// The scheduler's record of one fiber.
struct ScheduledFiber {
  enum class RunState { kReady, kRunning, kBlocked, kFinished };

  ScheduledFiber(FiberId id, std::string name, std::function<void()> body, FiberScope& scope, StackPool& stacks);

  Fiber fiber;
  FiberScope* scope;
  Process* process;
  RunState run_state = RunState::kReady;
  bool cancelled = false;
  // Non-zero when a with_timeout scope expired; thrown as TimeoutExpired at the next park().
  uint64_t interrupt_token = 0;
};

class Scheduler {
 public:
  enum class Order { kFifo, kRandom };

  struct Options {
    Order order = Order::kFifo;
    uint64_t seed = 0;                      // for Order::kRandom
    std::size_t stack_size = 256 * 1024;    // per fiber
    std::size_t cached_stacks = 256;
  };

  explicit Scheduler(Options options);
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // The scheduler installed on this thread (see Installation), or null.
  static Scheduler* current();

  // Makes a scheduler the current one of this thread for its lifetime.
  class Installation {
   public:
    explicit Installation(Scheduler& scheduler);
    ~Installation();
    Installation(const Installation&) = delete;
    Installation& operator=(const Installation&) = delete;

   private:
    Scheduler* previous_;
  };

  // The running fiber, or null when the loop itself is running.
  ScheduledFiber* running() const { return running_; }

  // Blocks the running fiber until someone calls make_ready() for it. Throws FiberCancelled if
  // the fiber has been cancelled and TimeoutExpired if its innermost expired timeout fired.
  void park();
  // Lets other ready fibers run, then continues.
  void yield();
  // Marks a blocked fiber ready to run. Has no effect on a ready, running or finished fiber.
  void make_ready(ScheduledFiber& fiber);

  // Runs one ready fiber until it blocks or ends. Returns false when no fiber is ready.
  bool run_one();
  // Runs ready fibers until none is ready; returns how many fiber runs that took.
  std::size_t run_until_idle();
  bool has_ready() const { return !ready_.empty(); }

  // Switches into `fiber` from the current context (loop or another fiber) until it blocks or
  // ends; reaps it if it ended. Used by run_one() and by cancellation.
  void resume(ScheduledFiber& fiber);
  // Removes a fiber from the ready queue (when it is cancelled or its process pauses).
  void remove_from_ready(ScheduledFiber& fiber);

  // A process killed from one of its own fibers is finished from the loop (see Process::kill).
  void defer_kill(Process& process) { deferred_kills_.push_back(&process); }
  void forget_deferred_kill(Process& process);

  FiberId next_fiber_id() { return ++last_fiber_id_; }
  uint64_t next_timeout_token() { return ++last_timeout_token_; }
  StackPool& stacks() { return stacks_; }
  uint64_t fiber_switches() const { return fiber_switches_; }
  std::size_t live_fibers() const { return live_fibers_; }

 private:
  friend class FiberScope;
  friend class Process;  // moves a paused process's fibers between ready_ and its held list
  void throw_if_interrupted(ScheduledFiber& fiber);
  void finish_deferred_kills();

  Options options_;
  Random random_;
  StackPool stacks_;
  std::deque<ScheduledFiber*> ready_;
  std::vector<Process*> deferred_kills_;
  ScheduledFiber* running_ = nullptr;
  FiberId last_fiber_id_ = 0;
  uint64_t last_timeout_token_ = 0;
  uint64_t fiber_switches_ = 0;
  std::size_t live_fibers_ = 0;
};

}  // namespace cairn
