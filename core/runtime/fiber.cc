// Stack switching for fibers on Boost.Context, with AddressSanitizer annotations.
//
// ASan tracks one stack per thread; when we jump to another stack without telling it, it
// reports false stack-buffer errors and corrupts its fake stacks. Each switch is therefore
// bracketed: __sanitizer_start_switch_fiber(save, bottom, size) names the stack we are about to
// run on, and the first thing the other side does is __sanitizer_finish_switch_fiber(), which
// also tells it the bounds of the stack it came from. A fiber that is about to end passes a
// null save slot so that ASan frees its fake stack.
#include "core/runtime/fiber.h"

#include <sys/mman.h>
#include <unistd.h>

#include <exception>
#include <new>
#include <utility>

#include "core/runtime/assert.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#define CAIRN_ASAN_FIBERS 1
#endif

namespace cairn {
namespace {

inline void asan_start_switch(void** fake_stack_save, const void* bottom, std::size_t size) {
#if CAIRN_ASAN_FIBERS
  __sanitizer_start_switch_fiber(fake_stack_save, bottom, size);
#else
  (void)fake_stack_save, (void)bottom, (void)size;
#endif
}

inline void asan_finish_switch(void* fake_stack_save, const void** old_bottom, std::size_t* old_size) {
#if CAIRN_ASAN_FIBERS
  __sanitizer_finish_switch_fiber(fake_stack_save, old_bottom, old_size);
#else
  (void)fake_stack_save, (void)old_bottom, (void)old_size;
#endif
}

std::size_t page_size() {
  static const std::size_t size = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  return size;
}

// Adapts the pool to Boost.Context's StackAllocator concept and reports the stack's bounds.
class PooledStackAllocator {
 public:
  PooledStackAllocator(StackPool& pool, const void** bottom, std::size_t* size)
      : pool_(&pool), bottom_(bottom), size_(size) {}
  boost::context::stack_context allocate() {
    boost::context::stack_context stack = pool_->allocate();
    *bottom_ = static_cast<char*>(stack.sp) - stack.size;
    *size_ = stack.size;
    return stack;
  }
  void deallocate(boost::context::stack_context& stack) noexcept { pool_->deallocate(stack); }

 private:
  StackPool* pool_;
  const void** bottom_;
  std::size_t* size_;
};

}  // namespace

StackPool::StackPool(std::size_t stack_size, std::size_t max_cached) : max_cached_(max_cached) {
  const std::size_t page = page_size();
  stack_size_ = (stack_size + page - 1) / page * page;
  CAIRN_ASSERT(stack_size_ >= 4 * page, "fiber stacks need at least four pages");
}

StackPool::~StackPool() {
  for (auto& stack : free_) {
    ::munmap(static_cast<char*>(stack.sp) - stack.size, stack.size);
  }
}

boost::context::stack_context StackPool::allocate() {
  if (!free_.empty()) {
    boost::context::stack_context stack = free_.back();
    free_.pop_back();
    return stack;
  }
  // One extra page at the bottom, made inaccessible, turns a stack overflow into a clean SIGSEGV.
  const std::size_t total = stack_size_ + page_size();
  void* memory = ::mmap(nullptr, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (memory == MAP_FAILED) throw std::bad_alloc();
  CAIRN_ASSERT(::mprotect(memory, page_size(), PROT_NONE) == 0, "cannot protect a fiber stack's guard page");
  boost::context::stack_context stack;
  stack.size = total;
  stack.sp = static_cast<char*>(memory) + total;
  return stack;
}

void StackPool::deallocate(boost::context::stack_context& stack) noexcept {
  if (free_.size() < max_cached_) {
#if CAIRN_ASAN_FIBERS
    // A finished fiber may leave poisoned redzones behind; the next fiber starts clean.
    ASAN_UNPOISON_MEMORY_REGION(static_cast<char*>(stack.sp) - stack.size + page_size(), stack.size - page_size());
#endif
    free_.push_back(stack);
    return;
  }
  ::munmap(static_cast<char*>(stack.sp) - stack.size, stack.size);
}

Fiber::Fiber(FiberId id, std::string name, std::function<void()> body, StackPool& stacks)
    : id_(id), name_(std::move(name)), body_(std::move(body)) {
  context_ = boost::context::fiber(std::allocator_arg, PooledStackAllocator(stacks, &stack_bottom_, &stack_size_),
                                   [this](boost::context::fiber&& resumer) { return run(std::move(resumer)); });
}

Fiber::~Fiber() {
  // An unfinished Boost fiber would be unwound by its destructor behind the scheduler's back;
  // the scheduler always runs a fiber to the end (cancelling it if need be) before destroying it.
  CAIRN_ASSERT(state_ == State::kFinished, "destroying fiber '" + name_ + "' before it finished");
}

void Fiber::switch_in() {
  CAIRN_ASSERT(state_ == State::kCreated || state_ == State::kSuspended,
               "switching into fiber '" + name_ + "' that is running or finished");
  state_ = State::kRunning;
  void* resumer_fake_stack = nullptr;
  asan_start_switch(&resumer_fake_stack, stack_bottom_, stack_size_);
  context_ = std::move(context_).resume();
  asan_finish_switch(resumer_fake_stack, nullptr, nullptr);
}

void Fiber::switch_out() {
  CAIRN_ASSERT(state_ == State::kRunning);
  state_ = State::kSuspended;
  asan_start_switch(&fake_stack_, resumer_stack_bottom_, resumer_stack_size_);
  resumer_ = std::move(resumer_).resume();
  asan_finish_switch(fake_stack_, &resumer_stack_bottom_, &resumer_stack_size_);
}

boost::context::fiber Fiber::run(boost::context::fiber&& resumer) {
  asan_finish_switch(nullptr, &resumer_stack_bottom_, &resumer_stack_size_);
  resumer_ = std::move(resumer);
  try {
    body_();
  } catch (const FiberCancelled&) {
    // The normal end of a cancelled fiber: its stack has unwound.
  } catch (const TimeoutExpired&) {
    CAIRN_PANIC("fiber '" + name_ + "': a timeout escaped its with_timeout scope");
  } catch (const std::exception& error) {
    CAIRN_PANIC("fiber '" + name_ + "' ended with an exception: " + error.what());
  } catch (...) {
    CAIRN_PANIC("fiber '" + name_ + "' ended with an unknown exception");
  }
  body_ = nullptr;  // release captured state while still on this stack
  state_ = State::kFinished;
  asan_start_switch(nullptr, resumer_stack_bottom_, resumer_stack_size_);
  return std::move(resumer_);
}

}  // namespace cairn
