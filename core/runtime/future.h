// Future<T> / Promise<T>: a value (or an error) that one fiber produces and another waits for.
//
// A Future resolves to a Result<T>: either the value set by the promise, an error set by it, or
// CANCELLED if the promise was destroyed without being fulfilled (for example because the fiber
// that owned it was killed with its process). Waiting blocks only the calling fiber.
#pragma once

#include <memory>
#include <optional>
#include <utility>

#include "core/runtime/assert.h"
#include "core/runtime/status.h"
#include "core/runtime/wait_list.h"

namespace cairn {

// What wait_any() looks at: whether a future is resolved, and where to wait until it is.
struct Completion {
  bool done = false;
  WaitList waiters;
};

template <typename T>
struct FutureState : Completion {
  std::optional<Result<T>> result;
};

template <typename T>
class Future {
 public:
  Future() = default;
  explicit Future(std::shared_ptr<FutureState<T>> state) : state_(std::move(state)) {}

  bool valid() const { return state_ != nullptr; }
  bool ready() const { return state_->done; }

  // Blocks until resolved; the result stays in the future.
  const Result<T>& wait() {
    CAIRN_ASSERT(valid(), "waiting on an empty Future");
    while (!state_->done) wait_on(state_->waiters);
    return *state_->result;
  }
  // Blocks until resolved and moves the result out.
  Result<T> get() {
    wait();
    return std::move(*state_->result);
  }

  Completion& completion() { return *state_; }

 private:
  std::shared_ptr<FutureState<T>> state_;
};

template <typename T>
class Promise {
 public:
  Promise() : state_(std::make_shared<FutureState<T>>()) {}
  Promise(Promise&&) noexcept = default;
  Promise& operator=(Promise&& other) noexcept {
    abandon();
    state_ = std::move(other.state_);
    return *this;
  }
  Promise(const Promise&) = delete;
  Promise& operator=(const Promise&) = delete;
  ~Promise() { abandon(); }

  Future<T> future() const { return Future<T>(state_); }
  bool fulfilled() const { return state_ == nullptr || state_->done; }

  void set_value(T value) { resolve(Result<T>(std::move(value))); }
  void set_error(Status status) { resolve(Result<T>(std::move(status))); }
  void set_result(Result<T> result) { resolve(std::move(result)); }

 private:
  void resolve(Result<T> result) {
    CAIRN_ASSERT(state_ != nullptr && !state_->done, "a Promise was fulfilled twice");
    state_->result.emplace(std::move(result));
    state_->done = true;
    state_->waiters.notify_all();
  }
  void abandon() {
    if (state_ != nullptr && !state_->done) resolve(Result<T>(Status::cancelled("promise abandoned")));
  }

  std::shared_ptr<FutureState<T>> state_;
};

template <typename T>
Future<T> make_ready_future(Result<T> result) {
  Promise<T> promise;
  promise.set_result(std::move(result));
  return promise.future();
}

}  // namespace cairn
