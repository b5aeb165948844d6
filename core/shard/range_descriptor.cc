// Range descriptors: validation and span arithmetic (see range_descriptor.h).
#include "core/shard/range_descriptor.h"

#include <set>

#include "core/kv/range_keys.h"
#include "core/runtime/assert.h"
#include "core/runtime/limits.h"

namespace cairn::shard {

std::string printable_key(std::string_view key) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : key) {
    if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
      out += static_cast<char>(c);
    } else {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    }
  }
  return out;
}

Status validate_range_descriptor(const proto::RangeDescriptor& descriptor) {
  const auto invalid = [&](const std::string& what) {
    return Status::invalid_argument("range descriptor " + describe(descriptor) + ": " + what);
  };
  if (descriptor.range_id() == 0) return invalid("range_id is 0");
  if (descriptor.generation() == 0) return invalid("generation is 0");
  if (descriptor.start_key() >= descriptor.end_key()) return invalid("the span is empty (start_key >= end_key)");
  if (std::string_view(descriptor.end_key()) > kv::kRangeLocalKeysStart) {
    return invalid("the span reaches into the range-local keys");
  }
  if (descriptor.end_key().size() > limits::kKeyBytesMax) return invalid("end_key is longer than a key may be");
  if (descriptor.replicas_size() > static_cast<int>(limits::kRangeReplicasMax)) {
    return invalid("more than " + std::to_string(limits::kRangeReplicasMax) + " replicas");
  }
  std::set<uint64_t> nodes;
  bool voter = false;
  for (const proto::RangeReplicaDescriptor& replica : descriptor.replicas()) {
    if (replica.node() == 0) return invalid("a replica's node is 0");
    if (!nodes.insert(replica.node()).second) {
      return invalid("node " + std::to_string(replica.node()) + " holds two replicas");
    }
    voter = voter || !replica.learner();
  }
  if (!voter) return invalid("no voter");
  return Status{};
}

bool contains(const proto::RangeDescriptor& descriptor, std::string_view key) {
  CAIRN_ASSERT(descriptor.start_key() < descriptor.end_key(), "a descriptor's span is not empty");
  return key >= descriptor.start_key() && key < descriptor.end_key();
}

bool overlaps(const proto::RangeDescriptor& a, const proto::RangeDescriptor& b) {
  CAIRN_ASSERT(a.start_key() < a.end_key() && b.start_key() < b.end_key(), "descriptors' spans are not empty");
  return a.start_key() < b.end_key() && b.start_key() < a.end_key();
}

std::string describe(const proto::RangeDescriptor& descriptor) {
  return "range " + std::to_string(descriptor.range_id()) + " [\"" + printable_key(descriptor.start_key()) + "\", \"" +
         printable_key(descriptor.end_key()) + "\") gen " + std::to_string(descriptor.generation());
}

}  // namespace cairn::shard
