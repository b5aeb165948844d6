// Fibers, scopes and the blocking primitives on a bare scheduler (no runtime): ordering,
// bounded channels, mutual exclusion, futures, wait_any, and cancellation that unwinds every
// stack with its destructors run.
#include <gtest/gtest.h>

#include "tests/support/test_support.h"

#include <memory>
#include <string>
#include <vector>

#include "core/runtime/channel.h"
#include "core/runtime/event.h"
#include "core/runtime/fiber_scope.h"
#include "core/runtime/future.h"
#include "core/runtime/mutex.h"
#include "core/runtime/scheduler.h"
#include "core/runtime/wait_any.h"

namespace cairn {
namespace {

class FiberTest : public ::testing::Test {
 protected:
  FiberTest() : scheduler_(Scheduler::Options{}), installation_(scheduler_) {}
  ~FiberTest() override { process_.reset(); }

  Process& process() { return *process_; }
  void run() { scheduler_.run_until_idle(); }

  Scheduler scheduler_;
  Scheduler::Installation installation_;
  std::unique_ptr<Process> process_ = std::make_unique<Process>(scheduler_, "test");
};

using testing::Tracked;

TEST_F(FiberTest, FibersRunInSpawnOrderUnderFifo) {
  std::vector<int> order;
  for (int i = 0; i < 5; ++i) process().root().spawn("f", [&order, i] { order.push_back(i); });
  EXPECT_EQ(process().live_fibers(), 5u);
  run();
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4}));
  EXPECT_EQ(process().live_fibers(), 0u);
}

TEST_F(FiberTest, YieldInterleavesFibers) {
  std::vector<std::string> trace;
  for (const char* name : {"a", "b"}) {
    process().root().spawn(name, [&trace, name] {
      for (int i = 0; i < 3; ++i) {
        trace.push_back(std::string(name) + std::to_string(i));
        Scheduler::current()->yield();
      }
    });
  }
  run();
  EXPECT_EQ(trace, (std::vector<std::string>{"a0", "b0", "a1", "b1", "a2", "b2"}));
}

TEST_F(FiberTest, ChannelBlocksSenderWhenFull) {
  Channel<int> channel(2);
  std::vector<int> sent;
  process().root().spawn("sender", [&] {
    for (int i = 0; i < 5; ++i) {
      ASSERT_TRUE(channel.send(i).ok());
      sent.push_back(i);
    }
  });
  run();
  // Capacity 2: the third send blocks until someone receives.
  EXPECT_EQ(sent, (std::vector<int>{0, 1}));
  EXPECT_EQ(channel.size(), 2u);
  EXPECT_EQ(channel.try_send(99).code(), StatusCode::kResourceExhausted);

  std::vector<int> received;
  process().root().spawn("receiver", [&] {
    for (int i = 0; i < 5; ++i) received.push_back(channel.receive().value());
  });
  run();
  EXPECT_EQ(received, (std::vector<int>{0, 1, 2, 3, 4}));
  EXPECT_EQ(sent.size(), 5u);
}

TEST_F(FiberTest, ClosedChannelDrainsThenFails) {
  Channel<int> channel(4);
  ASSERT_TRUE(channel.try_send(7).ok());
  channel.close();
  EXPECT_EQ(channel.try_send(8).code(), StatusCode::kClosed);
  std::vector<Status> results;
  process().root().spawn("receiver", [&] {
    auto first = channel.receive();
    EXPECT_TRUE(first.ok());
    EXPECT_EQ(*first, 7);
    results.push_back(channel.receive().status());
  });
  run();
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].code(), StatusCode::kClosed);
}

TEST_F(FiberTest, CloseWakesBlockedReceivers) {
  Channel<int> channel(1);
  int woke = 0;
  for (int i = 0; i < 3; ++i) {
    process().root().spawn("receiver", [&] {
      EXPECT_EQ(channel.receive().status().code(), StatusCode::kClosed);
      ++woke;
    });
  }
  run();
  EXPECT_EQ(woke, 0);
  channel.close();
  run();
  EXPECT_EQ(woke, 3);
}

TEST_F(FiberTest, MutexExcludesAcrossBlockingPoints) {
  Mutex mutex;
  int inside = 0;
  int max_inside = 0;
  for (int i = 0; i < 4; ++i) {
    process().root().spawn("worker", [&] {
      std::lock_guard lock(mutex);
      ++inside;
      max_inside = std::max(max_inside, inside);
      Scheduler::current()->yield();  // a blocking point inside the critical section
      --inside;
    });
  }
  run();
  EXPECT_EQ(max_inside, 1);
  EXPECT_FALSE(mutex.locked());
}

TEST_F(FiberTest, EventWakesAllWaiters) {
  Event event;
  int woke = 0;
  for (int i = 0; i < 3; ++i) process().root().spawn("waiter", [&] {
      event.wait();
      ++woke;
    });
  run();
  EXPECT_EQ(woke, 0);
  event.set();
  run();
  EXPECT_EQ(woke, 3);
}

TEST_F(FiberTest, FutureDeliversValueAndAbandonedPromiseCancels) {
  auto promise = std::make_unique<Promise<int>>();
  Future<int> future = promise->future();
  Promise<int> abandoned_owner;
  Future<int> abandoned = abandoned_owner.future();
  Result<int> got = Status::internal("unset");
  Result<int> got_abandoned = Status::internal("unset");
  process().root().spawn("waiter", [&] {
    got = future.get();
    got_abandoned = abandoned.get();
  });
  run();
  EXPECT_FALSE(future.ready());
  promise->set_value(42);
  { Promise<int> discard = std::move(abandoned_owner); }
  run();
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, 42);
  EXPECT_EQ(got_abandoned.status().code(), StatusCode::kCancelled);
}

TEST_F(FiberTest, WaitAnyReturnsFirstResolved) {
  Promise<int> first;
  Promise<int> second;
  Future<int> a = first.future();
  Future<int> b = second.future();
  std::size_t winner = 99;
  process().root().spawn("waiter", [&] { winner = wait_any({&a.completion(), &b.completion()}); });
  run();
  EXPECT_EQ(winner, 99u);
  second.set_value(2);
  run();
  EXPECT_EQ(winner, 1u);
}

TEST_F(FiberTest, KillUnwindsEveryFiberAndRunsDestructors) {
  int live = 0;
  Channel<int> never(1);
  Event never_set;
  for (int i = 0; i < 10; ++i) {
    process().root().spawn("blocked", [&, i] {
      Tracked tracked(&live);
      std::vector<std::unique_ptr<Tracked>> more;
      more.push_back(std::make_unique<Tracked>(&live));
      if (i % 2 == 0) {
        (void)never.receive();
      } else {
        never_set.wait();
      }
      ADD_FAILURE() << "a cancelled fiber went on after its blocking point";
    });
  }
  // A fiber that never got to run must not start after the kill either.
  bool started_late = false;
  run();
  process().root().spawn("never-started", [&] { started_late = true; });
  EXPECT_EQ(live, 20);
  process().kill();
  EXPECT_EQ(live, 0);
  EXPECT_FALSE(started_late);
  EXPECT_EQ(process().live_fibers(), 0u);
  EXPECT_FALSE(process().alive());
}

TEST_F(FiberTest, DestroyingAScopeCancelsItsFibersOnly) {
  int live = 0;
  Event never;
  bool outsider_finished = false;
  auto scope = std::make_unique<FiberScope>(process());
  for (int i = 0; i < 3; ++i) scope->spawn("inner", [&] {
      Tracked tracked(&live);
      never.wait();
    });
  process().root().spawn("outsider", [&] {
    Scheduler::current()->yield();
    outsider_finished = true;
  });
  run();
  EXPECT_EQ(live, 3);
  scope.reset();
  EXPECT_EQ(live, 0);
  EXPECT_TRUE(outsider_finished);
}

TEST_F(FiberTest, CancelledWaiterPassesNotificationOn) {
  // Two receivers wait; one item arrives and the chosen receiver is cancelled before it runs:
  // the item must go to the other receiver instead of being stranded.
  Channel<int> channel(1);
  auto doomed_scope = std::make_unique<FiberScope>(process());
  int received = 0;
  doomed_scope->spawn("doomed", [&] { (void)channel.receive(); });
  process().root().spawn("survivor", [&] {
    if (channel.receive().ok()) ++received;
  });
  run();
  ASSERT_TRUE(channel.try_send(1).ok());  // notifies "doomed", the first waiter
  doomed_scope.reset();                    // cancelled before it could take the item
  run();
  EXPECT_EQ(received, 1);
}

TEST_F(FiberTest, KillFromInsideTheProcessEndsTheCaller) {
  int live = 0;
  bool after_kill = false;
  Event never;
  process().root().spawn("victim", [&] {
    Tracked tracked(&live);
    never.wait();
  });
  process().root().spawn("killer", [&] {
    Tracked tracked(&live);
    Scheduler::current()->yield();
    process().kill();
    after_kill = true;
  });
  run();
  EXPECT_FALSE(after_kill);
  EXPECT_EQ(live, 0);
  EXPECT_EQ(process().live_fibers(), 0u);
}

TEST_F(FiberTest, PausedProcessDoesNotRunUntilUnpaused) {
  Process other(scheduler_, "other");
  int steps = 0;
  other.root().spawn("stepper", [&] {
    for (int i = 0; i < 3; ++i) {
      ++steps;
      Scheduler::current()->yield();
    }
  });
  other.pause();
  run();
  EXPECT_EQ(steps, 0);
  other.unpause();
  run();
  EXPECT_EQ(steps, 3);
}

TEST_F(FiberTest, RandomOrderIsAFunctionOfTheSeed) {
  auto order_for = [](uint64_t seed) {
    Scheduler scheduler(Scheduler::Options{.order = Scheduler::Order::kRandom, .seed = seed});
    Scheduler::Installation installation(scheduler);
    std::vector<int> order;
    {
      Process process(scheduler, "p");
      for (int i = 0; i < 16; ++i) process.root().spawn("f", [&order, i] { order.push_back(i); });
      scheduler.run_until_idle();
    }
    return order;
  };
  EXPECT_EQ(order_for(7), order_for(7));
  EXPECT_NE(order_for(7), order_for(8));
}

}  // namespace
}  // namespace cairn

namespace cairn {
namespace {

// A fiber deep inside a child scope kills its own process: the child scope's owner lives on the
// main fiber's stack, so the kill must not unwind main on top of the caller (that would destroy
// the scope the caller runs in). The caller unwinds first; the loop finishes the rest.
TEST_F(FiberTest, KillFromAFiberInAChildScopeUnwindsSafely) {
  int live = 0;
  bool handler_continued = false;
  Event never;
  process().root().spawn("main", [&] {
    Tracked owner(&live);
    FiberScope handlers(process());
    handlers.spawn("handler", [&] {
      Tracked tracked(&live);
      Scheduler::current()->yield();
      process().kill();
      handler_continued = true;
    });
    never.wait();
  });
  run();
  EXPECT_FALSE(handler_continued);
  EXPECT_EQ(live, 0);
  EXPECT_EQ(process().live_fibers(), 0u);
  EXPECT_FALSE(process().alive());
}

}  // namespace
}  // namespace cairn
