// Mutex for fibers: mutual exclusion across blocking points. Between two blocking points a fiber
// is never interrupted (scheduling is cooperative), so a Mutex is only needed when a critical
// section itself blocks, such as a read-modify-write of a file. Works with std::lock_guard and
// std::unique_lock. Unlocking from a fiber that does not hold the lock is a bug and aborts.
#pragma once

#include "core/runtime/assert.h"
#include "core/runtime/scheduler.h"
#include "core/runtime/wait_list.h"

namespace cairn {

class Mutex {
 public:
  Mutex() = default;
  ~Mutex() { CAIRN_ASSERT(owner_ == nullptr, "a Mutex was destroyed while locked"); }
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void lock() {
    ScheduledFiber* self = Scheduler::current()->running();
    CAIRN_ASSERT(self != nullptr, "Mutex::lock outside of a fiber");
    CAIRN_ASSERT(owner_ != self, "Mutex is not recursive");
    while (owner_ != nullptr) wait_on(waiters_);
    owner_ = self;
  }
  bool try_lock() {
    if (owner_ != nullptr) return false;
    owner_ = Scheduler::current()->running();
    CAIRN_ASSERT(owner_ != nullptr, "Mutex::try_lock outside of a fiber");
    return true;
  }
  void unlock() {
    CAIRN_ASSERT(owner_ != nullptr && owner_ == Scheduler::current()->running(),
                 "Mutex unlocked by a fiber that does not hold it");
    owner_ = nullptr;
    waiters_.notify_one();
  }
  bool locked() const { return owner_ != nullptr; }

 private:
  ScheduledFiber* owner_ = nullptr;
  WaitList waiters_;
};

}  // namespace cairn
