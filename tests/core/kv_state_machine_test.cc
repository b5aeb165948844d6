// KvStateMachine (core/kv/kv_state_machine.h): commands applied from committed entries —
// deduplication of retries, compare-and-set seeing earlier commands of its batch, the Raft
// metadata stored with the data and carried by snapshots, reserved keys refused.
#include <gtest/gtest.h>

#include "core/kv/kv_state_machine.h"
#include "tests/core/kv_range_harness.h"
#include "tests/storage/storage_harness.h"

namespace cairn::kv {
namespace {

using storage::testing::SingleMachine;

proto::RaftEntry command_entry(uint64_t index, const proto::KvCommand& command, uint64_t term = 1) {
  proto::RaftEntry entry;
  entry.set_index(index);
  entry.set_term(term);
  entry.set_data(command.SerializeAsString());
  return entry;
}

proto::KvCommand put(uint64_t client, uint64_t request, std::string key, std::string value) {
  proto::KvCommand command;
  command.set_client_id(client);
  command.set_request_id(request);
  command.mutable_put()->set_key(std::move(key));
  command.mutable_put()->set_value(std::move(value));
  return command;
}

proto::KvCommand cas(uint64_t client, uint64_t request, std::string key, std::optional<std::string> expected,
                     std::string value) {
  proto::KvCommand command;
  command.set_client_id(client);
  command.set_request_id(request);
  proto::KvCompareAndSet& operation = *command.mutable_compare_and_set();
  operation.set_key(std::move(key));
  if (expected) {
    operation.set_expected(*expected);
  } else {
    operation.set_expect_absent(true);
  }
  operation.set_value(std::move(value));
  return command;
}

proto::RaftMembership voters(std::initializer_list<uint64_t> ids) {
  proto::RaftMembership membership;
  for (uint64_t id : ids) membership.add_voters(id);
  return membership;
}

proto::KvCommandResult result_of(const std::string& bytes) {
  proto::KvCommandResult result;
  EXPECT_TRUE(result.ParseFromString(bytes));
  return result;
}

testing::OpenRange open_state_machine(Runtime& runtime, std::string path = "kv/data.db") {
  auto machine = testing::open_range(runtime, std::move(path));
  EXPECT_TRUE(machine.ok()) << machine.status().to_string();
  return machine.ok() ? std::move(machine).value() : testing::OpenRange{};
}

TEST(KvStateMachine, ARetriedRequestIsAppliedOnceAndAnswersWithItsFirstResult) {
  SingleMachine machine(1);
  ASSERT_TRUE(machine.run([](Runtime& runtime) {
    auto state = open_state_machine(runtime);
    ASSERT_NE(state, nullptr);
    ASSERT_TRUE(state->apply({command_entry(1, put(7, 1, "k", "first"))}, voters({1})).ok());
    ASSERT_TRUE(state->apply({command_entry(2, put(8, 1, "k", "other"))}, voters({1})).ok());
    // Client 7 retries request 1 (its reply was lost): it must not overwrite "other".
    auto retried = state->apply({command_entry(3, put(7, 1, "k", "first"))}, voters({1}));
    ASSERT_TRUE(retried.ok());
    EXPECT_TRUE(result_of(retried->at(0)).duplicate());
    EXPECT_EQ(state->get("k").value(), std::optional<std::string>("other"));
    // Its next request applies normally.
    ASSERT_TRUE(state->apply({command_entry(4, put(7, 2, "k", "second"))}, voters({1})).ok());
    EXPECT_EQ(state->get("k").value(), std::optional<std::string>("second"));
  }));
}

TEST(KvStateMachine, CompareAndSetSeesEarlierCommandsOfTheSameBatch) {
  SingleMachine machine(2);
  ASSERT_TRUE(machine.run([](Runtime& runtime) {
    auto state = open_state_machine(runtime);
    ASSERT_NE(state, nullptr);
    auto results = state->apply({command_entry(1, cas(1, 1, "k", std::nullopt, "a")),
                                 command_entry(2, cas(2, 1, "k", std::nullopt, "b")),
                                 command_entry(3, cas(3, 1, "k", "a", "c"))},
                                voters({1}));
    ASSERT_TRUE(results.ok());
    EXPECT_TRUE(result_of(results->at(0)).succeeded());
    const proto::KvCommandResult second = result_of(results->at(1));
    EXPECT_FALSE(second.succeeded());
    EXPECT_TRUE(second.found());
    EXPECT_EQ(second.current(), "a");
    EXPECT_TRUE(result_of(results->at(2)).succeeded());
    EXPECT_EQ(state->get("k").value(), std::optional<std::string>("c"));
  }));
}

// apply() leaves its batch unsynced (the Raft log holds it durably): a crash before sync() takes
// the state machine back to the last synced index, whole batches only; sync() makes it stay,
// and so does the automatic sync once max_unsynced_indexes are pending.
TEST(KvStateMachine, ACrashKeepsWhatWasSyncedAndNeverHalfABatch) {
  SingleMachine machine(4);
  ASSERT_TRUE(machine.run([&](Runtime& runtime) {
    auto state = open_state_machine(runtime);
    ASSERT_NE(state, nullptr);
    ASSERT_TRUE(state->apply({command_entry(1, put(1, 1, "a", "1"), 1)}, voters({1})).ok());
    ASSERT_TRUE(state->sync().ok());
    ASSERT_TRUE(state->apply({command_entry(2, put(1, 2, "b", "2"), 1), command_entry(3, put(1, 3, "a", "3"), 1)},
                             voters({1}))
                    .ok());
    // Unsynced, yet served: reads see every applied batch at once.
    EXPECT_EQ(state->get("a").value(), std::optional<std::string>("3"));
    EXPECT_EQ(state->applied().index(), 3u);
  }));
  machine.crash();
  ASSERT_TRUE(machine.run([&](Runtime& runtime) {
    auto state = open_state_machine(runtime);
    ASSERT_NE(state, nullptr);
    EXPECT_EQ(state->applied().index(), 1u) << "the unsynced batch survived a crash, or the synced one did not";
    EXPECT_EQ(state->get("a").value(), std::optional<std::string>("1"));
    EXPECT_EQ(state->get("b").value(), std::nullopt);
  }));
  machine.crash();
  ASSERT_TRUE(machine.run([&](Runtime& runtime) {
    KvStateMachineOptions options;
    options.max_unsynced_indexes = 2;
    auto opened = testing::open_range(runtime, "kv/data.db", options);
    ASSERT_TRUE(opened.ok()) << opened.status().to_string();
    KvStateMachine& state = **opened;
    ASSERT_TRUE(state.apply({command_entry(2, put(1, 2, "b", "2"), 1)}, voters({1})).ok());
    ASSERT_TRUE(state.apply({command_entry(3, put(1, 3, "c", "3"), 1)}, voters({1})).ok());  // 2 pending: synced
  }));
  machine.crash();
  ASSERT_TRUE(machine.run([&](Runtime& runtime) {
    auto state = open_state_machine(runtime);
    ASSERT_NE(state, nullptr);
    EXPECT_EQ(state->applied().index(), 3u) << "max_unsynced_indexes did not sync";
    EXPECT_EQ(state->get("c").value(), std::optional<std::string>("3"));
  }));
}

TEST(KvStateMachine, TheAppliedPointSurvivesACrashAndTravelsInSnapshots) {
  SingleMachine machine(3);
  std::vector<std::string> chunks;
  ASSERT_TRUE(machine.run([&](Runtime& runtime) {
    auto state = open_state_machine(runtime);
    ASSERT_NE(state, nullptr);
    proto::RaftEntry membership_entry;
    membership_entry.set_index(1);
    membership_entry.set_term(2);
    membership_entry.set_type(proto::RAFT_ENTRY_MEMBERSHIP);
    ASSERT_TRUE(state->apply({membership_entry, command_entry(2, put(1, 1, "k", "v"), 3)}, voters({1, 2, 3})).ok());
    ASSERT_TRUE(state->sync().ok());
  }));
  machine.crash();
  ASSERT_TRUE(machine.run([&](Runtime& runtime) {
    auto state = open_state_machine(runtime);
    ASSERT_NE(state, nullptr);
    EXPECT_EQ(state->applied().index(), 2u);
    EXPECT_EQ(state->applied().term(), 3u);
    EXPECT_EQ(state->applied().membership().voters_size(), 3);
    auto exported = state->export_snapshot(4096);
    ASSERT_TRUE(exported.ok());
    chunks = *exported;
    // A fresh store that imports the snapshot is at the same point, with the same data.
    auto other = open_state_machine(runtime, "other/data.db");
    ASSERT_NE(other, nullptr);
    ASSERT_TRUE(other->verify_snapshot(chunks).ok());
    ASSERT_TRUE(other->import_snapshot(chunks).ok());
    EXPECT_EQ(other->applied().index(), 2u);
    EXPECT_EQ(other->applied().term(), 3u);
    EXPECT_EQ(other->get("k").value(), std::optional<std::string>("v"));
  }));
  // A damaged chunk is refused before anything changes.
  std::string damaged = chunks.front();
  damaged[damaged.size() / 2] ^= 0x20;
  ASSERT_TRUE(machine.run([&](Runtime& runtime) {
    auto other = open_state_machine(runtime, "third/data.db");
    ASSERT_NE(other, nullptr);
    std::vector<std::string> bad = chunks;
    bad.front() = damaged;
    EXPECT_EQ(other->verify_snapshot(bad).code(), StatusCode::kCorruption);
  }));
}

TEST(KvStateMachine, ReservedAndEmptyKeysAreRefused) {
  EXPECT_EQ(validate_command(put(1, 1, std::string("\xff\xff") + "client/x", "v")).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(validate_command(put(1, 1, "", "v")).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(validate_command(proto::KvCommand{}).code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(validate_command(put(1, 1, "k", "v")).ok());
}

TEST(KvStateMachine, ScansNeverShowReservedKeys) {
  SingleMachine machine(4);
  ASSERT_TRUE(machine.run([](Runtime& runtime) {
    auto state = open_state_machine(runtime);
    ASSERT_NE(state, nullptr);
    ASSERT_TRUE(state->apply({command_entry(1, put(1, 1, "a", "1")), command_entry(2, put(1, 2, "b", "2"))},
                             voters({1}))
                    .ok());
    auto everything = state->scan("", "", 100);
    ASSERT_TRUE(everything.ok());
    ASSERT_EQ(everything->size(), 2u);  // not the client record nor the Raft metadata
    EXPECT_EQ(everything->at(0).key, "a");
    EXPECT_EQ(everything->at(1).key, "b");
  }));
}

}  // namespace
}  // namespace cairn::kv
