// Range descriptors: which keys a range holds, at which generation, on which nodes.
//
// A range holds the stored keys [start_key, end_key) (core/kv/range_keys.h lays them out: client
// keys under their keyspace's prefix, then the system keys; the range-local records after them
// belong to no span). Its generation grows with every split and merge that changes its span: the
// two halves of a split both take the parent's generation + 1, a merged range takes the higher of
// the two + 1. So of two descriptors that overlap, the one of the higher generation is the newer
// (CockroachDB's rule), which lets a router that heard of both, in any order, keep the right one
// (range_cache.h), and lets a replica tell a sender whose picture is stale.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/proto/kv.pb.h"
#include "core/runtime/status.h"

namespace cairn::shard {

// INVALID_ARGUMENT, naming the field, unless: the range id and the generation are not 0, the
// span is not empty and ends at or before the range-local keys, there are at most
// limits::kRangeReplicasMax replicas, on distinct nodes (not 0), and at least one is a voter.
Status validate_range_descriptor(const proto::RangeDescriptor& descriptor);

// Whether the range holds `key`.
bool contains(const proto::RangeDescriptor& descriptor, std::string_view key);

// Whether the two ranges hold a key in common.
bool overlaps(const proto::RangeDescriptor& a, const proto::RangeDescriptor& b);

// A key as text for errors and logs: printable ASCII as it is, other bytes as \xNN.
std::string printable_key(std::string_view key);

// "range 7 [\"a\", \"m\") gen 3" with the keys printable, for errors and logs.
std::string describe(const proto::RangeDescriptor& descriptor);

}  // namespace cairn::shard
