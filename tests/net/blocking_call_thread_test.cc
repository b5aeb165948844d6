// BlockingCallThread: a blocking call runs off the loop's thread while the loop keeps running
// other fibers, its result comes back to the caller, a cancelled caller does not wait for it,
// and outside a fiber the call is made inline.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "core/runtime/timeout.h"
#include "net/blocking_call_thread.h"
#include "net/epoll_runtime.h"
#include "tests/net/test_runtime.h"

namespace cairn::net {
namespace {

using testing::make_test_runtime;

TEST(BlockingCallThread, OtherFibersRunWhileACallBlocks) {
  auto runtime = make_test_runtime();
  BlockingCallThread calls(runtime->loop());
  int ticks_during_call = 0;
  int result = 0;
  std::thread::id caller_thread;
  std::thread::id call_thread;
  runtime->run([&] {
    bool call_done = false;
    FiberScope scope(runtime->process());
    scope.spawn("ticker", [&] {
      while (!call_done) {
        runtime->sleep(milliseconds(5));
        ++ticks_during_call;
      }
    });
    caller_thread = std::this_thread::get_id();
    result = calls.run([&] {
      call_thread = std::this_thread::get_id();
      std::this_thread::sleep_for(std::chrono::milliseconds(200));  // a slow fsync
      return 42;
    });
    call_done = true;
    scope.join();
    return 0;
  });
  EXPECT_EQ(result, 42);
  EXPECT_NE(call_thread, caller_thread);
  // 200 ms of 5 ms sleeps: a loop blocked by the call would have ticked at most once.
  EXPECT_GE(ticks_during_call, 10);
}

TEST(BlockingCallThread, ACancelledCallerDoesNotWaitAndTheWorkerFinishesAlone) {
  auto runtime = make_test_runtime();
  std::atomic<bool> finished{false};
  {
    BlockingCallThread calls(runtime->loop());
    Status outcome;
    Duration waited{};
    runtime->run([&] {
      const MonotonicTime start = runtime->now();
      outcome = with_timeout(*runtime, milliseconds(20), [&] {
        (void)calls.run([&] {
          std::this_thread::sleep_for(std::chrono::milliseconds(150));
          finished = true;
          return 0;
        });
      });
      waited = runtime->now() - start;
      return 0;
    });
    EXPECT_EQ(outcome.code(), StatusCode::kTimeout);
    EXPECT_LT(waited, milliseconds(120));
  }  // the destructor waits for the call in progress
  EXPECT_TRUE(finished);
}

TEST(BlockingCallThread, OutsideAFiberTheCallIsMadeInline) {
  auto runtime = make_test_runtime();
  BlockingCallThread calls(runtime->loop());
  std::thread::id call_thread;
  EXPECT_EQ(calls.run([&] {
    call_thread = std::this_thread::get_id();
    return 7;
  }),
            7);
  EXPECT_EQ(call_thread, std::this_thread::get_id());
}

}  // namespace
}  // namespace cairn::net
