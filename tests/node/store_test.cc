// The Store (core/node/store.h) on one simulated machine: many ranges' writes persisted together
// (one write and one sync of the log for a round of every range's ready batch), every write
// applied and readable after a restart, and a data directory of the format before ranges
// refused with a message that says so.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "core/kv/kv_node.h"
#include "core/kv/kv_state_machine.h"
#include "core/node/store.h"
#include "core/runtime/fiber_scope.h"
#include "tests/storage/storage_harness.h"

namespace cairn::node {
namespace {

using storage::testing::SingleMachine;

constexpr RangeId kRanges = 32;
constexpr int kWritesPerRange = 5;

StateMachineFactory key_values(Runtime& runtime) {
  return [&runtime](RangeId range,
                    const std::shared_ptr<storage::KvEngine>& engine) -> Result<std::shared_ptr<StateMachine>> {
    kv::KvStateMachineOptions options;
    options.range_id = range;
    options.keyspace = range;
    options.holds_system_keys = range == 1;
    CAIRN_ASSIGN_OR_RETURN(std::unique_ptr<kv::KvStateMachine> machine, kv::KvStateMachine::open_range(runtime, engine, options));
    return std::shared_ptr<StateMachine>(std::move(machine));
  };
}

std::unique_ptr<Store> open_with_ranges(Runtime& runtime) {
  auto store = Store::open_store(runtime, StoreOptions{}, key_values(runtime));
  EXPECT_TRUE(store.ok()) << store.status().to_string();
  if (!store.ok()) return nullptr;
  for (RangeId range = 1; range <= kRanges; ++range) {
    Status added = (*store)->add_range(range, {runtime.node_id()});
    EXPECT_TRUE(added.ok()) << added.to_string();
  }
  return std::move(*store);
}

std::string put_command(uint64_t request, const std::string& key, const std::string& value) {
  proto::KvCommand command;
  command.set_client_id(9);
  command.set_request_id(request);
  command.mutable_put()->set_key(key);
  command.mutable_put()->set_value(value);
  return command.SerializeAsString();
}

bool all_lead(const Store& store) {
  for (RangeId range = 1; range <= kRanges; ++range) {
    if (store.find(range)->status().role != raft::Role::kLeader) return false;
  }
  return true;
}

TEST(Store, ManyRangesWritesShareTheLogsWritesAndSyncs) {
  SingleMachine machine(41);
  ASSERT_TRUE(machine.run([](Runtime& runtime) {
    std::unique_ptr<Store> store = open_with_ranges(runtime);
    ASSERT_NE(store, nullptr);
    for (int waited = 0; !all_lead(*store) && waited < 500; ++waited) runtime.sleep(milliseconds(10));
    ASSERT_TRUE(all_lead(*store));
    const uint64_t batches_before = store->log_stats().batches_written;
    // One writer per range, all at once: their proposals meet in the Store's inbox.
    int acknowledged = 0;
    {
      FiberScope writers(runtime.process());
      for (RangeId range = 1; range <= kRanges; ++range) {
        writers.spawn("writer", [&, range] {
          std::shared_ptr<RangeReplica> replica = store->find(range);
          for (int write = 1; write <= kWritesPerRange; ++write) {
            auto outcome = replica->propose(put_command(write, "key", "value-" + std::to_string(write)), seconds(5));
            EXPECT_TRUE(outcome.ok()) << outcome.status().to_string();
            if (outcome.ok()) ++acknowledged;
          }
        });
      }
      writers.join();
    }
    ASSERT_EQ(acknowledged, static_cast<int>(kRanges) * kWritesPerRange);
    const uint64_t batches = store->log_stats().batches_written - batches_before;
    // One range at a time would write (and sync) once per write at least: 160 batches. Together,
    // a round of writes is a batch or two (the entries, then perhaps a hard state).
    EXPECT_LE(batches, static_cast<uint64_t>(acknowledged / 8))
        << "the ranges' entries were not persisted together: " << batches << " log batches for "
        << acknowledged << " writes";
    runtime.sleep(milliseconds(50));  // a tick: the engine syncs what was applied
  }));
  machine.crash();
  ASSERT_TRUE(machine.run([](Runtime& runtime) {
    std::unique_ptr<Store> store = open_with_ranges(runtime);
    ASSERT_NE(store, nullptr);
    // Every range comes back with its own value under the same client key (keyspaces apart).
    for (RangeId range = 1; range <= kRanges; ++range) {
      auto* values = dynamic_cast<kv::KvStateMachine*>(&store->find(range)->state_machine());
      ASSERT_NE(values, nullptr);
      EXPECT_EQ(values->get("key").value(), std::optional<std::string>("value-" + std::to_string(kWritesPerRange)))
          << "range " << range;
    }
  }));
}

TEST(Store, ADataDirectoryOfTheFormatBeforeRangesIsRefused) {
  SingleMachine machine(42);
  ASSERT_TRUE(machine.run([](Runtime& runtime) {
    ASSERT_TRUE(runtime.file_system().create_directory("raft").ok());
    ASSERT_TRUE(runtime.file_system().create_directory("raft/g1").ok());
    kv::KvNodeOptions options;
    options.voters = {runtime.node_id()};
    options.bootstrap = true;
    auto node = kv::KvNode::start(runtime, options);
    ASSERT_FALSE(node.ok());
    EXPECT_EQ(node.status().code(), StatusCode::kFailedPrecondition);
    EXPECT_NE(node.status().message().find("single-group format"), std::string::npos) << node.status().to_string();
  }));
}

}  // namespace
}  // namespace cairn::node
