// Which membership changes a leader refuses (membership_rules.h).
#include "core/kv/membership_rules.h"

#include "core/runtime/assert.h"

namespace cairn::kv {
namespace {

// Why one replica change would change nothing; empty when it would change something.
std::string no_op_reason(const raft::Membership& current, const proto::RaftReplicaChange& change) {
  const raft::ReplicaId replica = change.replica();
  const std::string node = "node " + std::to_string(replica);
  switch (change.kind()) {
    case proto::RAFT_REMOVE:
      return current.contains(replica) ? "" : node + " is not a member";
    case proto::RAFT_ADD_VOTER:
      return current.voters().contains(replica) ? node + " is already a voter" : "";
    case proto::RAFT_ADD_LEARNER:
      return current.learners().contains(replica) ? node + " is already a learner" : "";
    default: return "";
  }
}

std::string id_list(const raft::ReplicaSet& ids) {
  std::string text;
  for (raft::ReplicaId id : ids) text += (text.empty() ? "" : ",") + std::to_string(id);
  return text.empty() ? "none" : text;
}

}  // namespace

uint64_t learner_needed_index(uint64_t commit_index) {
  const uint64_t needed = commit_index - commit_index / 10;
  CAIRN_ASSERT(needed <= commit_index, "a learner is never asked for more than the commit index");
  return needed;
}

Status refuse_no_op_change(const raft::Membership& current, const proto::RaftMembershipChange& change) {
  if (change.changes().empty()) return Status{};
  std::string reasons;
  for (const proto::RaftReplicaChange& replica_change : change.changes()) {
    const std::string reason = no_op_reason(current, replica_change);
    if (reason.empty()) return Status{};
    reasons += (reasons.empty() ? "" : ", ") + reason;
  }
  return Status::already_exists("nothing to change: " + reasons + " (voters " + id_list(current.voters()) +
                                  ", learners " + id_list(current.learners()) + ")");
}

std::optional<proto::KvLearnerLag> learner_not_caught_up(const raft::Membership& current,
                                                         const proto::RaftMembershipChange& change,
                                                         const std::map<NodeId, uint64_t>& matched,
                                                         uint64_t commit_index) {
  const uint64_t needed = learner_needed_index(commit_index);
  for (const proto::RaftReplicaChange& replica_change : change.changes()) {
    if (replica_change.kind() != proto::RAFT_ADD_VOTER || current.voters().contains(replica_change.replica())) continue;
    // A new node added straight as a voter is not a promotion: the operator chose it (and the
    // quorum arithmetic), as etcd allows.
    if (!current.is_learner(replica_change.replica())) continue;
    auto found = matched.find(replica_change.replica());
    const uint64_t held = found == matched.end() ? 0 : found->second;
    if (held >= needed) continue;
    proto::KvLearnerLag lag;
    lag.set_replica(replica_change.replica());
    lag.set_matched_index(held);
    lag.set_commit_index(commit_index);
    lag.set_needed_index(needed);
    return lag;
  }
  return std::nullopt;
}

}  // namespace cairn::kv
