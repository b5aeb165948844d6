// Event: a flag fibers can wait for. set() wakes every waiter and stays set until reset().
#pragma once

#include "core/runtime/wait_list.h"

namespace cairn {

class Event {
 public:
  void set() {
    set_ = true;
    waiters_.notify_all();
  }
  void reset() { set_ = false; }
  bool is_set() const { return set_; }
  // Blocks until the event is set (returns at once if it already is).
  void wait() {
    while (!set_) wait_on(waiters_);
  }

 private:
  bool set_ = false;
  WaitList waiters_;
};

}  // namespace cairn
