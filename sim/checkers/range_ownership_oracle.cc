// RangeOwnershipOracle: the ranges divide the key space, at every applied step (see the header).
#include "sim/checkers/range_ownership_oracle.h"

#include <algorithm>

#include "core/runtime/assert.h"
#include "core/shard/range_descriptor.h"

namespace cairn::sim {

RangeOwnershipOracle::RangeOwnershipOracle(const std::vector<proto::RangeDescriptor>& bootstrap) {
  CAIRN_ASSERT(!bootstrap.empty(), "a cluster starts with a range");
  bool first = true;
  for (const proto::RangeDescriptor& descriptor : bootstrap) {
    if (Status valid = shard::validate_range_descriptor(descriptor); !valid.ok()) {
      violation("the bootstrap has an invalid descriptor: " + valid.message());
      continue;
    }
    start_ = first ? descriptor.start_key() : std::min(start_, descriptor.start_key());
    end_ = first ? descriptor.end_key() : std::max(end_, descriptor.end_key());
    first = false;
    span_of_[{descriptor.range_id(), descriptor.generation()}] = {descriptor.start_key(), descriptor.end_key()};
    newest_[descriptor.range_id()] = descriptor;
  }
  check_owners();
}

void RangeOwnershipOracle::violation(std::string text) {
  if (std::find(violations_.begin(), violations_.end(), text) != violations_.end()) return;
  if (violations_.size() < kViolationsMax) violations_.push_back(std::move(text));
}

void RangeOwnershipOracle::observe_applied(uint64_t node, const std::vector<proto::RangeDescriptor>& descriptors) {
  CAIRN_ASSERT(!descriptors.empty(), "a node applies at least one descriptor");
  for (const proto::RangeDescriptor& descriptor : descriptors) {
    if (Status valid = shard::validate_range_descriptor(descriptor); !valid.ok()) {
      violation("node " + std::to_string(node) + " applied an invalid descriptor: " + valid.message());
      continue;
    }
    check_node(node, descriptor);
    proto::RangeDescriptor& newest = newest_[descriptor.range_id()];
    if (newest.generation() < descriptor.generation()) newest = descriptor;
  }
  check_owners();
}

void RangeOwnershipOracle::check_node(uint64_t node, const proto::RangeDescriptor& descriptor) {
  const std::string what = "node " + std::to_string(node) + " applied " + shard::describe(descriptor);
  auto [span, first] = span_of_.emplace(std::make_pair(descriptor.range_id(), descriptor.generation()),
                                        std::make_pair(descriptor.start_key(), descriptor.end_key()));
  if (!first && span->second != std::make_pair(descriptor.start_key(), descriptor.end_key())) {
    violation("one history: " + what + ", but another node applied that generation with another span");
  }
  auto [previous, inserted] = by_node_.emplace(std::make_pair(node, descriptor.range_id()), descriptor);
  if (inserted) return;
  const proto::RangeDescriptor& before = previous->second;
  if (descriptor.generation() < before.generation()) {
    violation("generations grow: " + what + " after " + shard::describe(before));
  } else if (descriptor.generation() == before.generation() &&
             (descriptor.start_key() != before.start_key() || descriptor.end_key() != before.end_key())) {
    violation("generations grow: " + what + ", which changes the span of " + shard::describe(before) +
              " without a new generation");
  }
  if (descriptor.generation() >= before.generation()) previous->second = descriptor;
}

std::vector<proto::RangeDescriptor> RangeOwnershipOracle::owners() const {
  // A range's newest descriptor owns keys unless a newer one (a higher generation) overlaps it:
  // the range was merged into that one, or split off a span that now belongs to it.
  std::vector<proto::RangeDescriptor> owners;
  for (const auto& [range, descriptor] : newest_) {
    const bool replaced = std::any_of(newest_.begin(), newest_.end(), [&](const auto& other) {
      return other.second.generation() > descriptor.generation() && shard::overlaps(other.second, descriptor);
    });
    if (!replaced) owners.push_back(descriptor);
  }
  std::sort(owners.begin(), owners.end(), [](const proto::RangeDescriptor& a, const proto::RangeDescriptor& b) {
    return std::make_pair(a.start_key(), a.end_key()) < std::make_pair(b.start_key(), b.end_key());
  });
  return owners;
}

void RangeOwnershipOracle::check_owners() {
  const std::vector<proto::RangeDescriptor> owners = this->owners();
  std::string covered_to = start_;
  for (std::size_t i = 0; i < owners.size(); ++i) {
    const proto::RangeDescriptor& owner = owners[i];
    if (i + 1 < owners.size() && shard::overlaps(owner, owners[i + 1])) {
      violation("one owner per key: " + shard::describe(owner) + " and " + shard::describe(owners[i + 1]) +
                " both hold keys from \"" + shard::printable_key(owners[i + 1].start_key()) + "\"");
    }
    if (owner.start_key() > covered_to) {
      violation("no key without owner: no range holds [\"" + shard::printable_key(covered_to) + "\", \"" +
                shard::printable_key(owner.start_key()) + "\")");
    }
    covered_to = std::max(covered_to, owner.end_key());
  }
  if (covered_to < end_) {
    violation("no key without owner: no range holds [\"" + shard::printable_key(covered_to) + "\", \"" +
              shard::printable_key(end_) + "\")");
  }
}

}  // namespace cairn::sim
