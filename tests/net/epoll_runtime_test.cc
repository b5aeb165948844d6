// The real runtime in one process: timers and sleeps take real time, with_timeout interrupts a
// blocked fiber, RPC works over the loopback path, and shutdown unwinds every fiber.
#include <gtest/gtest.h>

#include "tests/support/test_support.h"

#include "core/proto/register.pb.h"
#include "core/runtime/event.h"
#include "core/runtime/rpc.h"
#include "core/runtime/timeout.h"
#include "net/epoll_runtime.h"
#include "tests/net/test_runtime.h"

namespace cairn::net {
namespace {

using cairn::testing::Tracked;
using testing::make_test_runtime;

TEST(EpollRuntime, SleepTakesRealTime) {
  auto runtime = make_test_runtime();
  Duration measured{};
  const int code = runtime->run([&] {
    const MonotonicTime start = runtime->now();
    runtime->sleep(milliseconds(30));
    measured = runtime->now() - start;
    return 7;
  });
  EXPECT_EQ(code, 7);
  EXPECT_GE(measured, milliseconds(30));
  EXPECT_LT(measured, seconds(2));
}

TEST(EpollRuntime, WithTimeoutInterruptsABlockedFiber) {
  auto runtime = make_test_runtime();
  Status outcome;
  Duration measured{};
  runtime->run([&] {
    Event never;
    const MonotonicTime start = runtime->now();
    outcome = with_timeout(*runtime, milliseconds(20), [&] { never.wait(); });
    measured = runtime->now() - start;
    return 0;
  });
  EXPECT_EQ(outcome.code(), StatusCode::kTimeout);
  EXPECT_GE(measured, milliseconds(20));
}

TEST(EpollRuntime, RpcOverLoopback) {
  auto runtime = make_test_runtime();
  std::string answer;
  runtime->run([&] {
    RpcServer server(*runtime, services::kRegister);
    server.add_handler<proto::RegisterReadRequest, proto::RegisterReadReply>(
        [](const RpcContext& context, const proto::RegisterReadRequest&) -> Result<proto::RegisterReadReply> {
          proto::RegisterReadReply reply;
          reply.mutable_value()->set_data("from node " + std::to_string(context.source));
          return reply;
        });
    EXPECT_TRUE(server.start().ok());
    auto client = RpcClient::create(*runtime, services::kFirstEphemeralService);
    EXPECT_TRUE(client.ok());
    auto reply = (*client)->call<proto::RegisterReadReply>(1, services::kRegister, proto::RegisterReadRequest(),
                                                           seconds(5));
    EXPECT_TRUE(reply.ok()) << reply.status().to_string();
    if (reply.ok()) answer = reply->value().data();
    return 0;
  });
  EXPECT_EQ(answer, "from node 1");
}

TEST(EpollRuntime, UnknownDestinationIsAnError) {
  auto runtime = make_test_runtime();
  Status sent;
  runtime->run([&] {
    proto::Envelope envelope;
    envelope.set_destination(42);
    sent = runtime->network().send(envelope);
    return 0;
  });
  EXPECT_EQ(sent.code(), StatusCode::kUnavailable);
}

TEST(EpollRuntime, ReturningFromMainUnwindsOtherFibers) {
  auto runtime = make_test_runtime();
  int live = 0;
  runtime->run([&] {
    for (int i = 0; i < 5; ++i) {
      runtime->spawn("sleeper", [&] {
        Tracked tracked(&live);
        runtime->sleep(seconds(3600));
      });
    }
    runtime->sleep(milliseconds(5));
    EXPECT_EQ(live, 5);
    return 0;
  });
  EXPECT_EQ(live, 0);
}

}  // namespace
}  // namespace cairn::net
