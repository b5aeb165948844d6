// Waiting on several futures at once (see wait_any.h).
#include "core/runtime/wait_any.h"

#include <memory>
#include <vector>

#include "core/runtime/scheduler.h"

namespace cairn {

std::size_t wait_any(std::span<Completion* const> completions) {
  CAIRN_ASSERT(!completions.empty(), "wait_any needs at least one future");
  while (true) {
    for (std::size_t i = 0; i < completions.size(); ++i) {
      if (completions[i]->done) return i;
    }
    // One waiter in each list; whichever is notified first wakes us, and all unlink on return.
    std::vector<std::unique_ptr<Waiter>> waiters;
    waiters.reserve(completions.size());
    for (Completion* completion : completions) waiters.push_back(std::make_unique<Waiter>(completion->waiters));
    Scheduler::current()->park();
  }
}

}  // namespace cairn
