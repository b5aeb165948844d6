// Deadline interrupts for blocked fibers (see timeout.h).
#include "core/runtime/timeout.h"

#include <algorithm>

namespace cairn {

TimeoutGuard::TimeoutGuard(Runtime& runtime, Duration timeout) : runtime_(&runtime) {
  Scheduler* scheduler = Scheduler::current();
  CAIRN_ASSERT(scheduler != nullptr && scheduler->running() != nullptr, "with_timeout outside of a fiber");
  fiber_ = scheduler->running();
  token_ = scheduler->next_timeout_token();
  ScheduledFiber* fiber = fiber_;
  const uint64_t token = token_;
  timer_ = runtime.start_timer(timeout, [scheduler, fiber, token] {
    // Tokens grow with nesting depth, so the smallest pending token is the outermost expired
    // scope; delivering it unwinds every inner scope too.
    fiber->interrupt_token = fiber->interrupt_token == 0 ? token : std::min(fiber->interrupt_token, token);
    scheduler->make_ready(*fiber);
  });
}

TimeoutGuard::~TimeoutGuard() {
  runtime_->cancel_timer(timer_);
  if (fiber_->interrupt_token == token_) fiber_->interrupt_token = 0;
}

}  // namespace cairn
