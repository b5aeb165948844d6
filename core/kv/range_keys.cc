// The key layout of a node's store (range_keys.h).
#include "core/kv/range_keys.h"

#include "core/runtime/assert.h"

namespace cairn::kv {

std::string keyspace_prefix(uint64_t keyspace) {
  CAIRN_ASSERT(keyspace >= 1 && keyspace <= kKeyspaceIdMax, "keyspace ids are 1 to 2^24");
  std::string prefix;
  for (int shift = 24; shift >= 0; shift -= 8) prefix.push_back(static_cast<char>((keyspace >> shift) & 0xff));
  CAIRN_ASSERT(prefix.size() == kKeyspacePrefixBytes && prefix < kReservedKeyPrefix);
  return prefix;
}

storage::KeySpan keyspace_span(uint64_t keyspace) {
  return {.start = keyspace_prefix(keyspace), .end = storage::prefix_successor(keyspace_prefix(keyspace))};
}

storage::KeySpan system_span() {
  return {.start = std::string(kReservedKeyPrefix), .end = std::string(kRangeLocalKeysStart)};
}

std::string range_local_prefix(uint64_t range_id) {
  CAIRN_ASSERT(range_id != 0, "range ids start at 1");
  std::string prefix(kRangeLocalKeysStart);
  for (int shift = 56; shift >= 0; shift -= 8) prefix.push_back(static_cast<char>((range_id >> shift) & 0xff));
  return prefix;
}

std::string range_local_key(uint64_t range_id, std::string_view name) {
  CAIRN_ASSERT(!name.empty(), "a range-local record has a name");
  return range_local_prefix(range_id) + std::string(name);
}

storage::KeySpan range_local_span(uint64_t range_id) {
  const std::string prefix = range_local_prefix(range_id);
  storage::KeySpan span{.start = prefix, .end = storage::prefix_successor(prefix)};
  CAIRN_ASSERT(span.end <= kRangeLocalKeysEnd, "range-local keys stay in their span");
  return span;
}

}  // namespace cairn::kv
