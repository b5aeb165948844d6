// RangeOwnershipOracle: watches the range descriptors every node applies in a simulated run and
// records a violation the moment the ranges stop dividing the key space among themselves:
//   generations grow      a node's replica of a range never goes back to an older generation,
//                         and a span changes only with a newer one;
//   one history           every node that applied a range's generation applied the same span;
//   one owner per key     of the cluster's newest descriptors (the newest generation of each
//                         range any node applied, less those a newer overlapping one replaced —
//                         a range merged away), no two hold a common key;
//   no key without owner  and together they hold the whole key space.
// It starts from the ranges the cluster was bootstrapped with, whose span is the key space. A
// split or merge applies several descriptors at once (both halves of a split; a merge's range):
// they are observed in one call, and judged together.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "core/proto/kv.pb.h"

namespace cairn::sim {

class RangeOwnershipOracle {
 public:
  // The ranges the cluster starts with (at least one); together they are the key space, from
  // the first one's start to the last one's end, and they must divide it (else a violation).
  explicit RangeOwnershipOracle(const std::vector<proto::RangeDescriptor>& bootstrap);

  // Node `node` applied `descriptors` together (each a range's descriptor from that point on).
  void observe_applied(uint64_t node, const std::vector<proto::RangeDescriptor>& descriptors);

  bool ok() const { return violations_.empty(); }
  const std::vector<std::string>& violations() const { return violations_; }
  // The cluster's newest descriptors that own keys, in key order.
  std::vector<proto::RangeDescriptor> owners() const;

 private:
  void violation(std::string text);
  void check_node(uint64_t node, const proto::RangeDescriptor& descriptor);
  void check_owners();

  std::string start_;
  std::string end_;
  std::map<std::pair<uint64_t, uint64_t>, proto::RangeDescriptor> by_node_;  // (node, range) -> newest applied
  std::map<std::pair<uint64_t, uint64_t>, std::pair<std::string, std::string>> span_of_;  // (range, generation)
  std::map<uint64_t, proto::RangeDescriptor> newest_;  // range -> its newest generation anywhere
  std::vector<std::string> violations_;
  static constexpr std::size_t kViolationsMax = 20;
};

}  // namespace cairn::sim
