// RaftObserver: watches a Store's replicas from outside (the simulator's safety oracle and its
// checkers of what clients saw). on_raft_state comes from the Store's loop whenever a replica's
// Raft state moved: right after a ready batch was carried out, and after the applier's report
// moved the applied index (a quiet replica has no more ready batches, but may still be applying
// what it was handed). on_applied comes from the applier, the moment an entry is applied —
// before any read can see its effect, so that a checker never meets a value whose write it has
// not heard of.
#pragma once

#include <cstdint>

#include "core/proto/raft.pb.h"
#include "core/raft/raft.h"
#include "core/runtime/network.h"

namespace cairn::node {

class RaftObserver {
 public:
  virtual ~RaftObserver() = default;
  virtual void on_raft_state(NodeId node, const raft::Raft& raft) = 0;
  virtual void on_applied(NodeId node, uint64_t range, const proto::RaftEntry& entry) = 0;
};

}  // namespace cairn::node
