// Random histories of a key space under splits and merges, following the generation rule of
// core/shard/range_descriptor.h, for the range cache's and the range-ownership oracle's tests.
#pragma once

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "core/kv/range_keys.h"
#include "core/proto/kv.pb.h"
#include "core/runtime/random.h"
#include "core/shard/range_descriptor.h"

namespace cairn::shard::testing {

inline proto::RangeDescriptor range_on_three_nodes(uint64_t id, std::string start, std::string end,
                                                   uint64_t generation) {
  proto::RangeDescriptor descriptor;
  descriptor.set_range_id(id);
  descriptor.set_start_key(std::move(start));
  descriptor.set_end_key(std::move(end));
  descriptor.set_generation(generation);
  for (uint64_t node : {1, 2, 3}) descriptor.add_replicas()->set_node(node);
  return descriptor;
}

struct RangeHistory {
  std::vector<std::vector<proto::RangeDescriptor>> steps;  // the first: the bootstrap range
  std::vector<proto::RangeDescriptor> all;                 // every descriptor, in order
  std::map<std::string, proto::RangeDescriptor> present;   // the ranges at the end, by start key
};

inline std::string random_history_key(Random& random) {
  std::string key;
  const uint64_t length = 1 + random.uniform(3);
  for (uint64_t i = 0; i < length; ++i) key += static_cast<char>('a' + random.uniform(8));
  return key;
}

// One range over the client and system keys, then `steps` attempts at a split (two in three)
// or a merge with the right-hand neighbour. A split's halves take the parent's generation + 1
// (the left keeps its id), a merge the higher of the two + 1.
inline RangeHistory random_range_history(Random& random, int steps) {
  RangeHistory history;
  uint64_t next_id = 2;
  const auto record = [&](std::vector<proto::RangeDescriptor> step) {
    for (const proto::RangeDescriptor& descriptor : step) {
      history.all.push_back(descriptor);
      history.present[descriptor.start_key()] = descriptor;
    }
    history.steps.push_back(std::move(step));
  };
  record({range_on_three_nodes(1, "", std::string(kv::kReservedKeyPrefix), 1)});
  for (int step = 0; step < steps; ++step) {
    auto chosen = std::next(history.present.begin(), static_cast<long>(random.uniform(history.present.size())));
    const proto::RangeDescriptor parent = chosen->second;
    if (random.uniform(3) != 0 || history.present.size() == 1) {
      // A key inside the range: its start key with a suffix (beyond its end only now and then).
      const std::string split_key = parent.start_key() + random_history_key(random);
      if (!contains(parent, split_key)) continue;
      record({range_on_three_nodes(parent.range_id(), parent.start_key(), split_key, parent.generation() + 1),
              range_on_three_nodes(next_id++, split_key, parent.end_key(), parent.generation() + 1)});
    } else {
      auto right_it = std::next(chosen);
      if (right_it == history.present.end()) continue;
      const proto::RangeDescriptor right = right_it->second;
      history.present.erase(right_it);
      record({range_on_three_nodes(parent.range_id(), parent.start_key(), right.end_key(),
                                   std::max(parent.generation(), right.generation()) + 1)});
    }
  }
  return history;
}

}  // namespace cairn::shard::testing
