// A Store's recovery of a range (core/node/store.cc, Store::recover_range) from a write-ahead log
// whose first batch — the range's bootstrap marker holding the initial membership, and a hard
// state — was destroyed on the medium and salvaged around: the range restarts its log from the
// state machine's applied membership, or comes back blank if nothing was applied, instead of
// applying the log's membership changes (deltas) to an empty configuration.
#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/kv/kv_client.h"
#include "core/kv/kv_node.h"
#include "core/kv/kv_state_machine.h"
#include "core/node/store.h"
#include "core/node/store_log.h"
#include "core/runtime/event.h"
#include "storage/wal/wal_format.h"
#include "tests/sim/sim_harness.h"
#include "tests/storage/storage_harness.h"

namespace cairn::node {
namespace {

using storage::testing::SingleMachine;

// Added as a learner and never started: it only has to be part of the configuration.
constexpr NodeId kLearner = 2;
constexpr std::string_view kStoreDirectory = "store";
constexpr RangeId kRange = 1;

std::string first_wal_segment() { return wal::segment_path(std::string(kStoreDirectory) + "/wal", 1); }

// A Store and its one range.
struct StartedRange {
  std::unique_ptr<Store> store;
  std::shared_ptr<RangeReplica> replica;
  RangeReplica* operator->() const { return replica.get(); }
  bool operator==(std::nullptr_t) const { return replica == nullptr; }
};

// A range of one voter (this machine) elects itself and commits alone, so one machine is enough
// to build a log with applied entries. `factory` makes its state machine.
StartedRange start_range(Runtime& runtime, StateMachineFactory factory) {
  StoreOptions options;
  options.directory = std::string(kStoreDirectory);
  options.salvage_damaged_log = true;
  auto store = Store::open_store(runtime, options, std::move(factory));
  EXPECT_TRUE(store.ok()) << store.status().to_string();
  if (!store.ok()) return {};
  Status added = (*store)->add_range(kRange, {runtime.node_id()});
  EXPECT_TRUE(added.ok()) << added.to_string();
  if (!added.ok()) return {};
  StartedRange started{.store = std::move(*store), .replica = nullptr};
  started.replica = started.store->find(kRange);
  return started;
}

// The key-value state machine of the range; `opened` learns of it.
StateMachineFactory key_values(Runtime& runtime, kv::KvStateMachine** opened = nullptr) {
  return [&runtime, opened](RangeId range,
                            const std::shared_ptr<storage::KvEngine>& engine) -> Result<std::shared_ptr<StateMachine>> {
    kv::KvStateMachineOptions options;
    options.range_id = range;
    CAIRN_ASSIGN_OR_RETURN(std::unique_ptr<kv::KvStateMachine> machine, kv::KvStateMachine::open_range(runtime, engine, options));
    if (opened != nullptr) *opened = machine.get();
    return std::shared_ptr<StateMachine>(std::move(machine));
  };
}

// Polls `condition` in simulated time; false if it still does not hold after `limit`.
bool wait_until(Runtime& runtime, const std::function<bool()>& condition, Duration limit = seconds(5)) {
  const MonotonicTime deadline = runtime.now() + limit;
  while (!condition()) {
    if (runtime.now() >= deadline) return false;
    runtime.sleep(milliseconds(10));
  }
  return true;
}

std::string put_command(uint64_t request, const std::string& key, const std::string& value) {
  proto::KvCommand command;
  command.set_client_id(7);
  command.set_request_id(request);
  command.mutable_put()->set_key(key);
  command.mutable_put()->set_value(value);
  return command.SerializeAsString();
}

proto::RaftMembershipChange add_learner(NodeId learner) {
  proto::RaftMembershipChange change;
  proto::RaftReplicaChange& added = *change.add_changes();
  added.set_kind(proto::RAFT_ADD_LEARNER);
  added.set_replica(learner);
  return change;
}

std::vector<uint64_t> voters_of(const proto::RaftMembership& membership) {
  return {membership.voters().begin(), membership.voters().end()};
}
std::vector<uint64_t> learners_of(const proto::RaftMembership& membership) {
  return {membership.learners().begin(), membership.learners().end()};
}

// The first batch of the first segment (block 1, after the segment's header block) is what
// recover() wrote when it bootstrapped the group: the marker with the initial membership and a
// hard state. A bit flipped in the marker's payload fails the batch's checksum; the later
// batches prove it had been synced, so a salvaging open skips it and keeps everything after.
void destroy_first_batch(SingleMachine& machine) {
  machine.flip_bit(first_wal_segment(), wal::kBlockSize + wal::kBatchHeaderSize + wal::kRecordHeaderSize + 1, 4);
}

// Opens the damaged log by itself, to prove the damage is the one this file is about: salvaged,
// with entries but no membership to start from. Without this, a change in the WAL's layout
// could make the tests pass while exercising nothing.
void expect_log_lost_its_membership_marker(SingleMachine& machine) {
  ASSERT_TRUE(machine.run([](Runtime& runtime) {
    StoreLogOptions options;
    options.directory = first_wal_segment().substr(0, first_wal_segment().rfind('/'));
    options.salvage_damage = true;
    auto log = StoreLog::open_log(runtime, options);
    ASSERT_TRUE(log.ok()) << log.status().to_string();
    EXPECT_TRUE((*log)->salvaged());
    raft::RaftRecoveredState recovered = (*log)->take_recovered(kRange);
    EXPECT_EQ(recovered.snapshot.membership().voters_size(), 0) << "the marker survived the damage";
    EXPECT_FALSE(recovered.entries.empty()) << "no entries survived: nothing is left to misapply";
  }));
  machine.crash();
}

TEST(StoreRecovery, ALogThatLostItsMembershipMarkerRestartsFromTheAppliedMembership) {
  SingleMachine machine(11);
  std::vector<uint64_t> voters_before;
  uint64_t applied_before = 0;
  ASSERT_TRUE(machine.run([&](Runtime& runtime) {
    auto replica = start_range(runtime, key_values(runtime));
    ASSERT_NE(replica, nullptr);
    ASSERT_TRUE(wait_until(runtime, [&] { return replica->status().role == raft::Role::kLeader; }));
    // A membership entry in the log: a change that only means something applied to the
    // bootstrap configuration the damage will take.
    auto added = replica->change_membership(add_learner(kLearner), seconds(5));
    ASSERT_TRUE(added.ok()) << added.status().to_string();
    for (uint64_t request = 1; request <= 3; ++request) {
      auto proposed = replica->propose(put_command(request, "key" + std::to_string(request), "value"), seconds(5));
      ASSERT_TRUE(proposed.ok()) << proposed.status().to_string();
    }
    // Longer than the engine's sync interval (100 ms, store.h), so what the range applied is
    // durable before the crash.
    runtime.sleep(milliseconds(250));
    voters_before = voters_of(replica->status().membership);
    applied_before = replica->status().applied;
  }));
  ASSERT_EQ(voters_before, std::vector<uint64_t>{1});
  ASSERT_GT(applied_before, 0u);
  machine.crash();
  destroy_first_batch(machine);
  expect_log_lost_its_membership_marker(machine);

  // Restarted twice: the first recovery rebases the log, the second must find the rebase
  // recorded (the damaged batch is still on the medium).
  for (int restart = 1; restart <= 2; ++restart) {
    SCOPED_TRACE("restart " + std::to_string(restart));
    ASSERT_TRUE(machine.run([&](Runtime& runtime) {
      kv::KvStateMachine* key_value_machine = nullptr;
      auto replica = start_range(runtime, key_values(runtime, &key_value_machine));
      ASSERT_NE(replica, nullptr);
      ASSERT_NE(key_value_machine, nullptr);
      // Run a while, so that whatever the recovered log commits is applied to the membership.
      runtime.sleep(milliseconds(300));
      ASSERT_TRUE(replica->failed().ok()) << replica->failed().to_string();
      const ReplicaStatus status = replica->status();
      EXPECT_EQ(voters_of(status.membership), voters_before) << "the bootstrap voter was forgotten";
      EXPECT_EQ(learners_of(status.membership), std::vector<uint64_t>{kLearner});
      // The log restarts at the state machine's applied point.
      EXPECT_EQ(status.snapshot_index, applied_before);
      EXPECT_EQ(status.last_index, applied_before);
      EXPECT_EQ(status.applied, applied_before);
      EXPECT_EQ(key_value_machine->get("key3").value(), std::optional<std::string>("value"));
    }));
    machine.crash();
  }
}

// A state machine that never gets to apply anything, as if every crash came before the first
// apply: its applied() stays empty, and an apply stops the Store.
class NeverAppliedStateMachine final : public node::StateMachine {
 public:
  const proto::RaftSnapshotMetadata& applied() const override { return nothing_applied_; }
  Result<std::vector<std::string>> apply(const std::vector<proto::RaftEntry>& /*entries*/,
                                         const proto::RaftMembership& /*membership_after*/) override {
    return Status::unavailable("this state machine applies nothing");
  }
  Result<std::vector<std::string>> export_snapshot(std::size_t /*chunk_bytes*/) override {
    return Status::unavailable("this state machine has no snapshot");
  }
  Status verify_snapshot(const std::vector<std::string>& /*chunks*/) override {
    return Status::unavailable("this state machine takes no snapshot");
  }
  Status import_snapshot(const std::vector<std::string>& /*chunks*/) override {
    return Status::unavailable("this state machine takes no snapshot");
  }

 private:
  proto::RaftSnapshotMetadata nothing_applied_;
};

StateMachineFactory never_applied() {
  return [](RangeId, const std::shared_ptr<storage::KvEngine>&) -> Result<std::shared_ptr<StateMachine>> {
    return std::shared_ptr<StateMachine>(std::make_shared<NeverAppliedStateMachine>());
  };
}

TEST(StoreRecovery, ALogThatLostItsMembershipMarkerBeforeAnyApplyComesBackBlank) {
  SingleMachine machine(12);
  ASSERT_TRUE(machine.run([](Runtime& runtime) {
    auto replica = start_range(runtime, never_applied());
    ASSERT_NE(replica, nullptr);
    // Elected, it persists its first entry, commits it, and stops when the apply is refused.
    ASSERT_TRUE(wait_until(runtime, [&] { return !replica->failed().ok(); }));
  }));
  machine.crash();
  destroy_first_batch(machine);
  expect_log_lost_its_membership_marker(machine);

  ASSERT_TRUE(machine.run([](Runtime& runtime) {
    auto replica = start_range(runtime, never_applied());
    ASSERT_NE(replica, nullptr);
    runtime.sleep(milliseconds(300));
    // Nothing to restart from: no entries and no configuration, waiting for a leader's snapshot.
    // Keeping the entries would have the replica commit and apply them under no membership.
    const ReplicaStatus status = replica->status();
    EXPECT_TRUE(replica->failed().ok()) << replica->failed().to_string();
    EXPECT_EQ(status.last_index, 0u);
    EXPECT_EQ(status.snapshot_index, 0u);
    EXPECT_EQ(status.commit, 0u);
    EXPECT_EQ(status.membership.voters_size(), 0);
    EXPECT_EQ(status.membership.learners_size(), 0);
    EXPECT_EQ(status.role, raft::Role::kFollower);
  }));
}

// ---------------------------------------------------------------------------------------------
// In a group of three, where a leader elected after the damage can bring the damaged replica
// back (a lone voter that lost entries never campaigns again: raft.md, "Storage damage").

constexpr NodeId kDamagedServer = 1;
constexpr NodeId kClientNode = 100;
constexpr NodeId kAbsentLearner = 4;  // never started, as kLearner above
constexpr uint64_t kGroup = 1;

// Servers 1..3 run a KvNode each for group 1; a client node runs whatever script a phase gives it.
class ThreeServerGroup {
 public:
  explicit ThreeServerGroup(uint64_t seed)
      : world_(seed, 3, [this](Runtime& runtime, const sim::BootContext& context) { serve(runtime, context); }) {
    sim::add_program_node(world_.simulator, kClientNode, "r", sim::testing::fast_disk(),
                          [this](Runtime& runtime) { run_script(runtime); });
  }

  void start_servers() {
    for (NodeId server : kServers) world_.node(server).start();
  }
  void crash(NodeId server) { world_.node(server).crash(); }
  void restart(NodeId server) { world_.node(server).start(); }

  // Runs `script` on the client node to its end; false if it did not end within `limit`.
  bool run_client(std::function<void(kv::KvClient&)> script, Duration limit = seconds(30)) {
    script_ = std::move(script);
    script_done_ = false;
    sim::SimNode& client = world_.node(kClientNode);
    if (client.up()) client.crash();
    client.start();
    return run_until([this] { return script_done_; }, limit);
  }
  void run_for(Duration duration) { (void)run_until([] { return false; }, duration); }
  bool run_until(const std::function<bool()>& reached, Duration limit = seconds(10)) {
    return world_.simulator.run_until(world_.simulator.now() + limit.count(), reached);
  }

  // The server's replica of the group, or null while it is down.
  std::shared_ptr<RangeReplica> replica_on(NodeId server) {
    auto found = servers_.find(server);
    return found == servers_.end() ? nullptr : found->second->find(kGroup).replica;
  }
  uint64_t applied_on(NodeId server) {
    auto replica = replica_on(server);
    return replica == nullptr ? 0 : replica->status().applied;
  }
  NodeId leader_among(const std::vector<NodeId>& servers) {
    for (NodeId server : servers) {
      auto replica = replica_on(server);
      if (replica != nullptr && replica->status().role == raft::Role::kLeader) return server;
    }
    return 0;
  }

  // As SingleMachine::flip_bit, on one server's medium: both the cache and the durable image.
  void flip_bit(NodeId server, const std::string& path, uint64_t offset, int bit) {
    auto inode = world_.node(server).disk().open(path, OpenOptions::read_write());
    ASSERT_TRUE(inode.ok()) << inode.status().to_string();
    for (std::vector<std::byte>* image : {&(*inode)->current, &(*inode)->durable}) {
      ASSERT_LT(offset, image->size());
      (*image)[offset] ^= static_cast<std::byte>(1u << bit);
    }
  }

 private:
  static constexpr NodeId kServers[] = {1, 2, 3};

  // Forgets a server when its process unwinds (a crash), before its KvNode is destroyed.
  struct Registration {
    std::map<NodeId, kv::KvNode*>& servers;
    NodeId id;
    ~Registration() { servers.erase(id); }
  };

  void serve(Runtime& runtime, const sim::BootContext& context) {
    kv::KvNodeOptions options;
    options.voters = {std::begin(kServers), std::end(kServers)};
    options.bootstrap = context.incarnation == 1;
    auto node = kv::KvNode::start(runtime, options);
    ASSERT_TRUE(node.ok()) << node.status().to_string();
    servers_[runtime.node_id()] = node->get();
    const Registration registration{.servers = servers_, .id = runtime.node_id()};
    Event forever;
    forever.wait();
  }

  void run_script(Runtime& runtime) {
    kv::KvClientOptions options;
    options.servers = {std::begin(kServers), std::end(kServers)};
    auto client = kv::KvClient::create(runtime, options);
    ASSERT_TRUE(client.ok()) << client.status().to_string();
    script_(**client);
    script_done_ = true;
  }

  // Declared before the world, so that they outlive the processes that use them.
  std::map<NodeId, kv::KvNode*> servers_;
  std::function<void(kv::KvClient&)> script_;
  bool script_done_ = false;
  sim::testing::World world_;
};

// Writes a key through the group and waits until `server` has applied it. Returns the server's
// replica then, or null (with the failure recorded) if the write or the apply did not happen.
std::shared_ptr<RangeReplica> write_until_applied_on(ThreeServerGroup& group, NodeId server) {
  uint64_t index = 0;
  const bool written = group.run_client([&](kv::KvClient& client) {
    auto put = client.put("key-after", "after", seconds(20));
    EXPECT_TRUE(put.ok()) << put.status().to_string();
    if (put.ok()) index = put->index();
  });
  if (!written || index == 0) {
    ADD_FAILURE() << "the write after the damage did not commit";
    return nullptr;
  }
  if (!group.run_until([&] { return group.applied_on(server) >= index; })) {
    ADD_FAILURE() << "server " << server << " did not apply the write after the damage";
    return nullptr;
  }
  return group.replica_on(server);
}

TEST(StoreRecovery, AReplicaThatLostItsMembershipMarkerRejoinsItsGroupAndHelpsItCommit) {
  ThreeServerGroup group(21);
  group.start_servers();
  uint64_t last_write = 0;
  ASSERT_TRUE(group.run_client([&](kv::KvClient& client) {
    auto changed = client.change_membership(add_learner(kAbsentLearner), seconds(10));
    ASSERT_TRUE(changed.ok()) << changed.status().to_string();
    for (int write = 1; write <= 3; ++write) {
      auto written = client.put("key" + std::to_string(write), "before", seconds(10));
      ASSERT_TRUE(written.ok()) << written.status().to_string();
      last_write = written->index();
    }
  }));
  ASSERT_GT(last_write, 0u);
  ASSERT_TRUE(group.run_until([&] { return group.applied_on(kDamagedServer) >= last_write; }));
  group.run_for(milliseconds(250));  // past an engine sync (every 100 ms): the crash keeps what it applied
  const proto::RaftMembership membership_before = group.replica_on(kDamagedServer)->status().membership;
  ASSERT_EQ(voters_of(membership_before), (std::vector<uint64_t>{1, 2, 3}));

  group.crash(kDamagedServer);
  group.flip_bit(kDamagedServer, wal::segment_path("raft/store/wal", 1),
                 wal::kBlockSize + wal::kBatchHeaderSize + wal::kRecordHeaderSize + 1, 4);
  group.restart(kDamagedServer);
  // A leader among the undamaged servers (the damaged one does not campaign while it catches
  // up); then the other undamaged server stops, so that the leader commits only with the
  // damaged replica's acknowledgement.
  NodeId leader = 0;
  ASSERT_TRUE(group.run_until([&] {
    leader = group.leader_among({2, 3});
    return leader != 0 && group.replica_on(kDamagedServer) != nullptr;
  }));
  group.crash(leader == 2 ? 3 : 2);

  std::shared_ptr<RangeReplica> damaged = write_until_applied_on(group, kDamagedServer);
  ASSERT_NE(damaged, nullptr);
  EXPECT_EQ(voters_of(damaged->status().membership), voters_of(membership_before))
      << "the damaged replica forgot the group's voters";
  EXPECT_EQ(learners_of(damaged->status().membership), learners_of(membership_before));
  // Its log restarted at what it had applied before the crash (an undamaged log would still
  // start at 0: nothing was compacted), so the damage did take the bootstrap marker.
  EXPECT_GE(damaged->status().snapshot_index, last_write);
}

// As above, but the crash comes before the damaged server's state machine ever synced: it
// restarts with nothing applied, so it comes back blank and can only rejoin through a snapshot
// from the leader, whose own log was never compacted.
TEST(StoreRecovery, AReplicaThatLostItsMembershipMarkerBeforeItsFirstSyncRejoinsThroughASnapshot) {
  ThreeServerGroup group(22);
  group.start_servers();
  // The first apply, and the crash before the tick that would sync it.
  ASSERT_TRUE(group.run_until([&] { return group.applied_on(kDamagedServer) >= 1; }));
  // The case under test needs a leader that saw the damaged server acknowledge entries (its
  // match for it is above 0) and still leads when it comes back blank.
  const NodeId leader_before = group.leader_among({2, 3});
  ASSERT_NE(leader_before, 0u) << "the damaged server leads: a new leader would know nothing of it";
  const uint64_t term_before = group.replica_on(leader_before)->status().term;
  group.crash(kDamagedServer);
  group.flip_bit(kDamagedServer, wal::segment_path("raft/store/wal", 1),
                 wal::kBlockSize + wal::kBatchHeaderSize + wal::kRecordHeaderSize + 1, 4);
  group.restart(kDamagedServer);
  ASSERT_TRUE(group.run_until([&] { return group.replica_on(kDamagedServer) != nullptr; }));
  {
    const ReplicaStatus blank = group.replica_on(kDamagedServer)->status();
    ASSERT_EQ(blank.applied, 0u) << "the state machine synced before the crash: not the case under test";
    ASSERT_EQ(blank.membership.voters_size(), 0) << "the replica did not come back blank";
  }
  ASSERT_EQ(group.leader_among({2, 3}), leader_before);
  ASSERT_EQ(group.replica_on(leader_before)->status().term, term_before);
  group.crash(leader_before == 2 ? 3 : 2);

  std::shared_ptr<RangeReplica> damaged = write_until_applied_on(group, kDamagedServer);
  ASSERT_NE(damaged, nullptr);
  EXPECT_EQ(voters_of(damaged->status().membership), (std::vector<uint64_t>{1, 2, 3}));
  EXPECT_GT(damaged->status().snapshot_index, 0u) << "it caught up without a snapshot";
}

}  // namespace
}  // namespace cairn::node
