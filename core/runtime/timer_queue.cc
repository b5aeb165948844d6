// Ordered timer storage shared by the simulated and the real event loop (see timer_queue.h).
#include "core/runtime/timer_queue.h"

#include <utility>

namespace cairn {

TimerId TimerQueue::add(int64_t due, uint64_t tiebreak, std::function<void()> callback) {
  const TimerId id = ++last_id_;
  const Key key{due, tiebreak, id};
  timers_.emplace(key, std::move(callback));
  keys_.emplace(id, key);
  return id;
}

bool TimerQueue::cancel(TimerId id) {
  auto it = keys_.find(id);
  if (it == keys_.end()) return false;
  timers_.erase(it->second);
  keys_.erase(it);
  return true;
}

std::optional<int64_t> TimerQueue::next_due() const {
  if (timers_.empty()) return std::nullopt;
  return std::get<0>(timers_.begin()->first);
}

std::function<void()> TimerQueue::pop_due(int64_t now) {
  if (timers_.empty()) return {};
  auto first = timers_.begin();
  if (std::get<0>(first->first) > now) return {};
  std::function<void()> callback = std::move(first->second);
  keys_.erase(std::get<2>(first->first));
  timers_.erase(first);
  return callback;
}

}  // namespace cairn
