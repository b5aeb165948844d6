// Intrusive wait queues of parked fibers (see wait_list.h).
#include "core/runtime/wait_list.h"

#include <exception>

#include "core/runtime/assert.h"
#include "core/runtime/scheduler.h"

namespace cairn {

Waiter::Waiter(WaitList& list) : list_(&list), exceptions_at_entry_(std::uncaught_exceptions()) {
  Scheduler* scheduler = Scheduler::current();
  CAIRN_ASSERT(scheduler != nullptr && scheduler->running() != nullptr, "blocking outside of a fiber");
  fiber_ = scheduler->running();
  list.link(*this);
}

Waiter::~Waiter() {
  if (linked_) list_->unlink(*this);
  const bool leaving_by_exception = std::uncaught_exceptions() > exceptions_at_entry_;
  if (notified_ && leaving_by_exception) list_->notify_one();
}

WaitList::~WaitList() { CAIRN_ASSERT(empty(), "a WaitList was destroyed while fibers still wait on it"); }

void WaitList::link(Waiter& waiter) {
  waiter.previous_ = tail_;
  waiter.next_ = nullptr;
  if (tail_ != nullptr) {
    tail_->next_ = &waiter;
  } else {
    head_ = &waiter;
  }
  tail_ = &waiter;
  waiter.linked_ = true;
  ++size_;
}

void WaitList::unlink(Waiter& waiter) {
  CAIRN_ASSERT(waiter.linked_);
  if (waiter.previous_ != nullptr) {
    waiter.previous_->next_ = waiter.next_;
  } else {
    head_ = waiter.next_;
  }
  if (waiter.next_ != nullptr) {
    waiter.next_->previous_ = waiter.previous_;
  } else {
    tail_ = waiter.previous_;
  }
  waiter.previous_ = waiter.next_ = nullptr;
  waiter.linked_ = false;
  --size_;
}

bool WaitList::notify_one() {
  Waiter* waiter = head_;
  if (waiter == nullptr) return false;
  unlink(*waiter);
  waiter->notified_ = true;
  Scheduler::current()->make_ready(*waiter->fiber_);
  return true;
}

void WaitList::notify_all() {
  while (notify_one()) {
  }
}

void wait_on(WaitList& list) {
  Waiter waiter(list);
  Scheduler::current()->park();
}

}  // namespace cairn
