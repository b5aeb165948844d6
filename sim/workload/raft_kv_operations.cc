// The walkthrough of docs/operations.md, run by the simulator's administrator under faults
// (RaftKvWorkload::operations_walkthrough): the same operations the real-process test runs
// against cairnd (tests/net/operations_guide_test.cc), here with crashes, partitions and lost
// messages around them, and the idle-cluster catch-up bound (REPLICAS_CATCH_UP) after them.
//
// Servers by position: first voters A, B, C (initial_voters 3) and spares D, E. The steps:
// add D as a learner; promote D once caught up (refused while it is behind); hand D the
// leadership; remove A; lose B's disk (its machine is retired, never restarted) and remove B;
// add E as a learner and promote it. The end: voters {C, D, E}. Each step is retried until its
// effect is seen, as an operator would: a change that timed out may still have been applied.
#include "sim/workload/raft_kv_workload.h"

namespace cairn::sim {
namespace {

proto::RaftMembershipChange change_of(proto::RaftMembershipChangeKind kind, NodeId replica) {
  proto::RaftMembershipChange change;
  proto::RaftReplicaChange* one = change.add_changes();
  one->set_kind(kind);
  one->set_replica(replica);
  return change;
}

}  // namespace

void RaftKvWorkload::change_until(Runtime& runtime, kv::KvClient& admin, const std::string& step,
                                  const proto::RaftMembershipChange& change,
                                  const std::function<bool(const raft::Membership&)>& reached) {
  CAIRN_ASSERT(change.changes_size() == 1, "the walkthrough changes one replica at a time");
  while (true) {
    Result<proto::KvMembershipReply> reply = admin.change_membership(change, seconds(2));
    if (reply.ok() && reply->has_not_caught_up()) ++promotions_refused_;
    if (reply.ok() && !reply->has_not_caught_up()) {
      ++membership_changes_;
      break;
    }
    const GroupView& view = group_views_[1];
    if (!view.membership.joint() && reached(view.membership)) break;
    ++membership_change_failures_;
    runtime.sleep(milliseconds(100));
  }
  walkthrough_steps_done_.push_back(step);
  runtime.logger().log(LogLevel::kInfo, "operations", "step done", {{"step", step}});
}

void RaftKvWorkload::wait_until_voters_applied(Runtime& runtime) {
  const MonotonicTime deadline = runtime.now() + seconds(20);
  while (runtime.now() < deadline) {
    const GroupView& view = group_views_[1];
    auto leader = view.replicas.find(view.leader);
    bool applied = leader != view.replicas.end();
    for (NodeId voter : view.membership.voters()) {
      auto replica = view.replicas.find(voter);
      applied = applied && replica != view.replicas.end() && replica->second.applied >= leader->second.committed;
    }
    if (applied) return;
    runtime.sleep(milliseconds(50));
  }
}

void RaftKvWorkload::run_operations_walkthrough(Runtime& runtime) {
  const std::vector<NodeId> voters = initial_voters();
  CAIRN_ASSERT(voters.size() == 3 && servers_.size() >= 5, "the loader checks the walkthrough's servers");
  const NodeId first = voters[0];
  const NodeId lost = voters[1];
  const NodeId spare = servers_[3];
  const NodeId replacement = servers_[4];
  std::unique_ptr<kv::KvClient> admin = administrator_client(runtime, 1);
  runtime.sleep(seconds(1));  // the cluster elects its first leader
  const std::string d = std::to_string(spare);
  change_until(runtime, *admin, "add " + d + " as a learner", change_of(proto::RAFT_ADD_LEARNER, spare),
               [&](const raft::Membership& m) { return m.learners().contains(spare) || m.voters().contains(spare); });
  change_until(runtime, *admin, "promote " + d, change_of(proto::RAFT_ADD_VOTER, spare),
               [&](const raft::Membership& m) { return m.voters().contains(spare); });
  while (leader_of(1) != spare) {
    if (admin->transfer_leadership(spare, seconds(2)).ok()) ++leadership_transfers_;
    runtime.sleep(milliseconds(100));
  }
  walkthrough_steps_done_.push_back("transfer to " + d);
  change_until(runtime, *admin, "remove " + std::to_string(first), change_of(proto::RAFT_REMOVE, first),
               [&](const raft::Membership& m) { return !m.contains(first); });
  // As the guide does (docs/operations.md: `cairn cluster status` shows every member at the new
  // configuration before a node goes): a voter that has not applied the removal still counts the
  // removed node, and losing another disk then can leave no majority that will elect anyone.
  wait_until_voters_applied(runtime);
  simulator_->find_node(lost)->retire();
  walkthrough_steps_done_.push_back("lose the disk of " + std::to_string(lost));
  change_until(runtime, *admin, "remove " + std::to_string(lost), change_of(proto::RAFT_REMOVE, lost),
               [&](const raft::Membership& m) { return !m.contains(lost); });
  const std::string e = std::to_string(replacement);
  change_until(runtime, *admin, "add " + e + " as a learner", change_of(proto::RAFT_ADD_LEARNER, replacement),
               [&](const raft::Membership& m) { return m.learners().contains(replacement) || m.voters().contains(replacement); });
  change_until(runtime, *admin, "promote " + e, change_of(proto::RAFT_ADD_VOTER, replacement),
               [&](const raft::Membership& m) { return m.voters().contains(replacement); });
  walkthrough_completed_ = true;
}

CheckOutcome RaftKvWorkload::check_operations_completed() const {
  CheckOutcome outcome{.check = proto::OPERATIONS_COMPLETED, .passed = false, .detail = ""};
  std::string done;
  for (const std::string& step : walkthrough_steps_done_) done += (done.empty() ? "" : ", ") + step;
  auto view = group_views_.find(1);
  const raft::Membership membership = view == group_views_.end() ? raft::Membership{} : view->second.membership;
  const std::vector<NodeId> voters = initial_voters();
  const raft::Membership goal = raft::Membership::of({voters.back(), servers_[3], servers_[4]});
  if (!walkthrough_completed_) {
    outcome.detail = "the walkthrough did not finish; steps done: " + (done.empty() ? "none" : done);
  } else if (!(membership == goal)) {
    outcome.detail = "the walkthrough finished, but group 1 ended in " + raft::describe(membership) + ", not " +
                     raft::describe(goal);
  } else {
    outcome.passed = true;
  }
  return outcome;
}

}  // namespace cairn::sim
