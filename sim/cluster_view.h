// ClusterView: what the nemesis may know of who leads, for leader-aware faults — the current
// leader of each Raft group and its followers, as the workload last observed them. A workload
// without Raft groups (register, storage) has none, and aimed faults fall back to a random
// server.
#pragma once

#include <cstdint>
#include <vector>

#include "core/runtime/network.h"

namespace cairn::sim {

class ClusterView {
 public:
  virtual ~ClusterView() = default;
  // The groups with a known leader.
  virtual std::vector<uint64_t> groups_with_leader() const = 0;
  // The leader of `group` (0: none known) and the other members it replicates to.
  virtual NodeId leader_of(uint64_t group) const = 0;
  virtual std::vector<NodeId> followers_of(uint64_t group) const = 0;
};

}  // namespace cairn::sim
