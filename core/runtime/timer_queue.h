// TimerQueue: callbacks ordered by due time, for both event loops (the simulator's virtual time
// and the epoll loop's real time). Ties at the same due time are ordered by a caller-chosen
// tiebreak: the simulator passes seeded random numbers, so that the order of simultaneous
// events is a function of the seed; the real loop passes zero and gets insertion order.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <tuple>
#include <unordered_map>

namespace cairn {

using TimerId = uint64_t;

class TimerQueue {
 public:
  // `due` is in the loop's own time unit (nanoseconds on its clock).
  TimerId add(int64_t due, uint64_t tiebreak, std::function<void()> callback);
  // Returns false if the timer already fired or was cancelled.
  bool cancel(TimerId id);
  std::optional<int64_t> next_due() const;
  // Removes the earliest timer if it is due at or before `now` and returns its callback;
  // returns an empty function otherwise.
  std::function<void()> pop_due(int64_t now);
  std::size_t size() const { return timers_.size(); }
  bool empty() const { return timers_.empty(); }

 private:
  using Key = std::tuple<int64_t, uint64_t, TimerId>;
  std::map<Key, std::function<void()>> timers_;
  std::unordered_map<TimerId, Key> keys_;
  TimerId last_id_ = 0;
};

}  // namespace cairn
