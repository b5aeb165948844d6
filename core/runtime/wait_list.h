// WaitList: the one building block every blocking primitive (Future, Channel, Mutex, Event)
// is made of. A fiber that must wait links a Waiter into a list and parks; whoever changes the
// state it waits for notifies the list. Waiters always re-check their condition after waking
// (`while (!condition) wait_on(list);`), so a wake-up is a hint, never a promise.
//
// If a fiber that was chosen by notify_one() leaves by exception (cancelled or timed out)
// instead of taking what it was woken for, its Waiter passes the notification on to the next
// waiter, so no wake-up is lost.
#pragma once

#include <cstddef>

namespace cairn {

struct ScheduledFiber;
class WaitList;

class Waiter {
 public:
  // Links the running fiber into `list`.
  explicit Waiter(WaitList& list);
  ~Waiter();
  Waiter(const Waiter&) = delete;
  Waiter& operator=(const Waiter&) = delete;

  bool notified() const { return notified_; }

 private:
  friend class WaitList;
  ScheduledFiber* fiber_;
  WaitList* list_;
  Waiter* previous_ = nullptr;
  Waiter* next_ = nullptr;
  bool linked_ = false;
  bool notified_ = false;
  int exceptions_at_entry_;
};

class WaitList {
 public:
  WaitList() = default;
  ~WaitList();
  WaitList(const WaitList&) = delete;
  WaitList& operator=(const WaitList&) = delete;

  // Wakes the longest-waiting fiber. Returns false if nobody waits.
  bool notify_one();
  void notify_all();
  bool empty() const { return head_ == nullptr; }
  std::size_t size() const { return size_; }

 private:
  friend class Waiter;
  void link(Waiter& waiter);
  void unlink(Waiter& waiter);

  Waiter* head_ = nullptr;
  Waiter* tail_ = nullptr;
  std::size_t size_ = 0;
};

// Blocks the running fiber until `list` is notified. Throws FiberCancelled or TimeoutExpired
// (see scheduler.h) if the fiber is cancelled or a timeout around it expires meanwhile.
void wait_on(WaitList& list);

}  // namespace cairn
