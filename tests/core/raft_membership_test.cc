// Tests of core/raft/membership: every rule of apply_membership_change (simple changes, joint
// configurations, promotions, demotions, leaving joint, each error), the invariants from_proto
// enforces, and the quorum arithmetic (committed index, elections, CheckQuorum) — as examples,
// and as RapidCheck properties checked against the definitions rather than against the code.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <iterator>
#include <limits>
#include <map>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "core/raft/membership.h"
#include "tests/support/reaching_property.h"

namespace cairn::proto {
// How RapidCheck prints a failing case.
void showValue(const RaftMembershipChange& change, std::ostream& os) { os << raft::describe(change); }
}  // namespace cairn::proto

namespace cairn::raft {

void showValue(const Membership& membership, std::ostream& os) { os << describe(membership); }

namespace {

using ::testing::HasSubstr;

proto::RaftReplicaChange replica_change(proto::RaftMembershipChangeKind kind, ReplicaId id) {
  proto::RaftReplicaChange change;
  change.set_kind(kind);
  change.set_replica(id);
  return change;
}
proto::RaftReplicaChange add_voter(ReplicaId id) { return replica_change(proto::RAFT_ADD_VOTER, id); }
proto::RaftReplicaChange add_learner(ReplicaId id) { return replica_change(proto::RAFT_ADD_LEARNER, id); }
proto::RaftReplicaChange remove(ReplicaId id) { return replica_change(proto::RAFT_REMOVE, id); }

proto::RaftMembershipChange change_of(std::vector<proto::RaftReplicaChange> changes,
                                      proto::RaftMembershipTransition transition = proto::RAFT_TRANSITION_AUTO) {
  proto::RaftMembershipChange change;
  for (const auto& replica : changes) *change.add_changes() = replica;
  change.set_transition(transition);
  return change;
}
const proto::RaftMembershipChange kLeaveJoint = change_of({});

struct JointSpec {
  ReplicaSet voters{};
  ReplicaSet outgoing_voters{};
  ReplicaSet learners{};
  ReplicaSet learners_next{};
  bool auto_leave = false;
};

proto::RaftMembership proto_of(const JointSpec& spec) {
  proto::RaftMembership membership;
  for (ReplicaId id : spec.voters) membership.add_voters(id);
  for (ReplicaId id : spec.outgoing_voters) membership.add_outgoing_voters(id);
  for (ReplicaId id : spec.learners) membership.add_learners(id);
  for (ReplicaId id : spec.learners_next) membership.add_learners_next(id);
  membership.set_auto_leave(spec.auto_leave);
  return membership;
}

Membership membership_of(const JointSpec& spec) {
  Result<Membership> membership = Membership::from_proto(proto_of(spec));
  CAIRN_ASSERT(membership.ok(), membership.status().to_string());
  return *membership;
}

Membership apply_ok(const Membership& current, const proto::RaftMembershipChange& change) {
  Result<Membership> next = apply_membership_change(current, change);
  EXPECT_TRUE(next.ok()) << next.status() << " applying " << describe(change) << " to " << describe(current);
  return next.ok() ? *next : current;
}

Status apply_error(const Membership& current, const proto::RaftMembershipChange& change) {
  Result<Membership> next = apply_membership_change(current, change);
  EXPECT_FALSE(next.ok()) << "applying " << describe(change) << " to " << describe(current) << " gave "
                          << describe(*next);
  return next.ok() ? Status::ok_status() : next.status();
}

std::size_t majority(std::size_t voter_count) { return voter_count / 2 + 1; }

// --- Construction, accessors, serialization --------------------------------------------------

TEST(MembershipTest, DefaultIsEmptyAndDecidesNothing) {
  const Membership membership;
  EXPECT_TRUE(membership.empty());
  EXPECT_FALSE(membership.joint());
  EXPECT_TRUE(membership.members().empty());
  EXPECT_EQ(membership.committed_index([](ReplicaId) { return uint64_t{7}; }), 0u);
  EXPECT_EQ(membership.vote_result({{1, true}}), VoteResult::kLost);
  EXPECT_FALSE(membership.has_active_quorum([](ReplicaId) { return true; }));
  EXPECT_EQ(describe(membership), "voters {}");
}

TEST(MembershipTest, AccessorsOfAPlainConfiguration) {
  const Membership membership = Membership::of({1, 2, 3}, {4});
  EXPECT_FALSE(membership.empty());
  EXPECT_FALSE(membership.joint());
  EXPECT_FALSE(membership.auto_leave());
  EXPECT_EQ(membership.voters(), (ReplicaSet{1, 2, 3}));
  EXPECT_TRUE(membership.outgoing_voters().empty());
  EXPECT_EQ(membership.learners(), (ReplicaSet{4}));
  EXPECT_TRUE(membership.is_voter(1));
  EXPECT_FALSE(membership.is_voter(4));
  EXPECT_TRUE(membership.is_learner(4));
  EXPECT_FALSE(membership.is_learner(1));
  EXPECT_TRUE(membership.contains(4));
  EXPECT_FALSE(membership.contains(5));
  EXPECT_EQ(membership.members(), (ReplicaSet{1, 2, 3, 4}));
  EXPECT_EQ(describe(membership), "voters {1,2,3} learners {4}");
}

TEST(MembershipTest, AccessorsOfAJointConfiguration) {
  const Membership membership =
      membership_of({.voters = {1, 2}, .outgoing_voters = {1, 2, 3}, .learners = {5}, .learners_next = {3}, .auto_leave = true});
  EXPECT_TRUE(membership.joint());
  EXPECT_TRUE(membership.auto_leave());
  EXPECT_TRUE(membership.is_voter(3));    // still votes in the outgoing set
  EXPECT_TRUE(membership.is_learner(3));  // and becomes a learner on leaving
  EXPECT_TRUE(membership.is_learner(5));
  EXPECT_FALSE(membership.is_voter(5));
  EXPECT_EQ(membership.members(), (ReplicaSet{1, 2, 3, 5}));
  EXPECT_EQ(describe(membership), "joint {1,2} & {1,2,3} learners {5} learners_next {3} auto_leave");
}

TEST(MembershipDeathTest, OfRejectsOverlapAndReplicaZero) {
  EXPECT_DEATH((void)Membership::of({1, 2}, {2}), "voter and a learner");
  EXPECT_DEATH((void)Membership::of({0, 1}), "replica 0");
}


TEST(MembershipTest, ToProtoIsSortedSoEqualMembershipsSerializeEqually) {
  proto::RaftMembership shuffled;
  for (ReplicaId id : {4, 1, 2}) shuffled.add_voters(id);
  for (ReplicaId id : {3, 2, 1}) shuffled.add_outgoing_voters(id);
  shuffled.add_learners_next(3);
  shuffled.set_auto_leave(true);
  Result<Membership> membership = Membership::from_proto(shuffled);
  ASSERT_TRUE(membership.ok()) << membership.status();
  const proto::RaftMembership sorted = membership->to_proto();
  EXPECT_EQ(std::vector<uint64_t>(sorted.voters().begin(), sorted.voters().end()), (std::vector<uint64_t>{1, 2, 4}));
  EXPECT_EQ(std::vector<uint64_t>(sorted.outgoing_voters().begin(), sorted.outgoing_voters().end()),
            (std::vector<uint64_t>{1, 2, 3}));
  const Membership same = membership_of({.voters = {1, 2, 4}, .outgoing_voters = {1, 2, 3}, .learners_next = {3}, .auto_leave = true});
  EXPECT_EQ(same, *membership);
  EXPECT_EQ(same.to_proto().SerializeAsString(), sorted.SerializeAsString());
  Result<Membership> round_trip = Membership::from_proto(sorted);
  ASSERT_TRUE(round_trip.ok()) << round_trip.status();
  EXPECT_EQ(*round_trip, *membership);
}

struct InvalidCase {
  JointSpec spec;
  std::string problem;
};

TEST(MembershipTest, FromProtoRejectsEveryBrokenInvariant) {
  const std::vector<InvalidCase> cases = {
      {{.voters = {1, 2}, .learners = {2}}, "2 is a voter and a learner"},
      {{.voters = {1}, .outgoing_voters = {1, 2}, .learners = {2}}, "2 is an outgoing voter and a learner"},
      {{.voters = {1}, .outgoing_voters = {1}, .learners_next = {2}}, "2 is in learners_next but not an outgoing voter"},
      {{.voters = {1, 2}, .outgoing_voters = {1, 2}, .learners_next = {2}}, "2 is in learners_next and a voter"},
      {{.voters = {1}, .learners_next = {1}}, "learners_next but not an outgoing voter"},
      {{.voters = {1}, .auto_leave = true}, "auto_leave outside a joint configuration"},
      {{.voters = {0, 1}}, "replica 0 in voters"},
      {{.voters = {1}, .outgoing_voters = {0, 1}}, "replica 0 in outgoing_voters"},
      {{.voters = {1}, .learners = {0}}, "replica 0 in learners"},
      {{.voters = {1}, .outgoing_voters = {0, 1}, .learners_next = {0}}, "replica 0 in"},
  };
  for (const InvalidCase& invalid : cases) {
    Result<Membership> membership = Membership::from_proto(proto_of(invalid.spec));
    ASSERT_FALSE(membership.ok()) << invalid.problem;
    EXPECT_EQ(membership.status().code(), StatusCode::kInvalidArgument);
    EXPECT_THAT(membership.status().message(), HasSubstr(invalid.problem));
  }
}

TEST(MembershipTest, FromProtoRejectsAnIdListedTwice) {
  proto::RaftMembership membership;
  membership.add_voters(1);
  membership.add_learners(2);
  membership.add_learners(2);
  Result<Membership> result = Membership::from_proto(membership);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(result.status().message(), HasSubstr("replica 2 is listed twice in learners"));
}

TEST(MembershipTest, FromProtoAcceptsTheEmptyMembership) {
  Result<Membership> membership = Membership::from_proto(proto::RaftMembership{});
  ASSERT_TRUE(membership.ok()) << membership.status();
  EXPECT_EQ(*membership, Membership{});
}

// --- Simple changes --------------------------------------------------------------------------

TEST(MembershipChangeTest, SimpleChangesApplyDirectly) {
  const Membership three = Membership::of({1, 2, 3});
  EXPECT_EQ(apply_ok(three, change_of({add_voter(4)})), Membership::of({1, 2, 3, 4}));
  EXPECT_EQ(apply_ok(three, change_of({remove(3)})), Membership::of({1, 2}));
  EXPECT_EQ(apply_ok(three, change_of({add_learner(4)})), Membership::of({1, 2, 3}, {4}));
  // Any number of learner changes plus one voter change is still simple.
  EXPECT_EQ(apply_ok(three, change_of({add_learner(4), add_learner(5), add_voter(6)})),
            Membership::of({1, 2, 3, 6}, {4, 5}));
}

TEST(MembershipChangeTest, AddVoterPromotesALearner) {
  EXPECT_EQ(apply_ok(Membership::of({1, 2, 3}, {4}), change_of({add_voter(4)})), Membership::of({1, 2, 3, 4}));
}

TEST(MembershipChangeTest, AddLearnerDemotesAVoter) {
  EXPECT_EQ(apply_ok(Membership::of({1, 2, 3}), change_of({add_learner(3)})), Membership::of({1, 2}, {3}));
}

TEST(MembershipChangeTest, RemoveTakesALearnerOut) {
  EXPECT_EQ(apply_ok(Membership::of({1, 2, 3}, {4}), change_of({remove(4)})), Membership::of({1, 2, 3}));
}

TEST(MembershipChangeTest, NoOps) {
  const Membership membership = Membership::of({1, 2, 3}, {4});
  EXPECT_EQ(apply_ok(membership, change_of({add_voter(2)})), membership);
  EXPECT_EQ(apply_ok(membership, change_of({add_learner(4)})), membership);
  EXPECT_EQ(apply_ok(membership, change_of({remove(9)})), membership);
  // Two changes that cancel out change no voter: a simple change.
  EXPECT_EQ(apply_ok(membership, change_of({add_voter(5), remove(5)})), membership);
}

TEST(MembershipChangeTest, TheFirstVoterOfAnEmptyMembership) {
  EXPECT_EQ(apply_ok(Membership{}, change_of({add_voter(1)})), Membership::of({1}));
  EXPECT_EQ(apply_ok(Membership{}, change_of({add_voter(1), add_learner(2)})), Membership::of({1}, {2}));
}

// --- Joint configurations --------------------------------------------------------------------

TEST(MembershipChangeTest, AutoWithTwoVoterChangesEntersJointAndLeavesAutomatically) {
  const Membership next = apply_ok(Membership::of({1, 2, 3}), change_of({add_voter(4), remove(3)}));
  EXPECT_EQ(next, membership_of({.voters = {1, 2, 4}, .outgoing_voters = {1, 2, 3}, .auto_leave = true}));
  EXPECT_EQ(describe(next), "joint {1,2,4} & {1,2,3} auto_leave");
  EXPECT_EQ(apply_ok(next, kLeaveJoint), Membership::of({1, 2, 4}));
}

TEST(MembershipChangeTest, AutoAddingTwoVotersEntersJoint) {
  EXPECT_EQ(apply_ok(Membership::of({1}), change_of({add_voter(2), add_voter(3)})),
            membership_of({.voters = {1, 2, 3}, .outgoing_voters = {1}, .auto_leave = true}));
}

TEST(MembershipChangeTest, ExplicitTransitionsEnterJointEvenForOneChange) {
  const Membership three = Membership::of({1, 2, 3});
  EXPECT_EQ(apply_ok(three, change_of({add_voter(4)}, proto::RAFT_TRANSITION_JOINT_IMPLICIT)),
            membership_of({.voters = {1, 2, 3, 4}, .outgoing_voters = {1, 2, 3}, .auto_leave = true}));
  EXPECT_EQ(apply_ok(three, change_of({add_voter(4)}, proto::RAFT_TRANSITION_JOINT_EXPLICIT)),
            membership_of({.voters = {1, 2, 3, 4}, .outgoing_voters = {1, 2, 3}, .auto_leave = false}));
  // Even with no voter change at all.
  EXPECT_EQ(apply_ok(three, change_of({add_learner(5)}, proto::RAFT_TRANSITION_JOINT_EXPLICIT)),
            membership_of({.voters = {1, 2, 3}, .outgoing_voters = {1, 2, 3}, .learners = {5}}));
}

TEST(MembershipChangeTest, ADemotedOutgoingVoterWaitsInLearnersNext) {
  const Membership joint = apply_ok(Membership::of({1, 2, 3}, {4}),
                                    change_of({add_learner(3), add_voter(4)}, proto::RAFT_TRANSITION_JOINT_EXPLICIT));
  EXPECT_EQ(joint, membership_of({.voters = {1, 2, 4}, .outgoing_voters = {1, 2, 3}, .learners_next = {3}}));
  EXPECT_TRUE(joint.is_voter(3));
  EXPECT_TRUE(joint.is_learner(3));
  EXPECT_EQ(apply_ok(joint, kLeaveJoint), Membership::of({1, 2, 4}, {3}));
}

TEST(MembershipChangeTest, RemovedThenAddedAsLearnerInOneJointChange) {
  EXPECT_EQ(apply_ok(Membership::of({1, 2, 3}), change_of({remove(3), add_learner(3), add_voter(4)})),
            membership_of({.voters = {1, 2, 4}, .outgoing_voters = {1, 2, 3}, .learners_next = {3}, .auto_leave = true}));
}

TEST(MembershipChangeTest, DemotedThenPromotedOrRemovedInOneJointChange) {
  const Membership three = Membership::of({1, 2, 3});
  EXPECT_EQ(apply_ok(three, change_of({add_learner(3), add_voter(3)}, proto::RAFT_TRANSITION_JOINT_IMPLICIT)),
            membership_of({.voters = {1, 2, 3}, .outgoing_voters = {1, 2, 3}, .auto_leave = true}));
  EXPECT_EQ(apply_ok(three, change_of({add_learner(3), remove(3)}, proto::RAFT_TRANSITION_JOINT_IMPLICIT)),
            membership_of({.voters = {1, 2}, .outgoing_voters = {1, 2, 3}, .auto_leave = true}));
}

TEST(MembershipChangeTest, ANewLearnerInAJointChangeIsALearnerAtOnce) {
  EXPECT_EQ(apply_ok(Membership::of({1, 2, 3}), change_of({add_learner(5), add_voter(4), remove(1)})),
            membership_of({.voters = {2, 3, 4}, .outgoing_voters = {1, 2, 3}, .learners = {5}, .auto_leave = true}));
}

TEST(MembershipChangeTest, LeavingJointKeepsLearnersAndDropsOutgoingVoters) {
  const Membership joint = membership_of(
      {.voters = {2, 3}, .outgoing_voters = {1, 2, 3}, .learners = {5}, .learners_next = {1}, .auto_leave = true});
  const Membership left = apply_ok(joint, kLeaveJoint);
  EXPECT_EQ(left, Membership::of({2, 3}, {1, 5}));
  EXPECT_FALSE(left.auto_leave());
  EXPECT_FALSE(left.joint());
  EXPECT_TRUE(left.learners_next().empty());
}

TEST(MembershipChangeTest, TheTransitionOfAnEmptyChangeDoesNotMatter) {
  const Membership joint = membership_of({.voters = {1, 2}, .outgoing_voters = {1}});
  EXPECT_EQ(apply_ok(joint, change_of({}, proto::RAFT_TRANSITION_JOINT_EXPLICIT)), Membership::of({1, 2}));
}

// --- Errors ----------------------------------------------------------------------------------

TEST(MembershipChangeTest, LeavingWhenNotJointIsAFailedPrecondition) {
  const Status status = apply_error(Membership::of({1, 2, 3}), kLeaveJoint);
  EXPECT_EQ(status.code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(status.message(), HasSubstr("not in a joint configuration"));
  EXPECT_EQ(apply_error(Membership{}, kLeaveJoint).code(), StatusCode::kFailedPrecondition);
}

TEST(MembershipChangeTest, NoChangeButLeavingWhileJoint) {
  const Membership joint = membership_of({.voters = {1, 2, 4}, .outgoing_voters = {1, 2, 3}});
  for (const auto& change : {change_of({add_learner(5)}), change_of({add_voter(5), remove(4)}),
                             change_of({add_voter(5)}, proto::RAFT_TRANSITION_JOINT_IMPLICIT),
                             change_of({remove(9)}, proto::RAFT_TRANSITION_JOINT_EXPLICIT)}) {
    const Status status = apply_error(joint, change);
    EXPECT_EQ(status.code(), StatusCode::kFailedPrecondition);
    EXPECT_THAT(status.message(), HasSubstr("already in a joint configuration"));
  }
}

TEST(MembershipChangeTest, ReplicaZeroIsInvalid) {
  for (const auto& change : {change_of({add_voter(0)}), change_of({add_voter(4), add_learner(0)}),
                             change_of({remove(0)}, proto::RAFT_TRANSITION_JOINT_EXPLICIT)}) {
    const Status status = apply_error(Membership::of({1, 2, 3}), change);
    EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
    EXPECT_THAT(status.message(), HasSubstr("replica 0"));
  }
  // Malformed input is reported as such even where the state would also refuse the change.
  EXPECT_EQ(apply_error(membership_of({.voters = {1}, .outgoing_voters = {2}}), change_of({add_voter(0)})).code(),
            StatusCode::kInvalidArgument);
}

TEST(MembershipChangeTest, UnknownKindsAndTransitionsAreInvalid) {
  const Membership three = Membership::of({1, 2, 3});
  Status status = apply_error(three, change_of({replica_change(static_cast<proto::RaftMembershipChangeKind>(7), 4)}));
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("unknown change kind 7"));
  status = apply_error(three, change_of({add_voter(4)}, static_cast<proto::RaftMembershipTransition>(9)));
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("unknown transition 9"));
}

TEST(MembershipChangeTest, RemovingEveryVoterIsInvalid) {
  for (const auto& [current, change] : std::vector<std::pair<Membership, proto::RaftMembershipChange>>{
           {Membership::of({1}), change_of({remove(1)})},
           {Membership::of({1}, {2}), change_of({add_learner(1)})},
           {Membership::of({1, 2}), change_of({remove(1), remove(2)})},
           {Membership::of({1, 2}), change_of({remove(1), remove(2)}, proto::RAFT_TRANSITION_JOINT_EXPLICIT)},
           {Membership::of({1, 2, 3}), change_of({remove(1), remove(2), add_learner(3)})},
           {Membership{}, change_of({add_learner(1)})},
       }) {
    const Status status = apply_error(current, change);
    EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << status;
    EXPECT_THAT(status.message(), HasSubstr("removing every voter"));
  }
}

TEST(MembershipChangeTest, AJointConfigurationNeedsVotersToBeItsOutgoingSet) {
  const Status status = apply_error(Membership{}, change_of({add_voter(1), add_voter(2), add_voter(3)}));
  EXPECT_EQ(status.code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(status.message(), HasSubstr("no voters to be the outgoing set"));
}

TEST(MembershipChangeTest, ErrorsNameTheChangeAndTheMembership) {
  const Status status = apply_error(Membership::of({1, 2}, {3}), change_of({remove(1), remove(2)}));
  EXPECT_EQ(status.message(),
            "membership change {remove 1, remove 2} (auto) to voters {1,2} learners {3}: removing every voter");
}

// --- Quorum arithmetic -----------------------------------------------------------------------

TEST(QuorumTest, CommittedIndexIsTheMajorityThLargestForOneToSevenVoters) {
  const std::vector<uint64_t> values = {40, 10, 70, 20, 60, 30, 50};
  for (std::size_t voter_count = 1; voter_count <= values.size(); ++voter_count) {
    for (std::size_t rotation = 0; rotation < voter_count; ++rotation) {
      ReplicaSet voters;
      std::map<ReplicaId, uint64_t> acks;
      for (std::size_t i = 0; i < voter_count; ++i) {
        voters.insert(i + 1);
        acks[i + 1] = values[(i + rotation) % voter_count];
      }
      std::vector<uint64_t> sorted(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(voter_count));
      std::sort(sorted.rbegin(), sorted.rend());
      const uint64_t expected = sorted[voter_count / 2];  // the (⌊n/2⌋+1)-th largest
      EXPECT_EQ(Membership::of(voters).committed_index([&](ReplicaId id) { return acks.at(id); }), expected)
          << voter_count << " voters, rotation " << rotation;
    }
  }
}

TEST(QuorumTest, CommittedIndexExamples) {
  const auto acks = [](std::map<ReplicaId, uint64_t> known) {
    return [known](ReplicaId id) {
      const auto found = known.find(id);
      return found == known.end() ? uint64_t{0} : found->second;
    };
  };
  EXPECT_EQ(Membership::of({1}).committed_index(acks({{1, 9}})), 9u);
  EXPECT_EQ(Membership::of({1, 2}).committed_index(acks({{1, 9}, {2, 4}})), 4u);
  EXPECT_EQ(Membership::of({1, 2, 3}).committed_index(acks({{1, 9}})), 0u);  // unknown acks count as 0
  EXPECT_EQ(Membership::of({1, 2, 3}).committed_index(acks({{1, 9}, {3, 5}})), 5u);
  EXPECT_EQ(Membership::of({1, 2, 3, 4}).committed_index(acks({{1, 9}, {2, 9}, {3, 5}, {4, 5}})), 5u);
  // Learners do not count.
  EXPECT_EQ(Membership::of({1, 2, 3}, {4, 5}).committed_index(acks({{1, 9}, {4, 9}, {5, 9}})), 0u);
}

TEST(QuorumTest, JointCommittedIndexIsTheMinimumOfBothSets) {
  const std::map<ReplicaId, uint64_t> acks = {{1, 10}, {2, 10}, {3, 10}, {4, 3}, {5, 3}, {6, 3}};
  const auto acknowledged = [&](ReplicaId id) { return acks.at(id); };
  EXPECT_EQ(membership_of({.voters = {1, 2, 3}, .outgoing_voters = {4, 5, 6}}).committed_index(acknowledged), 3u);
  EXPECT_EQ(membership_of({.voters = {4, 5, 6}, .outgoing_voters = {1, 2, 3}}).committed_index(acknowledged), 3u);
  // Overlapping sets: incoming {1,2,4} reaches 10, outgoing {1,4,5} only 3.
  EXPECT_EQ(membership_of({.voters = {1, 2, 4}, .outgoing_voters = {1, 4, 5}}).committed_index(acknowledged), 3u);
  EXPECT_EQ(membership_of({.voters = {1, 2, 4}, .outgoing_voters = {1, 2, 5}}).committed_index(acknowledged), 10u);
  // An empty incoming set (never produced by a change, but valid) does not constrain.
  EXPECT_EQ(membership_of({.outgoing_voters = {1, 2, 4}}).committed_index(acknowledged), 10u);
}

TEST(QuorumTest, CommittedIndexOfAVoterSetLargerThanTheStackBuffer) {
  ReplicaSet voters;
  for (ReplicaId id = 1; id <= 41; ++id) voters.insert(id);
  // Replica i holds index i: the 21st largest of 1..41 is 21.
  EXPECT_EQ(Membership::of(voters).committed_index([](ReplicaId id) { return id; }), 21u);
  ReplicaSet outgoing;
  for (ReplicaId id = 100; id < 120; ++id) outgoing.insert(id);
  Membership joint = membership_of({.voters = voters, .outgoing_voters = outgoing});
  EXPECT_EQ(joint.committed_index([](ReplicaId id) { return id < 100 ? id : id - 100; }), 9u);
}

TEST(QuorumTest, VoteResultsOfThreeVoters) {
  const Membership three = Membership::of({1, 2, 3}, {4});
  EXPECT_EQ(three.vote_result({}), VoteResult::kPending);
  EXPECT_EQ(three.vote_result({{1, true}}), VoteResult::kPending);
  EXPECT_EQ(three.vote_result({{1, true}, {2, false}}), VoteResult::kPending);
  EXPECT_EQ(three.vote_result({{1, true}, {2, true}}), VoteResult::kWon);
  EXPECT_EQ(three.vote_result({{1, false}, {2, false}}), VoteResult::kLost);
  EXPECT_EQ(three.vote_result({{1, true}, {2, false}, {3, false}}), VoteResult::kLost);
  // Votes of learners and strangers do not count.
  EXPECT_EQ(three.vote_result({{1, true}, {4, true}, {9, true}}), VoteResult::kPending);
}

TEST(QuorumTest, VoteResultsOfEvenSets) {
  const Membership four = Membership::of({1, 2, 3, 4});
  EXPECT_EQ(four.vote_result({{1, true}, {2, true}}), VoteResult::kPending);
  EXPECT_EQ(four.vote_result({{1, true}, {2, true}, {3, true}}), VoteResult::kWon);
  EXPECT_EQ(four.vote_result({{1, false}, {2, false}}), VoteResult::kLost);  // 2 of 4 is no majority
  EXPECT_EQ(Membership::of({1}).vote_result({{1, true}}), VoteResult::kWon);
  EXPECT_EQ(Membership::of({1}).vote_result({{1, false}}), VoteResult::kLost);
}

TEST(QuorumTest, JointVoteResultsNeedBothSets) {
  const Membership joint = membership_of({.voters = {1, 2, 3}, .outgoing_voters = {3, 4, 5}});
  EXPECT_EQ(joint.vote_result({{1, true}, {2, true}}), VoteResult::kPending);                      // won, pending
  EXPECT_EQ(joint.vote_result({{1, true}, {2, true}, {4, false}, {5, false}}), VoteResult::kLost);  // won, lost
  EXPECT_EQ(joint.vote_result({{1, false}, {2, false}, {4, true}}), VoteResult::kLost);            // lost, pending
  EXPECT_EQ(joint.vote_result({{1, true}, {3, true}, {4, true}}), VoteResult::kWon);  // 3 counts in both
  EXPECT_EQ(joint.vote_result({{1, true}, {2, true}, {4, true}, {5, true}}), VoteResult::kWon);
}

TEST(QuorumTest, ActiveQuorum) {
  const auto active_in = [](ReplicaSet active) { return [active](ReplicaId id) { return active.contains(id); }; };
  const Membership three = Membership::of({1, 2, 3}, {4, 5});
  EXPECT_TRUE(three.has_active_quorum(active_in({1, 2})));
  EXPECT_FALSE(three.has_active_quorum(active_in({1, 4, 5})));  // learners do not count
  EXPECT_TRUE(Membership::of({1}).has_active_quorum(active_in({1})));
  EXPECT_FALSE(Membership::of({1, 2}).has_active_quorum(active_in({1})));
  const Membership joint = membership_of({.voters = {1, 2, 3}, .outgoing_voters = {4, 5, 6}});
  EXPECT_FALSE(joint.has_active_quorum(active_in({1, 2, 3})));
  EXPECT_FALSE(joint.has_active_quorum(active_in({4, 5, 6})));
  EXPECT_TRUE(joint.has_active_quorum(active_in({1, 2, 5, 6})));
}

TEST(DescribeTest, Changes) {
  EXPECT_EQ(describe(change_of({add_voter(4), add_learner(5), remove(3)})),
            "{add voter 4, add learner 5, remove 3} (auto)");
  EXPECT_EQ(describe(change_of({add_voter(4)}, proto::RAFT_TRANSITION_JOINT_EXPLICIT)), "{add voter 4} (joint explicit)");
  EXPECT_EQ(describe(kLeaveJoint), "{} (leave joint)");
}

// --- Properties ------------------------------------------------------------------------------

constexpr ReplicaId kLargestId = 8;

rc::Gen<proto::RaftReplicaChange> replica_change_generator() {
  const auto replica = rc::gen::weightedOneOf<ReplicaId>(
      {{30, rc::gen::inRange<ReplicaId>(1, kLargestId + 1)}, {1, rc::gen::just<ReplicaId>(0)}});
  return rc::gen::apply(replica_change,
                        rc::gen::element(proto::RAFT_ADD_VOTER, proto::RAFT_ADD_LEARNER, proto::RAFT_REMOVE), replica);
}

rc::Gen<proto::RaftMembershipChange> change_generator() {
  const auto changes = rc::gen::mapcat(rc::gen::inRange(0, 5), [](int count) {
    return rc::gen::container<std::vector<proto::RaftReplicaChange>>(static_cast<std::size_t>(count),
                                                                     replica_change_generator());
  });
  return rc::gen::apply(change_of, changes,
                        rc::gen::element(proto::RAFT_TRANSITION_AUTO, proto::RAFT_TRANSITION_AUTO,
                                         proto::RAFT_TRANSITION_JOINT_IMPLICIT, proto::RAFT_TRANSITION_JOINT_EXPLICIT));
}

bool disjoint(const ReplicaSet& a, const ReplicaSet& b) {
  return std::none_of(a.begin(), a.end(), [&](ReplicaId id) { return b.contains(id); });
}

bool subset(const ReplicaSet& a, const ReplicaSet& b) {
  return std::all_of(a.begin(), a.end(), [&](ReplicaId id) { return b.contains(id); });
}

// The invariants, restated here so the test does not trust the code under test.
void check_invariants(const Membership& membership) {
  RC_ASSERT(disjoint(membership.voters(), membership.learners()));
  RC_ASSERT(disjoint(membership.outgoing_voters(), membership.learners()));
  RC_ASSERT(subset(membership.learners_next(), membership.outgoing_voters()));
  RC_ASSERT(disjoint(membership.learners_next(), membership.voters()));
  if (!membership.joint()) {
    RC_ASSERT(membership.learners_next().empty());
    RC_ASSERT(!membership.auto_leave());
  }
  RC_ASSERT(!membership.members().contains(0));
  RC_ASSERT(membership.joint() == !membership.outgoing_voters().empty());
}

std::size_t symmetric_difference_size(const ReplicaSet& a, const ReplicaSet& b) {
  std::vector<ReplicaId> difference;
  std::set_symmetric_difference(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(difference));
  return difference.size();
}

// What a successful change did, against the rules stated in membership.h.
void check_effect(const Membership& before, const proto::RaftMembershipChange& change, const Membership& after) {
  if (change.changes().empty()) {
    RC_ASSERT(before.joint());
    RC_ASSERT(!after.joint());
    RC_ASSERT(after.voters() == before.voters());
    ReplicaSet learners = before.learners();
    learners.insert(before.learners_next().begin(), before.learners_next().end());
    RC_ASSERT(after.learners() == learners);
    return;
  }
  RC_ASSERT(!before.joint());
  RC_ASSERT(!after.voters().empty());
  const bool simple_allowed = change.transition() == proto::RAFT_TRANSITION_AUTO &&
                              symmetric_difference_size(before.voters(), after.voters()) <= 1;
  RC_ASSERT(after.joint() == !simple_allowed);
  if (after.joint()) {
    RC_ASSERT(after.outgoing_voters() == before.voters());
    RC_ASSERT(after.auto_leave() == (change.transition() != proto::RAFT_TRANSITION_JOINT_EXPLICIT));
  }
  // Every replica ends as its last change says; every other keeps its role.
  std::map<ReplicaId, proto::RaftMembershipChangeKind> last_change;
  for (const auto& replica : change.changes()) last_change[replica.replica()] = replica.kind();
  for (ReplicaId id = 1; id <= kLargestId; ++id) {
    const auto found = last_change.find(id);
    const bool voter = after.voters().contains(id);
    const bool learner = after.learners().contains(id) || after.learners_next().contains(id);
    if (found == last_change.end()) {
      RC_ASSERT(voter == before.voters().contains(id));
      RC_ASSERT(learner == before.learners().contains(id));
    } else if (found->second == proto::RAFT_ADD_VOTER) {
      RC_ASSERT(voter && !learner);
    } else if (found->second == proto::RAFT_ADD_LEARNER) {
      RC_ASSERT(!voter && learner);
      RC_ASSERT(after.learners_next().contains(id) == after.outgoing_voters().contains(id));
    } else {
      RC_ASSERT(!voter && !learner);
    }
  }
}

// Replays the error rules that do not need the result to decide.
void check_error(const Membership& before, const proto::RaftMembershipChange& change, const Status& status) {
  const bool has_zero = std::any_of(change.changes().begin(), change.changes().end(),
                                    [](const proto::RaftReplicaChange& replica) { return replica.replica() == 0; });
  if (has_zero) {
    RC_ASSERT(status.code() == StatusCode::kInvalidArgument);
  } else if (change.changes().empty()) {
    RC_ASSERT(!before.joint());
    RC_ASSERT(status.code() == StatusCode::kFailedPrecondition);
  } else if (before.joint()) {
    RC_ASSERT(status.code() == StatusCode::kFailedPrecondition);
  } else {
    // "removing every voter", or a joint configuration without voters to be its outgoing set.
    RC_ASSERT(status.code() == StatusCode::kInvalidArgument ||
              (status.code() == StatusCode::kFailedPrecondition && before.voters().empty()));
  }
}

RC_GTEST_PROP_CASES(MembershipProperty, RandomChangesKeepTheInvariantsAndRoundTrip, 1000, ()) {
  const auto start = *rc::gen::element(Membership{}, Membership::of({1}), Membership::of({1, 2, 3}, {4}));
  const auto changes = *rc::gen::container<std::vector<proto::RaftMembershipChange>>(change_generator());
  Membership current = start;
  int applied = 0;
  for (const proto::RaftMembershipChange& change : changes) {
    Result<Membership> next = apply_membership_change(current, change);
    if (!next.ok()) {
      check_error(current, change, next.status());
      continue;
    }
    check_invariants(*next);
    check_effect(current, change, *next);
    Result<Membership> round_trip = Membership::from_proto(next->to_proto());
    RC_ASSERT(round_trip.ok());
    RC_ASSERT(*round_trip == *next);
    current = *next;
    ++applied;
  }
  RC_CLASSIFY(current.joint(), "ends joint");
  RC_CLASSIFY(applied >= 5, "5+ changes applied");
}

// A subset of replicas 1..9 (a std::set generator would give up looking for more distinct ids).
rc::Gen<ReplicaSet> replica_subset_generator() {
  return rc::gen::map(rc::gen::container<std::vector<bool>>(9, rc::gen::arbitrary<bool>()),
                      [](const std::vector<bool>& chosen) {
                        ReplicaSet ids;
                        for (ReplicaId id = 1; id <= chosen.size(); ++id) {
                          if (chosen[id - 1]) ids.insert(id);
                        }
                        return ids;
                      });
}

// Any two voter sets, at least one of them non-empty; learners do not matter to quorums.
rc::Gen<Membership> quorum_membership_generator() {
  return rc::gen::suchThat(
      rc::gen::apply(
          [](ReplicaSet voters, ReplicaSet outgoing, bool joint) {
            return membership_of({.voters = std::move(voters), .outgoing_voters = joint ? std::move(outgoing) : ReplicaSet{}});
          },
          replica_subset_generator(), replica_subset_generator(), rc::gen::arbitrary<bool>()),
      [](const Membership& membership) { return !membership.empty(); });
}

std::vector<const ReplicaSet*> voter_sets(const Membership& membership) {
  std::vector<const ReplicaSet*> sets;
  for (const ReplicaSet* set : {&membership.voters(), &membership.outgoing_voters()}) {
    if (!set->empty()) sets.push_back(set);
  }
  return sets;
}

std::size_t count_in(const ReplicaSet& voters, const std::function<bool(ReplicaId)>& predicate) {
  return static_cast<std::size_t>(std::count_if(voters.begin(), voters.end(), predicate));
}

RC_GTEST_PROP_CASES(MembershipProperty, CommittedIndexIsTheLargestAcknowledgedByAMajorityOfEachSet, 1000, ()) {
  const Membership membership = *quorum_membership_generator();
  const auto acks = *rc::gen::container<std::vector<uint64_t>>(10, rc::gen::inRange<uint64_t>(0, 12));
  const auto acknowledged = [&](ReplicaId id) { return acks.at(id); };
  const uint64_t committed = membership.committed_index(acknowledged);
  RC_ASSERT(committed < std::numeric_limits<uint64_t>::max());
  const auto majority_holds = [&](const ReplicaSet& voters, uint64_t index) {
    return count_in(voters, [&](ReplicaId id) { return acks.at(id) >= index; }) >= majority(voters.size());
  };
  const auto sets = voter_sets(membership);
  for (const ReplicaSet* voters : sets) RC_ASSERT(majority_holds(*voters, committed));
  RC_ASSERT(std::any_of(sets.begin(), sets.end(),
                        [&](const ReplicaSet* voters) { return !majority_holds(*voters, committed + 1); }));
}

RC_GTEST_PROP_CASES(MembershipProperty, VoteResultMatchesTheDefinition, 1000, ()) {
  const Membership membership = *quorum_membership_generator();
  // Per replica 1..9: 0 no vote yet, 1 granted, 2 rejected.
  const auto ballots = *rc::gen::container<std::vector<int>>(10, rc::gen::inRange(0, 3));
  std::map<ReplicaId, bool> votes;
  for (ReplicaId id = 1; id < 10; ++id) {
    if (ballots[id] != 0) votes[id] = ballots[id] == 1;
  }
  const auto granted = [&](ReplicaId id) { return ballots[id] == 1; };
  const auto may_grant = [&](ReplicaId id) { return ballots[id] != 2; };
  const auto sets = voter_sets(membership);
  const bool won = std::all_of(sets.begin(), sets.end(), [&](const ReplicaSet* voters) {
    return count_in(*voters, granted) >= majority(voters->size());
  });
  const bool lost = std::any_of(sets.begin(), sets.end(), [&](const ReplicaSet* voters) {
    return count_in(*voters, may_grant) < majority(voters->size());
  });
  const VoteResult result = membership.vote_result(votes);
  RC_ASSERT((result == VoteResult::kWon) == won);
  RC_ASSERT((result == VoteResult::kLost) == lost);
  RC_TAG(result == VoteResult::kWon ? "won" : result == VoteResult::kLost ? "lost" : "pending");
}

RC_GTEST_PROP_CASES(MembershipProperty, ActiveQuorumMatchesTheDefinition, 1000, ()) {
  const Membership membership = *quorum_membership_generator();
  const auto active = *replica_subset_generator();
  const auto recently_active = [&](ReplicaId id) { return active.contains(id); };
  const auto sets = voter_sets(membership);
  const bool expected = std::all_of(sets.begin(), sets.end(), [&](const ReplicaSet* voters) {
    return count_in(*voters, recently_active) >= majority(voters->size());
  });
  RC_ASSERT(membership.has_active_quorum(recently_active) == expected);
}

}  // namespace
}  // namespace cairn::raft
