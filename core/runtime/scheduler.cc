// Ready queue, park/wake and fiber switching (see scheduler.h).
#include "core/runtime/scheduler.h"

#include <algorithm>
#include <exception>

#include "core/runtime/assert.h"
#include "core/runtime/fiber_scope.h"

namespace cairn {
namespace {
thread_local Scheduler* current_scheduler = nullptr;
}  // namespace

ScheduledFiber::ScheduledFiber(FiberId id, std::string name, std::function<void()> body, FiberScope& owner,
                               StackPool& stacks)
    // A fiber cancelled before it ever ran never starts its body.
    : fiber(id, std::move(name),
            [this, body = std::move(body)] {
              if (!cancelled) body();
            },
            stacks),
      scope(&owner),
      process(&owner.process()) {}

Scheduler::Scheduler(Options options)
    : options_(options), random_(options.seed), stacks_(options.stack_size, options.cached_stacks) {}

Scheduler::~Scheduler() {
  CAIRN_ASSERT(live_fibers_ == 0, "a Scheduler was destroyed while fibers still exist; kill their processes first");
  CAIRN_ASSERT(current_scheduler != this, "the scheduler being destroyed is still installed on this thread");
}

Scheduler* Scheduler::current() { return current_scheduler; }

Scheduler::Installation::Installation(Scheduler& scheduler) : previous_(current_scheduler) {
  current_scheduler = &scheduler;
}

Scheduler::Installation::~Installation() { current_scheduler = previous_; }

void Scheduler::throw_if_interrupted(ScheduledFiber& fiber) {
  if (fiber.cancelled) throw FiberCancelled{};
  if (fiber.interrupt_token != 0) {
    const uint64_t token = fiber.interrupt_token;
    fiber.interrupt_token = 0;
    throw TimeoutExpired{token};
  }
}

void Scheduler::park() {
  ScheduledFiber* self = running_;
  CAIRN_ASSERT(self != nullptr, "park() outside of a fiber");
  CAIRN_ASSERT(std::uncaught_exceptions() == 0,
               "fiber '" + self->fiber.name() + "' blocked while an exception was unwinding its stack");
  throw_if_interrupted(*self);
  self->run_state = ScheduledFiber::RunState::kBlocked;
  self->fiber.switch_out();
  throw_if_interrupted(*self);
}

void Scheduler::yield() {
  ScheduledFiber* self = running_;
  CAIRN_ASSERT(self != nullptr, "yield() outside of a fiber");
  throw_if_interrupted(*self);
  self->run_state = ScheduledFiber::RunState::kBlocked;
  make_ready(*self);
  self->fiber.switch_out();
  throw_if_interrupted(*self);
}

void Scheduler::make_ready(ScheduledFiber& fiber) {
  if (fiber.run_state != ScheduledFiber::RunState::kBlocked) return;
  fiber.run_state = ScheduledFiber::RunState::kReady;
  if (fiber.process->paused_) {
    fiber.process->held_ready_.push_back(&fiber);
  } else {
    ready_.push_back(&fiber);
  }
}

bool Scheduler::run_one() {
  if (ready_.empty()) return false;
  ScheduledFiber* fiber;
  if (options_.order == Order::kRandom && ready_.size() > 1) {
    const std::size_t index = random_.uniform(ready_.size());
    fiber = ready_[index];
    ready_[index] = ready_.back();
    ready_.pop_back();
  } else {
    fiber = ready_.front();
    ready_.pop_front();
  }
  resume(*fiber);
  if (running_ == nullptr) finish_deferred_kills();
  return true;
}

void Scheduler::finish_deferred_kills() {
  while (!deferred_kills_.empty()) {
    Process* process = deferred_kills_.back();
    deferred_kills_.pop_back();
    process->finish_kill();
  }
}

void Scheduler::forget_deferred_kill(Process& process) {
  deferred_kills_.erase(std::remove(deferred_kills_.begin(), deferred_kills_.end(), &process), deferred_kills_.end());
}

std::size_t Scheduler::run_until_idle() {
  std::size_t runs = 0;
  while (run_one()) ++runs;
  return runs;
}

void Scheduler::resume(ScheduledFiber& fiber) {
  CAIRN_ASSERT(fiber.run_state != ScheduledFiber::RunState::kRunning &&
                   fiber.run_state != ScheduledFiber::RunState::kFinished,
               "resuming fiber '" + fiber.fiber.name() + "' that is running or finished");
  ScheduledFiber* previous = running_;
  running_ = &fiber;
  fiber.run_state = ScheduledFiber::RunState::kRunning;
  ++fiber_switches_;
  fiber.fiber.switch_in();
  running_ = previous;
  if (fiber.fiber.finished()) {
    fiber.run_state = ScheduledFiber::RunState::kFinished;
    fiber.scope->reap(fiber);
  }
}

void Scheduler::remove_from_ready(ScheduledFiber& fiber) {
  if (fiber.run_state != ScheduledFiber::RunState::kReady) return;
  auto erase_from = [&fiber](auto& queue) { queue.erase(std::remove(queue.begin(), queue.end(), &fiber), queue.end()); };
  if (fiber.process->paused_) {
    erase_from(fiber.process->held_ready_);
  } else {
    erase_from(ready_);
  }
  fiber.run_state = ScheduledFiber::RunState::kBlocked;
}

}  // namespace cairn
