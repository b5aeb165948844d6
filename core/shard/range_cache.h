// RangeCache: the router's picture of which range holds which key (CockroachDB's range cache).
//
// Descriptors come from the metadata range's addressing records and from range errors, in any
// order, some of them stale. The cache keeps them by end key and never holds two that overlap:
// a descriptor is taken only if no cached one it overlaps is newer (of a higher generation,
// range_descriptor.h), and then it replaces every one it overlaps. So a descriptor of the
// present (one no split or merge has replaced) is never pushed out by an older one, whatever
// the order they arrive in; a stale one stays only until a newer one overlapping it arrives or
// a range error evicts it. Beyond entries_max, the least recently used entry goes.
//
// Not thread-safe: one router fiber owns it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/proto/kv.pb.h"
#include "core/runtime/limits.h"

namespace cairn::shard {

class RangeCache {
 public:
  explicit RangeCache(std::size_t entries_max = limits::kRangeCacheEntriesMaxDefault);

  // The cached descriptor of the range holding `key`, or nullptr. Marks it used.
  const proto::RangeDescriptor* lookup(std::string_view key);

  // Takes `descriptor` (valid: validate_range_descriptor) unless an overlapping cached one is
  // newer; returns whether it was taken. Equal to a cached one: taken, nothing changes.
  bool insert(const proto::RangeDescriptor& descriptor);

  // Forgets range `range_id` if its cached generation is `generation` or older (a range error
  // or a request that failed on it said it changed). Returns whether an entry went.
  bool evict(uint64_t range_id, uint64_t generation);

  std::size_t size() const { return by_end_key_.size(); }
  std::size_t entries_max() const { return entries_max_; }
  // Every cached descriptor, in key order (for status pages and tests).
  std::vector<proto::RangeDescriptor> descriptors() const;

 private:
  struct Entry {
    proto::RangeDescriptor descriptor;
    std::list<std::string>::iterator recency;  // its end key's place in recency_
  };
  using Entries = std::map<std::string, Entry, std::less<>>;

  // The cached entries that overlap [start, end), in key order.
  std::vector<Entries::iterator> overlapping(std::string_view start, std::string_view end);
  void erase(Entries::iterator entry);
  void touch(Entry& entry);

  std::size_t entries_max_;
  Entries by_end_key_;
  std::list<std::string> recency_;  // end keys, most recently used first
  std::unordered_map<uint64_t, std::string> end_key_by_range_;
};

}  // namespace cairn::shard
