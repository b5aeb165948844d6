// StoreLog (core/node/store_log.h): every range's Raft state in one write-ahead log. The property
// test runs random sequences of saves (hard states, entries that overwrite a suffix), snapshots
// (compactions and installs), removals, purges with tiny segments, and restarts, across a dozen
// ranges, and after every restart compares what the log recovers for each range with a model.
// Unit tests: one sync for many ranges, the single-group format refused, a quiet range's records
// moved forward so that old segments can go.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "core/node/store_log.h"
#include "core/runtime/random.h"
#include "storage/wal/wal_format.h"
#include "tests/storage/storage_harness.h"

namespace cairn::node {
namespace {

using storage::testing::SingleMachine;

StoreLogOptions small_segments() {
  StoreLogOptions options;
  options.segment_bytes = 16 << 10;
  options.segments_kept = 2;
  options.rewrite_records_max = 64;
  return options;
}

proto::RaftEntry entry_at(uint64_t index, uint64_t term, std::string data) {
  proto::RaftEntry entry;
  entry.set_index(index);
  entry.set_term(term);
  entry.set_data(std::move(data));
  return entry;
}

proto::RaftHardState hard_state(uint64_t term, uint64_t vote, uint64_t commit) {
  proto::RaftHardState state;
  state.set_term(term);
  state.set_vote(vote);
  state.set_commit(commit);
  return state;
}

// What a range's log must recover to.
struct ModelRange {
  proto::RaftHardState hard_state;
  proto::RaftSnapshotMetadata snapshot;
  std::vector<proto::RaftEntry> entries;  // after the snapshot
  uint64_t last_index() const { return snapshot.index() + entries.size(); }
};

std::string describe(const raft::RaftRecoveredState& state) {
  std::string text = "hard_state{" + state.hard_state.ShortDebugString() + "} snapshot " +
                     std::to_string(state.snapshot.index()) + " entries";
  for (const proto::RaftEntry& entry : state.entries) text += " " + std::to_string(entry.index()) + "@" + std::to_string(entry.term());
  return text;
}

std::string describe(const ModelRange& model) {
  raft::RaftRecoveredState state;
  state.hard_state = model.hard_state;
  state.snapshot = model.snapshot;
  state.entries = model.entries;
  return describe(state);
}

// Runs `steps` random operations with `seed`; returns the first disagreement with the model.
std::string run_schedule(uint64_t seed, int steps) {
  SingleMachine machine(seed);
  Random random(seed);
  std::map<RangeId, ModelRange> model;
  std::string failure;
  const auto check = [&](StoreLog& log) {
    std::vector<RangeId> expected;
    for (const auto& [range, state] : model) expected.push_back(range);
    if (log.ranges() != expected) failure = "the log holds other ranges than the model";
    for (auto& [range, state] : model) {
      const raft::RaftRecoveredState recovered = log.take_recovered(range);
      if (describe(recovered) != describe(state)) {
        failure = "range " + std::to_string(range) + " recovered " + describe(recovered) + ", expected " + describe(state);
      }
    }
  };
  int done = 0;
  while (done < steps && failure.empty()) {
    const bool finished = machine.run([&](Runtime& runtime) {
      auto opened = StoreLog::open_log(runtime, small_segments());
      if (!opened.ok()) {
        failure = "open: " + opened.status().to_string();
        return;
      }
      StoreLog& log = **opened;
      check(log);
      while (done < steps && failure.empty()) {
        ++done;
        const RangeId range = 1 + random.uniform(12);
        const auto held = model.find(range);
        const uint64_t roll = random.uniform(100);
        Status status;
        if (roll < 60) {
          // A persist: new entries from some index after the snapshot (overwriting a suffix) and
          // the hard state, as a driver writes them; now and then a hard state alone.
          ModelRange& state = model[range];
          const uint64_t first = state.snapshot.index() + 1 + random.uniform(state.entries.size() + 1);
          const uint64_t term = state.hard_state.term() + random.uniform(2);
          std::vector<proto::RaftEntry> entries;
          for (std::size_t i = 0, count = 1 + random.uniform(3); i < count; ++i) {
            entries.push_back(entry_at(first + i, term, std::string(random.uniform(300), 'x')));
          }
          if (random.uniform(4) == 0) entries.clear();
          if (!entries.empty()) {
            state.entries.resize(first - state.snapshot.index() - 1);
            state.entries.insert(state.entries.end(), entries.begin(), entries.end());
          }
          state.hard_state = hard_state(term, random.uniform(4), state.last_index());
          std::vector<RangeLogWrite> writes = {RangeLogWrite{.range = range, .hard_state = state.hard_state, .entries = entries}};
          // Ranges are saved together now and then, as the Store's loop does.
          const RangeId other = 1 + random.uniform(12);
          if (other != range && random.uniform(3) == 0) {
            ModelRange& other_state = model[other];
            other_state.hard_state = hard_state(other_state.hard_state.term() + 1, 0, other_state.last_index());
            writes.push_back(RangeLogWrite{.range = other, .hard_state = other_state.hard_state});
          }
          status = log.save(writes);
        } else if (roll < 72 && held != model.end()) {
          // A compaction up to some held index, or a snapshot installed that replaces the log.
          ModelRange& state = held->second;
          const bool install = random.uniform(3) == 0;
          const uint64_t index = install ? state.last_index() + random.uniform(5)
                                         : state.snapshot.index() + random.uniform(state.entries.size() + 1);
          proto::RaftSnapshotMetadata snapshot;
          snapshot.set_index(index);
          snapshot.set_term(state.hard_state.term());
          snapshot.mutable_membership()->add_voters(1);
          if (install) {
            state.entries.clear();
          } else {
            state.entries.erase(state.entries.begin(),
                                state.entries.begin() + static_cast<std::ptrdiff_t>(index - state.snapshot.index()));
          }
          state.snapshot = snapshot;
          status = log.save_snapshot(range, snapshot, install, state.hard_state);
        } else if (roll < 76 && held != model.end()) {
          model.erase(held);
          status = log.remove_range(range);
        } else if (roll < 94) {
          status = log.purge();
        } else {
          return;  // restart
        }
        if (!status.ok()) failure = "operation " + std::to_string(done) + ": " + status.to_string();
      }
    });
    if (!finished && failure.empty()) failure = "a run did not finish";
  }
  if (!failure.empty()) return failure;
  // A last restart, then the whole model must be there.
  machine.run([&](Runtime& runtime) {
    auto opened = StoreLog::open_log(runtime, small_segments());
    if (!opened.ok()) {
      failure = "open: " + opened.status().to_string();
      return;
    }
    check(**opened);
  });
  return failure;
}

RC_GTEST_PROP(StoreLogProperty, EveryRangeRecoversWhatItSavedThroughPurgesAndRestarts, ()) {
  const uint64_t seed = *rc::gen::arbitrary<uint64_t>();
  const std::string failure = run_schedule(seed, 200 + static_cast<int>(seed % 400));
  RC_ASSERT(failure.empty());
}

TEST(StoreLog, ManyRangesPersistInOneSync) {
  SingleMachine machine(1);
  ASSERT_TRUE(machine.run([&](Runtime& runtime) {
    auto log = StoreLog::open_log(runtime, StoreLogOptions{});
    ASSERT_TRUE(log.ok()) << log.status().to_string();
    const uint64_t syncs_before = runtime.metrics().counter("cairn_wal_syncs_total", "").value();
    std::vector<RangeLogWrite> writes;
    for (RangeId range = 1; range <= 100; ++range) {
      writes.push_back(RangeLogWrite{.range = range, .hard_state = hard_state(1, 1, 1), .entries = {entry_at(1, 1, "a")}});
    }
    ASSERT_TRUE((*log)->save(writes).ok());
    EXPECT_EQ(runtime.metrics().counter("cairn_wal_syncs_total", "").value(), syncs_before + 1);
    EXPECT_EQ((*log)->ranges().size(), 100u);
  }));
}

TEST(StoreLog, ALogOfTheSingleGroupFormatIsRefusedWithAClearMessage) {
  SingleMachine machine(2);
  ASSERT_TRUE(machine.run([&](Runtime& runtime) {
    WalOptions options;
    options.directory = "store/wal";
    ASSERT_TRUE(runtime.file_system().create_directory("store").ok());
    auto wal = WriteAheadLog::open_log(runtime, options);
    ASSERT_TRUE(wal.ok());
    const std::string entry = entry_at(1, 1, "old").SerializeAsString();
    ASSERT_TRUE((*wal)->append(kWalRecordEntry, as_bytes(entry)).ok());
  }));
  ASSERT_TRUE(machine.run([&](Runtime& runtime) {
    auto log = StoreLog::open_log(runtime, StoreLogOptions{});
    ASSERT_FALSE(log.ok());
    EXPECT_EQ(log.status().code(), StatusCode::kFailedPrecondition);
    EXPECT_NE(log.status().message().find("single-group format"), std::string::npos) << log.status().to_string();
  }));
}

TEST(StoreLog, AQuietRangeIsMovedForwardSoThatOldSegmentsGo) {
  SingleMachine machine(3);
  ASSERT_TRUE(machine.run([&](Runtime& runtime) {
    auto log = StoreLog::open_log(runtime, small_segments());
    ASSERT_TRUE(log.ok());
    // Range 1 writes once and falls quiet; range 2 keeps writing and compacting.
    ASSERT_TRUE((*log)->save(std::vector<RangeLogWrite>{{.range = 1, .hard_state = hard_state(3, 1, 0)}}).ok());
    proto::RaftSnapshotMetadata snapshot;
    for (uint64_t index = 1; index <= 200; ++index) {
      ASSERT_TRUE((*log)->save(std::vector<RangeLogWrite>{{.range = 2, .hard_state = hard_state(1, 2, index),
                                                            .entries = {entry_at(index, 1, std::string(200, 'y'))}}})
                      .ok());
      snapshot.set_index(index);
      snapshot.set_term(1);
      ASSERT_TRUE((*log)->save_snapshot(2, snapshot, false, hard_state(1, 2, index)).ok());
      ASSERT_TRUE((*log)->purge().ok());
    }
    EXPECT_GT((*log)->stats().records_rewritten, 0u) << "range 1's hard state was never moved forward";
    EXPECT_LE((*log)->stats().segments, 3u) << "old segments were kept for a quiet range";
  }));
  ASSERT_TRUE(machine.run([&](Runtime& runtime) {
    auto log = StoreLog::open_log(runtime, small_segments());
    ASSERT_TRUE(log.ok());
    EXPECT_EQ((*log)->take_recovered(1).hard_state.term(), 3u) << "the quiet range lost its hard state";
    EXPECT_EQ((*log)->take_recovered(2).snapshot.index(), 200u);
  }));
}

// Damage in the middle of the log cannot say whose records it took: every range catches up.
TEST(StoreLog, DamageInTheMiddleMarksEveryRangeAsCatchingUp) {
  SingleMachine machine(4);
  ASSERT_TRUE(machine.run([&](Runtime& runtime) {
    auto log = StoreLog::open_log(runtime, StoreLogOptions{});
    ASSERT_TRUE(log.ok());
    for (uint64_t index = 1; index <= 3; ++index) {
      ASSERT_TRUE((*log)->save(std::vector<RangeLogWrite>{
                                   {.range = 1, .hard_state = hard_state(2, 1, 0), .entries = {entry_at(index, 2, "a")}},
                                   {.range = 2, .hard_state = hard_state(5, 2, 0), .entries = {entry_at(index, 5, "b")}}})
                      .ok());
    }
  }));
  // The first batch (block 1 of the first segment) is damaged; the later ones vouch that it was synced.
  machine.flip_bit(wal::segment_path("store/wal", 1), wal::kBlockSize + wal::kBatchHeaderSize + wal::kRecordHeaderSize + 4, 3);
  ASSERT_TRUE(machine.run([&](Runtime& runtime) {
    auto log = StoreLog::open_log(runtime, StoreLogOptions{});
    ASSERT_TRUE(log.ok()) << log.status().to_string();
    EXPECT_TRUE((*log)->salvaged());
    for (RangeId range : {RangeId{1}, RangeId{2}}) {
      const raft::RaftRecoveredState recovered = (*log)->take_recovered(range);
      EXPECT_GE(recovered.hard_state.catch_up_term(), 1u) << "range " << range << " would vote with entries it may have lost";
    }
  }));
}

}  // namespace
}  // namespace cairn::node
