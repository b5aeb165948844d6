// HybridClock (core/runtime/hybrid_clock.h): timestamps that follow the wall clock, never go
// backwards when it steps back, pass every timestamp observed, and refuse one from a clock beyond
// the maximum offset; and the commit timestamps the key-value state machine derives from them.
#include <gtest/gtest.h>

#include "core/kv/kv_state_machine.h"
#include "core/runtime/hybrid_clock.h"
#include "tests/core/kv_range_harness.h"
#include "tests/storage/storage_harness.h"

namespace cairn {
namespace {

using storage::testing::SingleMachine;

uint64_t wall_ms(Runtime& runtime) {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(runtime.wall_now().time_since_epoch()).count());
}

TEST(HybridClock, FollowsTheWallClockAndNeverGoesBackwards) {
  SingleMachine machine(1);
  ASSERT_TRUE(machine.run([&](Runtime& runtime) {
    HybridClock clock(runtime, milliseconds(500));
    const HlcTimestamp first = clock.now();
    EXPECT_EQ(hlc_wall_ms(first), wall_ms(runtime));
    const HlcTimestamp second = clock.now();
    EXPECT_GT(second, first) << "two readings within one millisecond are told apart by the logical counter";
    EXPECT_EQ(hlc_logical(second), hlc_logical(first) + 1);
    runtime.sleep(milliseconds(20));
    const HlcTimestamp later = clock.now();
    EXPECT_EQ(hlc_wall_ms(later), wall_ms(runtime));
    EXPECT_EQ(hlc_logical(later), 0u) << "the logical counter restarts when the wall clock moves on";
    // NTP steps the wall clock back by a second: the clock keeps counting from where it was.
    machine.node().clock().step(-seconds(1));
    const HlcTimestamp after_step = clock.now();
    EXPECT_GT(after_step, later);
    EXPECT_EQ(hlc_wall_ms(after_step), hlc_wall_ms(later));
  }));
}

TEST(HybridClock, PassesWhatItObservesWithinTheMaximumOffsetAndRefusesBeyond) {
  SingleMachine machine(2);
  ASSERT_TRUE(machine.run([&](Runtime& runtime) {
    HybridClock clock(runtime, milliseconds(500));
    const HlcTimestamp ahead = make_hlc(wall_ms(runtime) + 400, 7);
    ASSERT_TRUE(clock.observe(ahead).ok());
    EXPECT_GT(clock.now(), ahead) << "a timestamp observed is passed by the next one";
    const HlcTimestamp too_far = make_hlc(wall_ms(runtime) + 2000, 0);
    const Status refused = clock.observe(too_far);
    EXPECT_EQ(refused.code(), StatusCode::kFailedPrecondition);
    EXPECT_NE(refused.message().find("maximum clock offset"), std::string::npos) << refused.to_string();
    EXPECT_LT(clock.now(), too_far) << "a refused timestamp must not drag the clock along";
    EXPECT_TRUE(clock.observe(0).ok()) << "nothing observed yet is no timestamp to refuse";
  }));
}

TEST(HybridClock, FoldsInACommittedTimestampBeyondTheOffsetAndThenAcceptsItFromClients) {
  SingleMachine machine(2);
  ASSERT_TRUE(machine.run([&](Runtime& runtime) {
    HybridClock clock(runtime, milliseconds(500));
    const HlcTimestamp committed = make_hlc(wall_ms(runtime) + 4000, 3);
    ASSERT_EQ(clock.observe(committed).code(), StatusCode::kFailedPrecondition) << "unknown here: refused";
    clock.observe_committed(committed);
    EXPECT_GT(clock.now(), committed) << "the data's timestamp is passed by the next one";
    EXPECT_TRUE(clock.observe(committed).ok()) << "a client that read it is not refused by a clock that has it";
    const HlcTimestamp beyond = committed + make_hlc(2000, 0);
    EXPECT_EQ(clock.observe(beyond).code(), StatusCode::kFailedPrecondition) << "anything newer is still refused";
  }));
}

TEST(HybridClock, ALogicalCounterThatOverflowsCarriesIntoTheMilliseconds) {
  SingleMachine machine(3);
  ASSERT_TRUE(machine.run([&](Runtime& runtime) {
    HybridClock clock(runtime, milliseconds(500));
    const uint64_t now_ms = wall_ms(runtime);
    ASSERT_TRUE(clock.observe(make_hlc(now_ms + 100, kHlcLogicalMax)).ok());
    const HlcTimestamp next = clock.now();
    EXPECT_EQ(hlc_wall_ms(next), now_ms + 101);
    EXPECT_EQ(hlc_logical(next), 0u);
  }));
}

TEST(HybridClock, FormatsAsADateAndALogicalCounter) {
  // 2026-12-07T16:53:07.123Z is 1796662387123 ms after the epoch.
  EXPECT_EQ(format_hlc(make_hlc(1'796'662'387'123, 4)), "2026-12-07T16:53:07.123Z+4");
  EXPECT_EQ(format_hlc(make_hlc(0, 0)), "1970-01-01T00:00:00.000Z+0");
  EXPECT_EQ(format_hlc(make_hlc(951'782'400'000, 1)), "2000-02-29T00:00:00.000Z+1") << "a leap day";
  EXPECT_EQ(hlc_minus(make_hlc(10'000, 3), seconds(4)), make_hlc(6'000, 3));
  EXPECT_EQ(hlc_minus(make_hlc(10'000, 3), seconds(20)), 0u);
}

proto::RaftEntry write_entry(uint64_t index, std::string key, HlcTimestamp timestamp) {
  proto::KvCommand command;
  command.mutable_put()->set_key(std::move(key));
  command.mutable_put()->set_value("v" + std::to_string(index));
  command.set_timestamp(timestamp);
  proto::RaftEntry entry;
  entry.set_index(index);
  entry.set_term(1);
  entry.set_data(command.SerializeAsString());
  return entry;
}

// A batch commits at its commands' highest timestamp, or just above the last commit if a
// leader's clock was behind (a new leader with a slower clock): along the log, commit timestamps
// only grow, and every replica computes the same ones.
TEST(KvCommitTimestamps, GrowAlongTheLogWhateverTheLeadersClocksSaid) {
  SingleMachine machine(4);
  ASSERT_TRUE(machine.run([&](Runtime& runtime) {
    HybridClock clock(runtime, seconds(60));
    kv::KvStateMachineOptions options;
    options.clock = &clock;
    auto state = kv::testing::open_range(runtime, "kv/data.db", options);
    ASSERT_TRUE(state.ok());
    proto::RaftMembership membership;
    membership.add_voters(1);
    const HlcTimestamp base = make_hlc(wall_ms(runtime), 0);
    auto first = (*state)->apply({write_entry(1, "a", base + 10), write_entry(2, "b", base + 30)}, membership);
    ASSERT_TRUE(first.ok());
    proto::KvCommandResult result;
    ASSERT_TRUE(result.ParseFromString(first->at(0)));
    EXPECT_EQ(result.commit_timestamp(), base + 30) << "the batch commits at its highest command timestamp";
    EXPECT_EQ((*state)->last_commit_timestamp(), base + 30);
    // The next leader's clock is behind: its write still commits after the last one.
    auto second = (*state)->apply({write_entry(3, "a", base + 5)}, membership);
    ASSERT_TRUE(second.ok());
    ASSERT_TRUE(result.ParseFromString(second->at(0)));
    EXPECT_EQ(result.commit_timestamp(), base + 31);
    // The node's own clock moved past what it applied.
    EXPECT_GT(clock.now(), base + 31);
    EXPECT_EQ((*state)->get("a").value(), std::optional<std::string>("v3"));
    // The store's versions carry the commit timestamps: "a" read before the second batch.
    EXPECT_EQ((*state)->engine().get(kv::keyspace_prefix(1) + "a", base + 30).value(), std::optional<std::string>("v1"));
    ASSERT_TRUE((*state)->sync().ok());
  }));
  ASSERT_TRUE(machine.run([&](Runtime& runtime) {
    auto state = kv::testing::open_range(runtime, "kv/data.db");
    ASSERT_TRUE(state.ok()) << state.status().to_string();
    EXPECT_GT((*state)->last_commit_timestamp(), 31u) << "the last commit timestamp survives a restart";
    EXPECT_EQ((*state)->get("b").value(), std::optional<std::string>("v2"));
  }));
}

}  // namespace
}  // namespace cairn
