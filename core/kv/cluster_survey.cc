// Every member's status, found from a few seeds (cluster_survey.h).
#include "core/kv/cluster_survey.h"

#include <algorithm>

#include "core/runtime/assert.h"

namespace cairn::kv {
namespace {

// The answer whose view of the cluster is freshest: a leader's, else the highest commit index.
const proto::KvStatusReply* most_advanced(const std::map<NodeId, Result<proto::KvStatusReply>>& statuses) {
  const proto::KvStatusReply* best = nullptr;
  for (const auto& [node, reply] : statuses) {
    if (!reply.ok()) continue;
    const bool leads = reply->role() == proto::KV_ROLE_LEADER;
    const bool best_leads = best != nullptr && best->role() == proto::KV_ROLE_LEADER;
    if (best == nullptr || (leads && !best_leads) ||
        (leads == best_leads && std::make_pair(reply->term(), reply->commit_index()) >
                                    std::make_pair(best->term(), best->commit_index()))) {
      best = &*reply;
    }
  }
  return best;
}

std::vector<NodeId> members_of(const proto::RaftMembership& membership) {
  std::vector<NodeId> members;
  for (const auto* ids : {&membership.voters(), &membership.outgoing_voters(), &membership.learners(),
                          &membership.learners_next()}) {
    for (NodeId member : *ids) {
      if (std::find(members.begin(), members.end(), member) == members.end()) members.push_back(member);
    }
  }
  return members;
}

}  // namespace

ClusterSurvey survey_cluster(KvClient& client, const std::vector<NodeId>& seeds, Duration timeout,
                             const std::function<void(const proto::NodeDescriptor&)>& learn) {
  CAIRN_ASSERT(!seeds.empty(), "a survey needs somewhere to start");
  ClusterSurvey survey;
  survey.statuses = client.status_of(seeds, timeout);
  const proto::KvStatusReply* best = most_advanced(survey.statuses);
  if (best == nullptr) return survey;
  for (const proto::NodeDescriptor& node : best->nodes()) survey.registry[node.node()] = node;
  std::vector<NodeId> not_asked;
  for (NodeId member : members_of(best->membership())) {
    if (survey.statuses.contains(member)) continue;
    not_asked.push_back(member);
    if (auto found = survey.registry.find(member); found != survey.registry.end() && learn) learn(found->second);
  }
  if (!not_asked.empty()) survey.statuses.merge(client.status_of(not_asked, timeout));
  uint64_t leader_term = 0;
  for (const auto& [node, reply] : survey.statuses) {
    if (reply.ok() && reply->leader() != 0 && reply->term() >= leader_term) {
      survey.leader = reply->leader();
      leader_term = reply->term();
    }
  }
  return survey;
}

}  // namespace cairn::kv
