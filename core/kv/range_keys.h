// The layout of the keys in a node's store, which holds the data of every range the node hosts
// in one MVCC engine (storage/kv/kv_store.h):
//
//   [ "",              "\xff\xff" )   client keys, each under its keyspace's prefix: the
//                                     keyspace id, 4 bytes big-endian (ids 1 to 2^24, so
//                                     that every prefix sorts below the system keys)
//   [ "\xff\xff",      "\xff\xffr" )  system keys that ranges own like client keys (the node
//                                     registry, and the metadata's addressing records)
//   [ "\xff\xffr",     "\xff\xffs" )  range-local records: "\xff\xffr" <range id, 8 bytes
//                                     big-endian> <name>, one prefix per range
//
// Ranges divide the addressable keys (the first two spans) among themselves by their
// descriptors; each keeps its applied index, commit timestamp, garbage watermark and
// deduplication records under its own range-local prefix, beside its data, so that a batch
// commits both at once and a split or merge rewrites records, never data.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/runtime/limits.h"
#include "storage/kv/kv_types.h"

namespace cairn::kv {

// Keys that clients may not write: everything from here on.
inline constexpr std::string_view kReservedKeyPrefix = "\xff\xff";
inline constexpr std::string_view kRangeLocalKeysStart = "\xff\xffr";
inline constexpr std::string_view kRangeLocalKeysEnd = "\xff\xffs";

inline constexpr std::size_t kKeyspacePrefixBytes = 4;
inline constexpr uint64_t kKeyspaceIdMax = uint64_t{1} << 24;
static_assert(kKeyspacePrefixBytes + limits::kClientKeyBytesMax <= limits::kKeyBytesMax,
              "a client key under its keyspace prefix is a storable key");

// The client keys of keyspace `keyspace` (1 to kKeyspaceIdMax) are stored under this prefix.
std::string keyspace_prefix(uint64_t keyspace);
storage::KeySpan keyspace_span(uint64_t keyspace);
// The system keys that ranges own like client keys (the node registry).
storage::KeySpan system_span();
std::string range_local_prefix(uint64_t range_id);
std::string range_local_key(uint64_t range_id, std::string_view name);
storage::KeySpan range_local_span(uint64_t range_id);

}  // namespace cairn::kv
