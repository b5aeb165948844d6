// Membership: who a Raft group's replicas are, and the quorum arithmetic that follows from it.
//
// A configuration is a set of voters plus learners (replicas that receive the log but neither
// vote nor count towards commitment). Changing the voters goes either through a simple change
// of at most one voter, or through a joint configuration (Raft dissertation §4.3) in which every
// decision needs a majority of both the outgoing and the incoming voter set, so that no two
// disjoint majorities can ever decide at the same time. The rules are etcd's (raft/confchange):
// apply_membership_change() is the only way from one valid configuration to the next.
//
// Everything here is a pure function of its arguments: the Raft state machine calls it on its
// hot paths (committed_index on every append response), and property tests drive it directly.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>

#include "core/proto/raft.pb.h"
#include "core/runtime/status.h"

namespace cairn::raft {

using ReplicaId = uint64_t;
using ReplicaSet = std::set<ReplicaId>;  // ordered: iteration is deterministic

enum class VoteResult { kPending, kLost, kWon };

class Membership {
 public:
  Membership() = default;  // empty: no voters (a replica that has not been bootstrapped)

  // Validates the invariants (see apply_membership_change); INVALID_ARGUMENT naming the problem
  // otherwise, also for an id listed twice in one field.
  static Result<Membership> from_proto(const proto::RaftMembership& membership);
  // A plain configuration (not joint) of these voters and learners; asserts they are disjoint
  // and do not contain replica 0.
  static Membership of(ReplicaSet voters, ReplicaSet learners = {});
  proto::RaftMembership to_proto() const;  // sorted ids: equal memberships serialize equally

  const ReplicaSet& voters() const { return voters_; }                    // the incoming (or only) voter set
  const ReplicaSet& outgoing_voters() const { return outgoing_voters_; }  // non-empty exactly when joint
  const ReplicaSet& learners() const { return learners_; }
  const ReplicaSet& learners_next() const { return learners_next_; }
  bool auto_leave() const { return auto_leave_; }
  bool joint() const { return !outgoing_voters_.empty(); }
  bool is_voter(ReplicaId id) const;    // votes in the incoming or the outgoing set
  bool is_learner(ReplicaId id) const;  // in learners or learners_next (and so not an incoming voter)
  bool contains(ReplicaId id) const;
  ReplicaSet members() const;  // everyone the leader replicates to (voters of both sets and learners)
  bool empty() const { return voters_.empty() && outgoing_voters_.empty(); }  // no voters at all

  // The largest index acknowledged by a majority of each voter set. `acknowledged(id)` is the
  // index replica `id` is known to hold (0 if unknown). An empty voter set does not constrain;
  // a membership with no voters at all returns 0.
  uint64_t committed_index(const std::function<uint64_t(ReplicaId)>& acknowledged) const;
  // Election outcome from the votes received so far (id -> granted; votes of non-voters are
  // ignored). kWon needs a majority of each set; kLost once some set can no longer reach one.
  // A membership with no voters at all never wins (kLost): it must not produce a leader.
  VoteResult vote_result(const std::map<ReplicaId, bool>& votes) const;
  // CheckQuorum: whether the replicas for which `recently_active(id)` holds form a majority of
  // every voter set (the leader counting itself is the caller's job). False with no voters.
  bool has_active_quorum(const std::function<bool(ReplicaId)>& recently_active) const;

  bool operator==(const Membership&) const = default;

 private:
  friend Result<Membership> apply_membership_change(const Membership& current,
                                                    const proto::RaftMembershipChange& change);
  // The two halves of apply_membership_change, for a validated change: no changes (leave the
  // joint configuration), or some (a simple change or entering a joint configuration).
  static Result<Membership> left_joint(const Membership& current, const proto::RaftMembershipChange& change);
  static Result<Membership> changed(const Membership& current, const proto::RaftMembershipChange& change);
  // Applies each replica change in order; the outgoing set decides where demoted voters go.
  void apply_replica_changes(const proto::RaftMembershipChange& change);

  ReplicaSet voters_;
  ReplicaSet outgoing_voters_;
  ReplicaSet learners_;
  ReplicaSet learners_next_;
  bool auto_leave_ = false;
};

// Applies a membership change with the rules of Raft's joint consensus as etcd implements them:
//  - no changes at all: leave the joint configuration (FAILED_PRECONDITION if not joint):
//    learners_next become learners, outgoing voters are dropped, auto_leave is cleared;
//  - transition AUTO where the incoming voter set before and after differ by at most one replica
//    (symmetric difference <= 1): a simple change, applied directly (FAILED_PRECONDITION while
//    joint);
//  - otherwise (AUTO changing more than one voter, JOINT_IMPLICIT, JOINT_EXPLICIT): enter a joint
//    configuration: outgoing := current voters, the changes apply to the incoming set, a voter
//    demoted to learner that is in the outgoing set goes to learners_next rather than learners,
//    auto_leave := transition != JOINT_EXPLICIT (FAILED_PRECONDITION if already joint, or if
//    there are no voters to be the outgoing set);
//  - ADD_VOTER of a learner promotes it; ADD_LEARNER of a voter demotes it; REMOVE removes from
//    voters, learners and learners_next (removing an absent replica is a no-op); adding an
//    existing voter as voter, or an existing learner as learner, is a no-op; a change to replica
//    0 or of an unknown kind or transition is INVALID_ARGUMENT;
//  - a result with no incoming voters is INVALID_ARGUMENT ("removing every voter").
// Invariants of every valid membership (checked by from_proto, asserted after every change):
// voters ∩ learners = ∅, outgoing_voters ∩ learners = ∅, learners_next ⊆ outgoing_voters,
// learners_next ∩ voters = ∅, learners_next and auto_leave only when joint, replica 0 never present.
Result<Membership> apply_membership_change(const Membership& current, const proto::RaftMembershipChange& change);

// For logs and errors: "voters {1,2,3} learners {4}", or when joint
// "joint {1,2,4} & {1,2,3} learners {5} learners_next {3} auto_leave" (incoming & outgoing).
std::string describe(const Membership& membership);
// For logs and errors: "{add voter 4, remove 3} (auto)"; "{} (leave joint)" for no changes.
std::string describe(const proto::RaftMembershipChange& change);

}  // namespace cairn::raft
