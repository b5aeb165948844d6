// with_timeout: bounds any blocking code by a deadline on the node's clock.
//
//   Result<Reply> reply = with_timeout(rt, milliseconds(200), [&] { return channel.receive(); });
//
// If the body is still blocked when the time is up, the blocking call inside it throws
// TimeoutExpired, the body's stack unwinds to here, and with_timeout returns TIMEOUT. The body
// may return Result<T>, Status or void (which becomes Status). Timeouts nest: an outer deadline
// that expires first unwinds through the inner one.
#pragma once

#include <string>
#include <type_traits>
#include <utility>

#include "core/runtime/runtime.h"
#include "core/runtime/scheduler.h"

namespace cairn {

// Arms an interrupt of the running fiber after `timeout`; disarms it when destroyed.
class TimeoutGuard {
 public:
  TimeoutGuard(Runtime& runtime, Duration timeout);
  ~TimeoutGuard();
  TimeoutGuard(const TimeoutGuard&) = delete;
  TimeoutGuard& operator=(const TimeoutGuard&) = delete;

  uint64_t token() const { return token_; }

 private:
  Runtime* runtime_;
  ScheduledFiber* fiber_;
  uint64_t token_;
  TimerId timer_;
};

template <typename Body>
auto with_timeout(Runtime& runtime, Duration timeout, Body&& body) {
  using BodyResult = std::invoke_result_t<Body>;
  using Returned = std::conditional_t<std::is_void_v<BodyResult>, Status, BodyResult>;
  uint64_t token = 0;
  try {
    TimeoutGuard guard(runtime, timeout);
    token = guard.token();
    if constexpr (std::is_void_v<BodyResult>) {
      body();
      return Returned{};
    } else {
      return Returned(body());
    }
  } catch (const TimeoutExpired& expired) {
    if (expired.token != token) throw;  // an outer deadline; let it unwind further
  }
  return Returned(Status::timeout("operation timed out after " + format_duration(timeout)));
}

}  // namespace cairn
