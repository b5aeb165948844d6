// The router's range cache (core/shard/range_cache.h) and range descriptors
// (core/shard/range_descriptor.h): edges by hand, and a property over random histories of
// splits and merges whose descriptors reach the cache in any order.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <map>
#include <set>

#include "core/kv/range_keys.h"
#include "core/runtime/random.h"
#include "core/shard/range_cache.h"
#include "core/shard/range_descriptor.h"
#include "tests/shard/random_range_history.h"

namespace cairn::shard {
namespace {

using testing::RangeHistory;
using testing::random_history_key;
using testing::random_range_history;
constexpr auto range = testing::range_on_three_nodes;

TEST(RangeDescriptor, ValidationNamesWhatIsWrong) {
  EXPECT_TRUE(validate_range_descriptor(range(1, "", "m", 1)).ok());
  EXPECT_TRUE(validate_range_descriptor(range(1, "a", std::string(kv::kRangeLocalKeysStart), 1)).ok());
  const auto error = [](const proto::RangeDescriptor& descriptor) {
    return validate_range_descriptor(descriptor).to_string();
  };
  EXPECT_NE(error(range(0, "a", "b", 1)).find("range_id is 0"), std::string::npos);
  EXPECT_NE(error(range(1, "a", "b", 0)).find("generation is 0"), std::string::npos);
  EXPECT_NE(error(range(1, "b", "b", 1)).find("the span is empty"), std::string::npos);
  EXPECT_NE(error(range(1, "c", "b", 1)).find("the span is empty"), std::string::npos);
  EXPECT_NE(error(range(1, "a", "\xff\xffs", 1)).find("range-local keys"), std::string::npos);
  proto::RangeDescriptor twice = range(1, "a", "b", 1);
  twice.add_replicas()->set_node(2);
  EXPECT_NE(error(twice).find("node 2 holds two replicas"), std::string::npos);
  proto::RangeDescriptor learners = range(1, "a", "b", 1);
  for (auto& replica : *learners.mutable_replicas()) replica.set_learner(true);
  EXPECT_NE(error(learners).find("no voter"), std::string::npos);
  proto::RangeDescriptor crowded = range(1, "a", "b", 1);
  for (uint64_t node = 4; node <= limits::kRangeReplicasMax + 1; ++node) crowded.add_replicas()->set_node(node);
  EXPECT_NE(error(crowded).find("replicas"), std::string::npos);
  EXPECT_NE(error(range(1, "a\x01", "b", 0)).find("range 1 [\"a\\x01\", \"b\") gen 0"), std::string::npos);
}

TEST(RangeDescriptor, SpansAreHalfOpen) {
  const proto::RangeDescriptor left = range(1, "a", "m", 1);
  EXPECT_TRUE(contains(left, "a"));
  EXPECT_TRUE(contains(left, "l\xff"));
  EXPECT_FALSE(contains(left, "m"));
  EXPECT_FALSE(contains(left, ""));
  EXPECT_FALSE(overlaps(left, range(2, "m", "z", 1)));
  EXPECT_TRUE(overlaps(left, range(2, "l", "z", 1)));
  EXPECT_TRUE(overlaps(left, range(2, "b", "c", 1)));
}

TEST(RangeCache, LooksUpTheRangeHoldingAKey) {
  RangeCache cache;
  EXPECT_TRUE(cache.insert(range(1, "", "g", 2)));
  EXPECT_TRUE(cache.insert(range(2, "m", "t", 2)));
  EXPECT_EQ(cache.lookup("")->range_id(), 1u);
  EXPECT_EQ(cache.lookup("f")->range_id(), 1u);
  EXPECT_EQ(cache.lookup("g"), nullptr);  // a gap: no range known
  EXPECT_EQ(cache.lookup("m")->range_id(), 2u);
  EXPECT_EQ(cache.lookup("t"), nullptr);
}

TEST(RangeCache, ANewerGenerationReplacesWhatItOverlapsAndAnOlderOneIsRefused) {
  RangeCache cache;
  ASSERT_TRUE(cache.insert(range(1, "a", "z", 1)));
  // The split's halves, right one first.
  EXPECT_TRUE(cache.insert(range(2, "m", "z", 2)));
  EXPECT_EQ(cache.size(), 1u);  // the parent is gone: it overlapped
  EXPECT_EQ(cache.lookup("c"), nullptr);
  EXPECT_FALSE(cache.insert(range(1, "a", "z", 1)));  // the parent again, late: refused
  EXPECT_TRUE(cache.insert(range(1, "a", "m", 2)));
  EXPECT_EQ(cache.lookup("c")->range_id(), 1u);
  EXPECT_EQ(cache.lookup("q")->range_id(), 2u);
  // The merge back: range 1 takes the higher generation + 1.
  EXPECT_TRUE(cache.insert(range(1, "a", "z", 3)));
  EXPECT_EQ(cache.size(), 1u);
  EXPECT_EQ(cache.lookup("q")->range_id(), 1u);
}

TEST(RangeCache, ARangeIdSeenElsewhereAtALowerGenerationIsReplaced) {
  RangeCache cache;
  ASSERT_TRUE(cache.insert(range(5, "a", "c", 4)));
  EXPECT_TRUE(cache.insert(range(5, "x", "y", 6)));  // the same range, moved on: the old span goes
  EXPECT_EQ(cache.size(), 1u);
  EXPECT_EQ(cache.lookup("b"), nullptr);
  EXPECT_FALSE(cache.insert(range(5, "a", "c", 4)));
}

TEST(RangeCache, TheSameDescriptorUpdatesItsReplicas) {
  RangeCache cache;
  ASSERT_TRUE(cache.insert(range(1, "a", "z", 1)));
  proto::RangeDescriptor moved = range(1, "a", "z", 1);
  moved.mutable_replicas(0)->set_node(9);
  EXPECT_TRUE(cache.insert(moved));
  EXPECT_EQ(cache.lookup("b")->replicas(0).node(), 9u);
}

TEST(RangeCache, EvictForgetsOnlyWhatIsNotNewer) {
  RangeCache cache;
  ASSERT_TRUE(cache.insert(range(1, "a", "m", 3)));
  EXPECT_FALSE(cache.evict(1, 2));  // the error was about an older generation
  EXPECT_FALSE(cache.evict(7, 9));  // not cached
  EXPECT_TRUE(cache.evict(1, 3));
  EXPECT_EQ(cache.size(), 0u);
  EXPECT_EQ(cache.lookup("b"), nullptr);
}

TEST(RangeCache, TheLeastRecentlyUsedEntryGoesAtTheLimit) {
  RangeCache cache(2);
  ASSERT_TRUE(cache.insert(range(1, "a", "b", 1)));
  ASSERT_TRUE(cache.insert(range(2, "b", "c", 1)));
  ASSERT_NE(cache.lookup("a"), nullptr);  // range 1 is now the most recent
  ASSERT_TRUE(cache.insert(range(3, "c", "d", 1)));
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_NE(cache.lookup("a"), nullptr);
  EXPECT_EQ(cache.lookup("b"), nullptr);
  EXPECT_NE(cache.lookup("c"), nullptr);
}

// What the property asserts, or the first way it failed.
std::string check_cache_after_arrivals(uint64_t seed) {
  Random random(seed);
  const RangeHistory history = random_range_history(random, 1 + static_cast<int>(random.uniform(80)));
  // Some of the history's descriptors, some twice, and every one of the present, in any order.
  std::vector<proto::RangeDescriptor> arrivals;
  for (const proto::RangeDescriptor& descriptor : history.all) {
    for (uint64_t copies = random.uniform(3); copies > 0; --copies) arrivals.push_back(descriptor);
  }
  for (const auto& [start, descriptor] : history.present) arrivals.push_back(descriptor);
  for (std::size_t i = arrivals.size(); i > 1; --i) std::swap(arrivals[i - 1], arrivals[random.uniform(i)]);
  RangeCache cache;
  for (const proto::RangeDescriptor& descriptor : arrivals) cache.insert(descriptor);

  const std::vector<proto::RangeDescriptor> cached = cache.descriptors();
  for (std::size_t i = 0; i + 1 < cached.size(); ++i) {
    if (cached[i].end_key() > cached[i + 1].start_key()) {
      return describe(cached[i]) + " overlaps " + describe(cached[i + 1]);
    }
  }
  for (const proto::RangeDescriptor& descriptor : cached) {
    const bool known = std::any_of(history.all.begin(), history.all.end(), [&](const proto::RangeDescriptor& past) {
      return past.SerializeAsString() == descriptor.SerializeAsString();
    });
    if (!known) return describe(descriptor) + " was never in the history";
  }
  for (const auto& [start, descriptor] : history.present) {
    const proto::RangeDescriptor* found = cache.lookup(descriptor.start_key());
    if (found == nullptr || found->SerializeAsString() != descriptor.SerializeAsString()) {
      return describe(descriptor) + ", of the present, is not what its start key finds";
    }
  }
  if (cached.size() != history.present.size()) return "the cache holds stale ranges beside the present ones";
  for (int probe = 0; probe < 20; ++probe) {
    const std::string key = random.uniform(4) == 0 ? "" : random_history_key(random);
    const proto::RangeDescriptor* found = cache.lookup(key);
    if (found == nullptr || !contains(*found, key)) return "key '" + key + "' finds no range holding it";
  }
  return "";
}

RC_GTEST_PROP(RangeCacheProperty, DescriptorsOfThePresentStayCachedWhateverTheOrderTheyArriveIn, ()) {
  const uint64_t seed = *rc::gen::arbitrary<uint64_t>();
  const std::string failure = check_cache_after_arrivals(seed);
  RC_ASSERT(failure == std::string());  // (RapidCheck prints the failure)
}

// The property's reach: its histories do split and merge into many ranges.
TEST(RangeCacheProperty, HistoriesReachManyRangesAndReplaceMany) {
  std::size_t most_present = 0;
  std::size_t most_replaced = 0;
  for (uint64_t seed = 1; seed <= 100; ++seed) {
    Random random(seed);
    const RangeHistory history = random_range_history(random, 80);
    most_present = std::max(most_present, history.present.size());
    most_replaced = std::max(most_replaced, history.all.size() - history.present.size());
  }
  EXPECT_GE(most_present, 15u);
  EXPECT_GE(most_replaced, 40u);
}

}  // namespace
}  // namespace cairn::shard
