// RaftLogStore (core/replica/raft_log_store.h) on a simulated disk: what a replica writes is
// what it recovers after a crash — entries, hard state, snapshot point — including an
// overwritten suffix, a replaced log, and a log whose oldest segments compaction deleted.
#include <gtest/gtest.h>

#include "core/replica/raft_log_store.h"
#include "tests/storage/storage_harness.h"

namespace cairn::replica {
namespace {

using storage::testing::SingleMachine;

proto::RaftEntry entry(uint64_t index, uint64_t term, std::string data = "x") {
  proto::RaftEntry result;
  result.set_index(index);
  result.set_term(term);
  result.set_data(std::move(data));
  return result;
}

std::vector<proto::RaftEntry> entries(uint64_t first, uint64_t last, uint64_t term) {
  std::vector<proto::RaftEntry> result;
  for (uint64_t index = first; index <= last; ++index) result.push_back(entry(index, term, "e" + std::to_string(index)));
  return result;
}

proto::RaftHardState hard_state(uint64_t term, uint64_t vote, uint64_t commit) {
  proto::RaftHardState state;
  state.set_term(term);
  state.set_vote(vote);
  state.set_commit(commit);
  return state;
}

std::vector<std::pair<uint64_t, uint64_t>> index_terms(const raft::RaftRecoveredState& state) {
  std::vector<std::pair<uint64_t, uint64_t>> result;
  for (const proto::RaftEntry& e : state.entries) result.emplace_back(e.index(), e.term());
  return result;
}

RaftLogStoreOptions small_segments() {
  RaftLogStoreOptions options;
  options.directory = "raft/wal";
  options.segment_bytes = 8192;  // two blocks: nearly every batch starts a segment
  return options;
}

// Runs `body` with a freshly opened store, on the machine's next incarnation.
void with_store(SingleMachine& machine, const std::function<void(RaftLogStore&)>& body) {
  ASSERT_TRUE(machine.run([&](Runtime& runtime) {
    auto store = RaftLogStore::open_store(runtime, small_segments());
    ASSERT_TRUE(store.ok()) << store.status().to_string();
    body(**store);
  }));
}

TEST(RaftLogStore, RecoversEntriesAndTheLastHardState) {
  SingleMachine machine(1);
  with_store(machine, [](RaftLogStore& store) {
    ASSERT_TRUE(store.save(hard_state(1, 2, 0), entries(1, 3, 1)).ok());
    ASSERT_TRUE(store.save(hard_state(2, 3, 2), entries(4, 5, 2)).ok());
  });
  machine.crash();
  with_store(machine, [](RaftLogStore& store) {
    raft::RaftRecoveredState recovered = store.take_recovered();
    EXPECT_EQ(recovered.hard_state.term(), 2u);
    EXPECT_EQ(recovered.hard_state.vote(), 3u);
    EXPECT_EQ(recovered.hard_state.commit(), 2u);
    EXPECT_EQ(index_terms(recovered),
              (std::vector<std::pair<uint64_t, uint64_t>>{{1, 1}, {2, 1}, {3, 1}, {4, 2}, {5, 2}}));
  });
}

TEST(RaftLogStore, AnOverwrittenSuffixStaysOverwritten) {
  // A follower's conflicting entries 3..5 (term 1) are replaced by the leader's 3..4 (term 2).
  SingleMachine machine(2);
  with_store(machine, [](RaftLogStore& store) {
    ASSERT_TRUE(store.save(std::nullopt, entries(1, 5, 1)).ok());
    ASSERT_TRUE(store.save(std::nullopt, entries(3, 4, 2)).ok());
  });
  machine.crash();
  with_store(machine, [](RaftLogStore& store) {
    EXPECT_EQ(index_terms(store.take_recovered()),
              (std::vector<std::pair<uint64_t, uint64_t>>{{1, 1}, {2, 1}, {3, 2}, {4, 2}}));
  });
}

TEST(RaftLogStore, AnInstalledSnapshotReplacesTheWholeLog) {
  SingleMachine machine(3);
  proto::RaftSnapshotMetadata snapshot;
  snapshot.set_index(10);
  snapshot.set_term(4);
  snapshot.mutable_membership()->add_voters(1);
  with_store(machine, [&](RaftLogStore& store) {
    ASSERT_TRUE(store.save(std::nullopt, entries(1, 12, 1)).ok());
    ASSERT_TRUE(store.save_snapshot(snapshot, true, hard_state(4, 0, 10)).ok());
    ASSERT_TRUE(store.save(std::nullopt, entries(11, 11, 4)).ok());
  });
  machine.crash();
  with_store(machine, [](RaftLogStore& store) {
    raft::RaftRecoveredState recovered = store.take_recovered();
    EXPECT_EQ(recovered.snapshot.index(), 10u);
    EXPECT_EQ(recovered.snapshot.membership().voters_size(), 1);
    // Entry 12 of term 1 was after the snapshot's index, but the log was replaced: it is gone.
    EXPECT_EQ(index_terms(recovered), (std::vector<std::pair<uint64_t, uint64_t>>{{11, 4}}));
  });
}

TEST(RaftLogStore, RecoversAfterCompactionDeletedTheOldestSegments) {
  // The regression of scenarios/regressions/raft_kv_compacted_log_recovery.textproto: after
  // compaction the first kept records are entries written before the marker that says where
  // the log starts.
  SingleMachine machine(4);
  with_store(machine, [](RaftLogStore& store) {
    for (uint64_t first = 1; first <= 200; first += 10) {
      ASSERT_TRUE(store.save(hard_state(1, 1, first + 9), entries(first, first + 9, 1)).ok());
    }
    proto::RaftSnapshotMetadata snapshot;
    snapshot.set_index(150);
    snapshot.set_term(1);
    ASSERT_TRUE(store.save_snapshot(snapshot, false, hard_state(1, 1, 200)).ok());
    const uint64_t before = store.segments();
    ASSERT_TRUE(store.remove_covered_segments().ok());
    EXPECT_LT(store.segments(), before) << "compaction removed no segment: the test would prove nothing";
  });
  machine.crash();
  with_store(machine, [](RaftLogStore& store) {
    raft::RaftRecoveredState recovered = store.take_recovered();
    EXPECT_EQ(recovered.snapshot.index(), 150u);
    ASSERT_EQ(recovered.entries.size(), 50u);
    EXPECT_EQ(recovered.entries.front().index(), 151u);
    EXPECT_EQ(recovered.entries.back().index(), 200u);
    EXPECT_EQ(recovered.hard_state.commit(), 200u);
  });
}

TEST(RaftLogStore, AGapInTheEntriesIsCorruptionNotASilentlyShorterLog) {
  SingleMachine machine(5);
  with_store(machine, [](RaftLogStore& store) {
    ASSERT_TRUE(store.save(std::nullopt, entries(1, 2, 1)).ok());
    ASSERT_TRUE(store.save(std::nullopt, entries(4, 4, 1)).ok());  // entry 3 never written
  });
  machine.crash();
  ASSERT_TRUE(machine.run([](Runtime& runtime) {
    auto store = RaftLogStore::open_store(runtime, small_segments());
    ASSERT_FALSE(store.ok());
    EXPECT_EQ(store.status().code(), StatusCode::kCorruption) << store.status().to_string();
  }));
}

TEST(RaftLogStore, ADamagedBatchInTheMiddleIsSalvagedAndTheReplicaCatchesUp) {
  SingleMachine machine(6);
  RaftLogStoreOptions options;
  options.directory = "raft/wal";
  options.segment_bytes = 1 << 20;  // one segment: batches at 4 KiB blocks 1, 2, 3, ...
  ASSERT_TRUE(machine.run([&](Runtime& runtime) {
    auto store = RaftLogStore::open_store(runtime, options);
    ASSERT_TRUE(store.ok());
    for (uint64_t first = 1; first <= 9; first += 3) {
      ASSERT_TRUE((*store)->save(hard_state(3, 1, first), entries(first, first + 2, 3)).ok());
    }
  }));
  machine.crash();
  machine.flip_bit("raft/wal/00000000000000000001.wal", 2 * 4096 + 60, 3);  // in the second batch (entries 4..6)
  options.salvage_damage = false;
  ASSERT_TRUE(machine.run([&](Runtime& runtime) {
    auto refused = RaftLogStore::open_store(runtime, options);
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.status().code(), StatusCode::kCorruption) << refused.status().to_string();
  }));
  options.salvage_damage = true;
  ASSERT_TRUE(machine.run([&](Runtime& runtime) {
    auto store = RaftLogStore::open_store(runtime, options);
    ASSERT_TRUE(store.ok()) << store.status().to_string();
    EXPECT_TRUE((*store)->salvaged());
    raft::RaftRecoveredState recovered = (*store)->take_recovered();
    // Cut at the first missing entry; the later batch's hard state is the current one.
    EXPECT_EQ(index_terms(recovered), (std::vector<std::pair<uint64_t, uint64_t>>{{1, 3}, {2, 3}, {3, 3}}));
    EXPECT_EQ(recovered.hard_state.term(), 3u);
    EXPECT_EQ(recovered.hard_state.commit(), 7u);
    EXPECT_EQ(recovered.hard_state.catch_up_term(), 3u) << "the replica must not vote until it caught up";
  }));
}

}  // namespace
}  // namespace cairn::replica
