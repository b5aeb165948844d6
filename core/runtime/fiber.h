// One cooperative fiber: a function running on its own stack, switched to and from with
// Boost.Context's fcontext-based `fiber`. This file knows only how to switch stacks (and how to
// tell AddressSanitizer about each switch); who runs when is the Scheduler's business.
//
// Switching protocol: some context (the scheduler loop, or another fiber) calls switch_in();
// the fiber runs until it calls switch_out() or its body returns, and control goes back to the
// context that switched it in. A fiber's body must not let an exception escape except
// FiberCancelled, which ends it quietly; anything else is a bug and aborts the process.
#pragma once

#include <boost/context/fiber.hpp>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace cairn {

using FiberId = uint64_t;

// Thrown at a fiber's blocking point when its scope or process is cancelled, so that the stack
// unwinds with every destructor run. It does not derive from std::exception on purpose:
// `catch (const std::exception&)` must not swallow it. Code that writes `catch (...)` must rethrow.
struct FiberCancelled {};

// Thrown at a blocking point when a with_timeout scope around it expires (see timeout.h).
struct TimeoutExpired {
  uint64_t token;
};

// Recycles fiber stacks (mmap'd, with a guard page below each) so that spawning a fiber costs no
// system call in the steady state. Holds at most `max_cached` free stacks.
class StackPool {
 public:
  StackPool(std::size_t stack_size, std::size_t max_cached);
  ~StackPool();
  StackPool(const StackPool&) = delete;
  StackPool& operator=(const StackPool&) = delete;

  boost::context::stack_context allocate();
  void deallocate(boost::context::stack_context& stack) noexcept;
  std::size_t stack_size() const { return stack_size_; }

 private:
  std::size_t stack_size_;
  std::size_t max_cached_;
  std::vector<boost::context::stack_context> free_;
};

class Fiber {
 public:
  enum class State { kCreated, kRunning, kSuspended, kFinished };

  Fiber(FiberId id, std::string name, std::function<void()> body, StackPool& stacks);
  ~Fiber();
  Fiber(const Fiber&) = delete;
  Fiber& operator=(const Fiber&) = delete;

  // Runs the fiber until it switches out or finishes. Must not be called from the fiber itself.
  void switch_in();
  // From inside the fiber: returns control to whoever called switch_in().
  void switch_out();

  FiberId id() const { return id_; }
  const std::string& name() const { return name_; }
  State state() const { return state_; }
  bool finished() const { return state_ == State::kFinished; }

 private:
  boost::context::fiber run(boost::context::fiber&& resumer);

  FiberId id_;
  std::string name_;
  std::function<void()> body_;
  State state_ = State::kCreated;
  boost::context::fiber context_;   // this fiber, while it is not running
  boost::context::fiber resumer_;   // whoever switched it in, while it is running
  // Stack bounds for AddressSanitizer's fiber-switch annotations.
  const void* stack_bottom_ = nullptr;
  std::size_t stack_size_ = 0;
  const void* resumer_stack_bottom_ = nullptr;
  std::size_t resumer_stack_size_ = 0;
  void* fake_stack_ = nullptr;
};

}  // namespace cairn
