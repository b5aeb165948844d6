// The SQLite key-value engine, case by case: MVCC reads, scans, validation of bad input, garbage
// collection, snapshots between engines, durability across a crash, corruption reported rather
// than served, and the sticky failure after a failed fsync.
#include <gtest/gtest.h>

#include "storage/kv/kv_engine.h"
#include "storage/kv/kv_snapshot.h"
#include "tests/storage/storage_harness.h"

namespace cairn::storage {
namespace {

using testing::SingleMachine;

// A batch at `timestamp` that records `index` under kAppliedKey, as a range records its applied
// index beside its data.
constexpr char kAppliedKey[] = "\xff\xff" "applied";

WriteBatch batch_at(Timestamp timestamp, uint64_t index) {
  WriteBatch batch;
  batch.commit_timestamp = timestamp;
  batch.put(kAppliedKey, std::to_string(index));
  return batch;
}

const KeySpan kEverything{.start = "", .end = ""};

std::unique_ptr<KvEngine> open_or_fail(Runtime& runtime, KvEngineOptions options = {}) {
  auto engine = KvEngine::open_engine(runtime, std::move(options));
  EXPECT_TRUE(engine.ok()) << engine.status();
  return engine.ok() ? std::move(*engine) : nullptr;
}

std::optional<std::string> value_at(KvEngine& engine, std::string_view key, Timestamp timestamp) {
  auto value = engine.get(key, timestamp);
  EXPECT_TRUE(value.ok()) << value.status();
  return value.ok() ? *value : std::nullopt;
}

uint64_t applied_index(KvEngine& engine) {
  const std::optional<std::string> applied = value_at(engine, kAppliedKey, kMaxTimestamp);
  return applied ? std::stoull(*applied) : 0;
}

TEST(KvEngine, ReadsSeeTheNewestVersionAtOrBelowTheirTimestamp) {
  SingleMachine machine(1);
  ASSERT_TRUE(machine.run([&](Runtime& runtime) {
    auto engine = open_or_fail(runtime);
    ASSERT_NE(engine, nullptr);
    WriteBatch first = batch_at(10, 1);
    first.put("a", "a10");
    first.put("b", "b10");
    ASSERT_TRUE(engine->apply(first).ok());
    WriteBatch second = batch_at(20, 2);
    second.put("a", "a20");
    second.remove("b");
    second.put("c", "");
    ASSERT_TRUE(engine->apply(second).ok());
    EXPECT_EQ(value_at(*engine, "a", 9), std::nullopt);
    EXPECT_EQ(value_at(*engine, "a", 10), "a10");
    EXPECT_EQ(value_at(*engine, "a", 19), "a10");
    EXPECT_EQ(value_at(*engine, "a", 20), "a20");
    EXPECT_EQ(value_at(*engine, "b", 15), "b10");
    EXPECT_EQ(value_at(*engine, "b", 25), std::nullopt);  // deleted at 20
    EXPECT_EQ(value_at(*engine, "c", 20), "");             // an empty value is a value
    EXPECT_EQ(applied_index(*engine), 2u);
  }));
}

TEST(KvEngine, ScansHonourBoundsDirectionLimitAndPrefix) {
  SingleMachine machine(2);
  ASSERT_TRUE(machine.run([&](Runtime& runtime) {
    auto engine = open_or_fail(runtime);
    ASSERT_NE(engine, nullptr);
    WriteBatch batch = batch_at(5, 1);
    for (const char* key : {"app/1", "app/2", "app/3", "apq", "b", "ap"}) batch.put(key, std::string("v-") + key);
    ASSERT_TRUE(engine->apply(batch).ok());
    WriteBatch later = batch_at(6, 2);
    later.remove("app/2");
    ASSERT_TRUE(engine->apply(later).ok());

    auto keys = [&](ScanOptions options) {
      auto found = engine->scan(options);
      EXPECT_TRUE(found.ok()) << found.status();
      std::vector<std::string> result;
      if (found.ok()) {
        for (const KvPair& pair : *found) result.push_back(pair.key);
      }
      return result;
    };
    EXPECT_EQ(keys(ScanOptions::with_prefix("app/", 6)), (std::vector<std::string>{"app/1", "app/3"}));
    EXPECT_EQ(keys(ScanOptions::with_prefix("app/", 5)), (std::vector<std::string>{"app/1", "app/2", "app/3"}));
    ScanOptions reverse = ScanOptions::with_prefix("ap", 6);
    reverse.reverse = true;
    EXPECT_EQ(keys(reverse), (std::vector<std::string>{"apq", "app/3", "app/1", "ap"}));
    reverse.limit = 2;
    EXPECT_EQ(keys(reverse), (std::vector<std::string>{"apq", "app/3"}));
    ScanOptions bounded{.start = "app/2", .end = "b", .read_timestamp = 5, .limit = 10, .reverse = false};
    EXPECT_EQ(keys(bounded), (std::vector<std::string>{"app/2", "app/3", "apq"}));
    ScanOptions everything{.start = "", .end = "\xff", .read_timestamp = 6, .limit = 100, .reverse = false};
    EXPECT_EQ(keys(everything).size(), 5u);
  }));
}

TEST(KvEngine, BadInputIsRejectedAndChangesNothing) {
  SingleMachine machine(3);
  ASSERT_TRUE(machine.run([&](Runtime& runtime) {
    auto engine = open_or_fail(runtime);
    ASSERT_NE(engine, nullptr);
    WriteBatch good = batch_at(5, 7);
    good.put("k", "v");
    ASSERT_TRUE(engine->apply(good).ok());

    WriteBatch zero_timestamp = batch_at(0, 8);
    zero_timestamp.put("k", "x");
    EXPECT_EQ(engine->apply(zero_timestamp).code(), StatusCode::kInvalidArgument);
    WriteBatch empty_key = batch_at(6, 8);
    empty_key.put("", "x");
    EXPECT_EQ(engine->apply(empty_key).code(), StatusCode::kInvalidArgument);
    WriteBatch huge_key = batch_at(6, 8);
    huge_key.put(std::string(limits::kKeyBytesMax + 1, 'k'), "x");
    EXPECT_EQ(engine->apply(huge_key).code(), StatusCode::kInvalidArgument);
    WriteBatch huge_value = batch_at(6, 8);
    huge_value.put("k", std::string(limits::kValueBytesMax + 1, 'v'));
    EXPECT_EQ(engine->apply(huge_value).code(), StatusCode::kInvalidArgument);
    WriteBatch far_future = batch_at(kMaxTimestamp + 1, 8);
    EXPECT_EQ(engine->apply(far_future).code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(engine->get("", 5).status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(engine->scan({.start = "", .end = "", .read_timestamp = 5, .limit = 0, .reverse = false}).status().code(),
              StatusCode::kInvalidArgument);

    EXPECT_TRUE(engine->failed_status().ok()) << "rejected input must not poison the engine";
    EXPECT_EQ(applied_index(*engine), 7u);
    EXPECT_EQ(value_at(*engine, "k", kMaxTimestamp), "v");
  }));
}

TEST(KvEngine, GarbageCollectionKeepsWhatReadsAtTheWatermarkSee) {
  SingleMachine machine(4);
  ASSERT_TRUE(machine.run([&](Runtime& runtime) {
    auto engine = open_or_fail(runtime);
    ASSERT_NE(engine, nullptr);
    uint64_t index = 0;
    for (Timestamp timestamp : {10, 20, 30}) {
      WriteBatch batch = batch_at(timestamp, ++index);
      batch.put("kept", "v" + std::to_string(timestamp));
      if (timestamp == 20) batch.remove("gone");
      if (timestamp == 10) batch.put("gone", "old");
      ASSERT_TRUE(engine->apply(batch).ok());
    }
    // A span collects only its own keys: [a, h) holds "gone", not "kept" nor the applied key.
    const KeySpan up_to_h{.start = "a", .end = "h"};
    const KeySpan user_keys{.start = "", .end = "\xff"};
    // Steps of one version, in key order, oldest first: gone@10, then the tombstone gone@20
    // (only after what it hid, which would otherwise read again); then nothing.
    for (uint64_t expected : {1u, 1u, 0u}) {
      auto dropped = engine->collect_garbage(up_to_h, 25, 1);
      ASSERT_TRUE(dropped.ok());
      EXPECT_EQ(*dropped, expected);
      EXPECT_EQ(value_at(*engine, "gone", 25), std::nullopt);
    }
    EXPECT_EQ(value_at(*engine, "kept", 10), "v10") << "outside the span";
    auto dropped = engine->collect_garbage(user_keys, 25, 100);
    ASSERT_TRUE(dropped.ok());
    EXPECT_EQ(*dropped, 1u) << "kept@10";
    EXPECT_EQ(engine->collect_garbage(user_keys, 25, 0).status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(engine->collect_garbage({.start = "b", .end = "a"}, 25, 1).status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(value_at(*engine, "kept", 25), "v20");
    EXPECT_EQ(value_at(*engine, "kept", 30), "v30");
    EXPECT_EQ(value_at(*engine, "gone", 25), std::nullopt);
    EXPECT_EQ(applied_index(*engine), 3u);
    auto chunks = engine->export_snapshot({user_keys}, 1 << 20);
    ASSERT_TRUE(chunks.ok());
    auto snapshot = decode_snapshot(*chunks);
    ASSERT_TRUE(snapshot.ok());
    // kept@30, kept@20 survive; kept@10 and both versions of "gone" are collected.
    EXPECT_EQ(snapshot->spans, std::vector<KeySpan>{user_keys});
    ASSERT_EQ(snapshot->versions.size(), 2u);
    EXPECT_EQ(snapshot->versions[0], (KvVersion{"kept", 30, "v30"}));
    EXPECT_EQ(snapshot->versions[1], (KvVersion{"kept", 20, "v20"}));
    // A lower watermark finds nothing more.
    dropped = engine->collect_garbage(user_keys, 5, 100);
    ASSERT_TRUE(dropped.ok());
    EXPECT_EQ(*dropped, 0u);
  }));
}

TEST(KvEngine, SnapshotMovesAStoreToAnotherEngineAndDamageIsRejected) {
  SingleMachine machine(5);
  ASSERT_TRUE(machine.run([&](Runtime& runtime) {
    auto source = open_or_fail(runtime, {.path = "a/data.db"});
    auto target = open_or_fail(runtime, {.path = "b/data.db"});
    ASSERT_TRUE(source && target);
    for (uint64_t index = 1; index <= 20; ++index) {
      WriteBatch batch = batch_at(index * 10, index);
      for (int key = 0; key < 50; ++key) {
        if ((key + index) % 7 == 0) batch.remove("key" + std::to_string(key));
        else batch.put("key" + std::to_string(key), std::string(100, static_cast<char>('a' + index)));
      }
      ASSERT_TRUE(source->apply(batch).ok());
    }
    ASSERT_TRUE(source->collect_garbage(kEverything, 100, 1'000'000).ok());
    // The target holds keys of its own outside the snapshot's spans, and some inside.
    WriteBatch own = batch_at(5, 1);
    own.put("zebra", "outside");
    own.put("key9", "replaced");
    own.put("key999", "deleted by the import");
    ASSERT_TRUE(target->apply(own).ok());
    const std::vector<KeySpan> spans = {{.start = "key", .end = "kez"}, {.start = "\xff", .end = ""}};
    auto chunks = source->export_snapshot(spans, 4096);
    ASSERT_TRUE(chunks.ok());
    ASSERT_GT(chunks->size(), 3u);

    EXPECT_EQ(source->export_snapshot({{.start = "a", .end = "c"}, {.start = "b", .end = "d"}}, 4096).status().code(),
              StatusCode::kInvalidArgument)
        << "overlapping spans";
    std::vector<std::string> flipped = *chunks;
    flipped[1][40] ^= 1;
    EXPECT_EQ(target->import_snapshot(flipped).code(), StatusCode::kCorruption);
    std::vector<std::string> reordered = *chunks;
    std::swap(reordered[0], reordered[1]);
    EXPECT_EQ(target->import_snapshot(reordered).code(), StatusCode::kCorruption);
    std::vector<std::string> truncated(chunks->begin(), chunks->end() - 1);
    EXPECT_EQ(target->import_snapshot(truncated).code(), StatusCode::kCorruption);
    EXPECT_EQ(applied_index(*target), 1u) << "a rejected snapshot must leave the store untouched";

    ASSERT_TRUE(target->import_snapshot(*chunks).ok());
    EXPECT_EQ(applied_index(*target), 20u);
    EXPECT_EQ(value_at(*target, "zebra", 200), "outside");
    EXPECT_EQ(value_at(*target, "key999", 200), std::nullopt);
    EXPECT_EQ(value_at(*target, "key9", 200), value_at(*source, "key9", 200));
    auto again = target->export_snapshot(spans, 4096);
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(*again, *chunks) << "the imported store must export the very same snapshot";
  }));
}

TEST(KvEngine, AppliedBatchesSurviveACrash) {
  SingleMachine machine(6);
  ASSERT_TRUE(machine.run([&](Runtime& runtime) {
    auto engine = open_or_fail(runtime);
    ASSERT_NE(engine, nullptr);
    for (uint64_t index = 1; index <= 30; ++index) {
      WriteBatch batch = batch_at(index, index);
      batch.put("counter", std::to_string(index));
      ASSERT_TRUE(engine->apply(batch).ok());
    }
  }));
  machine.crash();
  ASSERT_TRUE(machine.run([&](Runtime& runtime) {
    auto engine = open_or_fail(runtime);
    ASSERT_NE(engine, nullptr);
    EXPECT_EQ(applied_index(*engine), 30u);
    EXPECT_EQ(value_at(*engine, "counter", 100), "30");
    EXPECT_EQ(value_at(*engine, "counter", 12), "12");
  }));
}

TEST(KvEngine, CorruptPageIsReportedByReadsAndByTheIntegrityCheck) {
  SingleMachine machine(7);
  ASSERT_TRUE(machine.run([&](Runtime& runtime) {
    auto engine = open_or_fail(runtime);
    ASSERT_NE(engine, nullptr);
    WriteBatch batch = batch_at(1, 1);
    for (int key = 0; key < 300; ++key) batch.put("key" + std::to_string(key), std::string(200, 'x'));
    ASSERT_TRUE(engine->apply(batch).ok());
  }));
  machine.crash();
  const std::size_t pages = machine.durable_image("kv/data.db").size() / 4096;
  ASSERT_GT(pages, 5u);
  machine.flip_bit("kv/data.db", (pages - 2) * 4096 + 100, 0);
  ASSERT_TRUE(machine.run([&](Runtime& runtime) {
    auto engine = open_or_fail(runtime);
    ASSERT_NE(engine, nullptr);
    Status integrity = engine->verify_integrity();
    EXPECT_EQ(integrity.code(), StatusCode::kCorruption) << integrity;
    auto all = engine->scan({.start = "", .end = "", .read_timestamp = 1, .limit = 1000, .reverse = false});
    ASSERT_FALSE(all.ok()) << "a damaged page must not be served";
    EXPECT_EQ(all.status().code(), StatusCode::kCorruption) << all.status();
    EXPECT_NE(all.status().message().find("kv/data.db"), std::string::npos);
  }));
}

TEST(KvEngine, FailedSyncStopsTheEngineUntilReopenedAndLosesNothingAcknowledged) {
  sim::FaultPlan plan;  // the disk keeps a pointer to it: assigning a new plan changes the faults
  SingleMachine machine(8, &plan);
  ASSERT_TRUE(machine.run([&](Runtime& runtime) {
    auto engine = open_or_fail(runtime);
    ASSERT_NE(engine, nullptr);
    WriteBatch batch = batch_at(1, 1);
    batch.put("k", "acknowledged");
    ASSERT_TRUE(engine->apply(batch).ok());

    plan = sim::testing::plan_with(proto::DISK_SYNC_FAILURE, 1.0);
    WriteBatch failing = batch_at(2, 2);
    failing.put("k", "unacknowledged");
    failing.put("other", "unacknowledged");
    Status applied = engine->apply(failing);
    EXPECT_EQ(applied.code(), StatusCode::kIoError) << applied;
    EXPECT_NE(applied.message().find("fsync"), std::string::npos) << applied;
    plan = sim::FaultPlan();
    WriteBatch next = batch_at(3, 3);
    next.put("k", "refused");
    EXPECT_EQ(engine->apply(next).code(), StatusCode::kFailedPrecondition);
    EXPECT_EQ(engine->get("k", 3).status().code(), StatusCode::kFailedPrecondition);
  }));
  machine.crash();
  ASSERT_TRUE(machine.run([&](Runtime& runtime) {
    auto engine = open_or_fail(runtime);
    ASSERT_NE(engine, nullptr);
    // The failed batch is wholly there or wholly absent; the acknowledged one is there.
    const std::optional<std::string> k = value_at(*engine, "k", 10);
    const std::optional<std::string> other = value_at(*engine, "other", 10);
    if (applied_index(*engine) == 1) {
      EXPECT_EQ(k, "acknowledged");
      EXPECT_EQ(other, std::nullopt);
    } else {
      EXPECT_EQ(applied_index(*engine), 2u);
      EXPECT_EQ(k, "unacknowledged");
      EXPECT_EQ(other, "unacknowledged");
    }
    EXPECT_EQ(value_at(*engine, "k", 1), "acknowledged");
  }));
}

// Same seed, same run: the same trace and byte-identical files (SQLite's own random stream,
// which writes journal nonces, is seeded from the runtime). Another seed writes other keys.
TEST(KvEngine, SameSeedWritesTheSameBytes) {
  auto run = [](uint64_t seed) {
    SingleMachine machine(seed);
    machine.run([&](Runtime& runtime) {
      auto engine = open_or_fail(runtime);
      for (uint64_t index = 1; index <= 10 && engine; ++index) {
        WriteBatch batch = batch_at(index, index);
        batch.put("k" + std::to_string(runtime.random().uniform(1000)), "v");
        EXPECT_TRUE(engine->apply(batch).ok());
      }
    });
    machine.crash();
    return std::make_tuple(machine.simulator().trace().hash(), machine.durable_image("kv/data.db"),
                           machine.durable_image("kv/data.db-journal"));
  };
  const auto first = run(21);
  EXPECT_EQ(first, run(21));
  EXPECT_NE(std::get<1>(first), std::get<1>(run(22)));
}

}  // namespace
}  // namespace cairn::storage
