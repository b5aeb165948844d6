// A survey of the cluster: every member's own status, found from any few nodes. `cairn cluster
// status` and the HTTP gateway's /v1/cluster both show it, so a node added at run time is
// listed (and asked) although nobody named it, and a removed node shows as removed.
//
// The seeds are asked first, all at once; their answers name the members (the configuration
// of the most advanced answer: the leader's, else the highest commit index) and where they
// listen (the node registry, node_registry.h). The members not asked yet are asked next.
#pragma once

#include <functional>
#include <map>
#include <vector>

#include "core/kv/kv_client.h"

namespace cairn::kv {

struct ClusterSurvey {
  // Every seed and every member: its status, or why there is none.
  std::map<NodeId, Result<proto::KvStatusReply>> statuses;
  std::map<NodeId, proto::NodeDescriptor> registry;  // as the most advanced answer had applied it
  NodeId leader = 0;  // the leader of the highest term any answer named; 0: none known
};

// `learn` hears of each registered node before it is asked, so a client outside the cluster can
// tell its transport where to dial. `timeout` bounds each of the (at most two) rounds.
ClusterSurvey survey_cluster(KvClient& client, const std::vector<NodeId>& seeds, Duration timeout,
                             const std::function<void(const proto::NodeDescriptor&)>& learn);

}  // namespace cairn::kv
