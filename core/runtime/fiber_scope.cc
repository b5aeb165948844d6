// Fiber ownership, cancellation and pausing (see fiber_scope.h).
#include "core/runtime/fiber_scope.h"

#include <algorithm>

#include "core/runtime/assert.h"

namespace cairn {

FiberScope::FiberScope(Process& process) : process_(&process), scheduler_(process.scheduler_) {
  process.scopes_.push_back(this);
}

FiberScope::~FiberScope() {
  ScheduledFiber* running = scheduler_->running();
  CAIRN_ASSERT(running == nullptr || running->scope != this,
               "a fiber destroyed the FiberScope it runs in; cancel() it instead");
  cancel();
  auto& scopes = process_->scopes_;
  scopes.erase(std::remove(scopes.begin(), scopes.end(), this), scopes.end());
}

FiberId FiberScope::spawn(std::string name, std::function<void()> body) {
  CAIRN_ASSERT(process_->alive_, "spawning fiber '" + name + "' in killed process '" + process_->name() + "'");
  const FiberId id = scheduler_->next_fiber_id();
  auto fiber = std::make_unique<ScheduledFiber>(id, std::move(name), std::move(body), *this, scheduler_->stacks());
  ScheduledFiber& record = *fiber;
  fibers_.emplace(id, std::move(fiber));
  ++scheduler_->live_fibers_;
  record.run_state = ScheduledFiber::RunState::kBlocked;
  scheduler_->make_ready(record);
  return id;
}

std::vector<FiberId> FiberScope::fiber_ids_newest_first() const {
  std::vector<FiberId> ids;
  ids.reserve(fibers_.size());
  for (auto it = fibers_.rbegin(); it != fibers_.rend(); ++it) ids.push_back(it->first);
  return ids;
}

void FiberScope::cancel() {
  ScheduledFiber* self = scheduler_->running();
  bool cancel_self = false;
  // Newest first: fibers started later usually depend on objects that older fibers own.
  // Fibers spawned while we cancel (by destructors) are picked up by the next round.
  while (true) {
    bool progressed = false;
    for (FiberId id : fiber_ids_newest_first()) {
      auto found = fibers_.find(id);
      if (found == fibers_.end()) continue;  // ended meanwhile
      ScheduledFiber* fiber = found->second.get();
      fiber->cancelled = true;
      if (fiber == self) {
        cancel_self = true;
        continue;
      }
      if (fiber->run_state == ScheduledFiber::RunState::kRunning) {
        continue;  // an ancestor on the resume chain; it throws when it next blocks
      }
      scheduler_->remove_from_ready(*fiber);
      const std::string name = fiber->fiber.name();
      scheduler_->resume(*fiber);
      CAIRN_ASSERT(fibers_.find(id) == fibers_.end(),
                   "fiber '" + name + "' survived cancellation: something caught FiberCancelled and went on");
      progressed = true;
    }
    if (!progressed) break;
  }
  if (cancel_self) throw FiberCancelled{};
}

void FiberScope::join() {
  ScheduledFiber* self = scheduler_->running();
  CAIRN_ASSERT(self == nullptr || self->scope != this, "a fiber cannot join its own scope");
  while (!fibers_.empty()) wait_on(joiners_);
}

void FiberScope::reap(ScheduledFiber& fiber) {
  auto it = fibers_.find(fiber.fiber.id());
  CAIRN_ASSERT(it != fibers_.end());
  fibers_.erase(it);
  --scheduler_->live_fibers_;
  if (fibers_.empty()) joiners_.notify_all();
}

Process::Process(Scheduler& scheduler, std::string name)
    : scheduler_(&scheduler), name_(std::move(name)), root_(std::make_unique<FiberScope>(*this)) {}

Process::~Process() {
  scheduler_->forget_deferred_kill(*this);
  if (alive_ || live_fibers() > 0) {
    ScheduledFiber* running = scheduler_->running();
    CAIRN_ASSERT(running == nullptr || running->process != this, "a process cannot destroy itself");
    alive_ = false;
    finish_kill();
  }
  root_.reset();
  CAIRN_ASSERT(scopes_.empty(), "process '" + name_ + "' destroyed while scopes of it still exist");
}

void Process::kill() {
  ScheduledFiber* self = scheduler_->running();
  if (self != nullptr && self->process == this) {
    if (alive_) {
      pause();  // nothing else of the process runs until the loop finishes the kill
      alive_ = false;
      scheduler_->defer_kill(*this);
    }
    self->cancelled = true;
    throw FiberCancelled{};
  }
  alive_ = false;
  finish_kill();
}

void Process::finish_kill() {
  unpause();
  // The root scope first: its fibers (a node's main fiber) own the objects that own the other
  // scopes, so unwinding them cancels those scopes in the right order. Then whatever is left.
  std::vector<FiberScope*> order{root_.get()};
  for (auto it = scopes_.rbegin(); it != scopes_.rend(); ++it) {
    if (*it != root_.get()) order.push_back(*it);
  }
  for (FiberScope* scope : order) {
    if (std::find(scopes_.begin(), scopes_.end(), scope) == scopes_.end()) continue;  // destroyed meanwhile
    scope->cancel();
  }
  CAIRN_ASSERT(live_fibers() == 0, "process '" + name_ + "' still has fibers after kill()");
}

void Process::pause() {
  if (paused_ || !alive_) return;
  paused_ = true;
  auto& ready = scheduler_->ready_;
  for (auto it = ready.begin(); it != ready.end();) {
    if ((*it)->process == this) {
      held_ready_.push_back(*it);
      it = ready.erase(it);
    } else {
      ++it;
    }
  }
}

void Process::unpause() {
  if (!paused_) return;
  paused_ = false;
  for (ScheduledFiber* fiber : held_ready_) scheduler_->ready_.push_back(fiber);
  held_ready_.clear();
}

std::size_t Process::live_fibers() const {
  std::size_t count = 0;
  for (const FiberScope* scope : scopes_) count += scope->live_fibers();
  return count;
}

}  // namespace cairn
