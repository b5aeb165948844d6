// RangeCache: descriptors by end key, the newest generation winning (see range_cache.h).
#include "core/shard/range_cache.h"

#include <algorithm>

#include "core/runtime/assert.h"
#include "core/shard/range_descriptor.h"

namespace cairn::shard {

RangeCache::RangeCache(std::size_t entries_max) : entries_max_(entries_max) {
  CAIRN_ASSERT(entries_max_ > 0, "a range cache holds at least one entry");
}

const proto::RangeDescriptor* RangeCache::lookup(std::string_view key) {
  // The first range ending after the key is the only one that can hold it.
  auto found = by_end_key_.upper_bound(key);
  if (found == by_end_key_.end() || !contains(found->second.descriptor, key)) return nullptr;
  CAIRN_ASSERT(found->first == found->second.descriptor.end_key(), "an entry is filed under its end key");
  touch(found->second);
  return &found->second.descriptor;
}

bool RangeCache::insert(const proto::RangeDescriptor& descriptor) {
  CAIRN_ASSERT(validate_range_descriptor(descriptor).ok(), "the router caches valid descriptors");
  // What the descriptor would replace: the entries it overlaps, and its own range's entry
  // wherever it is (a range keeps its id through splits and merges while its span moves).
  std::vector<Entries::iterator> replaced = overlapping(descriptor.start_key(), descriptor.end_key());
  if (auto same = end_key_by_range_.find(descriptor.range_id()); same != end_key_by_range_.end()) {
    auto entry = by_end_key_.find(same->second);
    CAIRN_ASSERT(entry != by_end_key_.end(), "the range index points at an entry");
    if (std::find(replaced.begin(), replaced.end(), entry) == replaced.end()) replaced.push_back(entry);
  }
  for (Entries::iterator entry : replaced) {
    const proto::RangeDescriptor& cached = entry->second.descriptor;
    if (cached.generation() > descriptor.generation()) return false;
    if (cached.generation() == descriptor.generation() && cached.range_id() == descriptor.range_id() &&
        cached.start_key() == descriptor.start_key() && cached.end_key() == descriptor.end_key()) {
      entry->second.descriptor = descriptor;  // the same range; its replicas may have moved on
      touch(entry->second);
      return true;
    }
  }
  for (Entries::iterator entry : replaced) erase(entry);
  while (by_end_key_.size() >= entries_max_) erase(by_end_key_.find(recency_.back()));
  recency_.push_front(descriptor.end_key());
  by_end_key_.emplace(descriptor.end_key(), Entry{descriptor, recency_.begin()});
  end_key_by_range_[descriptor.range_id()] = descriptor.end_key();
  CAIRN_ASSERT(by_end_key_.size() == recency_.size() && by_end_key_.size() == end_key_by_range_.size() &&
                   by_end_key_.size() <= entries_max_,
               "every entry has one place in the recency list and the range index, and the cache keeps its limit");
  return true;
}

bool RangeCache::evict(uint64_t range_id, uint64_t generation) {
  auto by_range = end_key_by_range_.find(range_id);
  if (by_range == end_key_by_range_.end()) return false;
  auto entry = by_end_key_.find(by_range->second);
  CAIRN_ASSERT(entry != by_end_key_.end() && entry->second.descriptor.range_id() == range_id,
               "the range index points at the range's entry");
  if (entry->second.descriptor.generation() > generation) return false;
  erase(entry);
  return true;
}

std::vector<proto::RangeDescriptor> RangeCache::descriptors() const {
  std::vector<proto::RangeDescriptor> all;
  all.reserve(by_end_key_.size());
  for (const auto& [end_key, entry] : by_end_key_) {
    CAIRN_ASSERT(all.empty() || all.back().end_key() <= entry.descriptor.start_key(), "cached ranges are disjoint");
    all.push_back(entry.descriptor);
  }
  return all;
}

std::vector<RangeCache::Entries::iterator> RangeCache::overlapping(std::string_view start, std::string_view end) {
  CAIRN_ASSERT(start < end, "a span to look up is not empty");
  std::vector<Entries::iterator> found;
  // Entries are disjoint and ordered by end key, so they are ordered by start key too: the
  // overlapping ones are those ending after `start`, up to the first starting at `end` or later.
  for (auto entry = by_end_key_.upper_bound(start); entry != by_end_key_.end(); ++entry) {
    if (std::string_view(entry->second.descriptor.start_key()) >= end) break;
    found.push_back(entry);
  }
  return found;
}

void RangeCache::erase(Entries::iterator entry) {
  CAIRN_ASSERT(entry != by_end_key_.end(), "erasing a cached entry");
  recency_.erase(entry->second.recency);
  end_key_by_range_.erase(entry->second.descriptor.range_id());
  by_end_key_.erase(entry);
}

void RangeCache::touch(Entry& entry) {
  recency_.splice(recency_.begin(), recency_, entry.recency);
  CAIRN_ASSERT(recency_.front() == entry.descriptor.end_key(), "a used entry is the most recent");
}

}  // namespace cairn::shard
