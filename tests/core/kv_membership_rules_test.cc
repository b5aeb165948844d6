// Membership rules of the key-value service (core/kv/membership_rules.h): no-op changes are
// refused with what is already so; a learner is promoted only once it holds 90 % of the
// committed log; a change that does something passes.
#include <gtest/gtest.h>

#include "core/kv/membership_rules.h"

namespace cairn::kv {
namespace {

proto::RaftMembershipChange change_of(std::vector<std::pair<proto::RaftMembershipChangeKind, uint64_t>> changes) {
  proto::RaftMembershipChange change;
  for (const auto& [kind, replica] : changes) {
    proto::RaftReplicaChange* one = change.add_changes();
    one->set_kind(kind);
    one->set_replica(replica);
  }
  return change;
}

const raft::Membership kThreeVotersOneLearner = raft::Membership::of({1, 2, 3}, {4});

TEST(MembershipRules, RemovingANonMemberIsRefusedNamingIt) {
  const Status refused = refuse_no_op_change(kThreeVotersOneLearner, change_of({{proto::RAFT_REMOVE, 99}}));
  EXPECT_EQ(refused.code(), StatusCode::kAlreadyExists);
  EXPECT_NE(refused.message().find("node 99 is not a member"), std::string::npos) << refused.message();
  EXPECT_NE(refused.message().find("voters 1,2,3, learners 4"), std::string::npos) << refused.message();
}

TEST(MembershipRules, PromotingAVoterAndAddingALearnerTwiceAreRefused) {
  EXPECT_NE(refuse_no_op_change(kThreeVotersOneLearner, change_of({{proto::RAFT_ADD_VOTER, 3}})).message().find(
                "node 3 is already a voter"),
            std::string::npos);
  EXPECT_NE(refuse_no_op_change(kThreeVotersOneLearner, change_of({{proto::RAFT_ADD_LEARNER, 4}})).message().find(
                "node 4 is already a learner"),
            std::string::npos);
}

TEST(MembershipRules, ChangesThatDoSomethingPass) {
  EXPECT_TRUE(refuse_no_op_change(kThreeVotersOneLearner, change_of({{proto::RAFT_REMOVE, 4}})).ok());
  EXPECT_TRUE(refuse_no_op_change(kThreeVotersOneLearner, change_of({{proto::RAFT_ADD_VOTER, 4}})).ok());
  EXPECT_TRUE(refuse_no_op_change(kThreeVotersOneLearner, change_of({{proto::RAFT_ADD_LEARNER, 3}})).ok());
  EXPECT_TRUE(refuse_no_op_change(kThreeVotersOneLearner, change_of({{proto::RAFT_ADD_LEARNER, 5}})).ok());
  // One real change among no-ops is a change.
  EXPECT_TRUE(refuse_no_op_change(kThreeVotersOneLearner,
                                  change_of({{proto::RAFT_REMOVE, 99}, {proto::RAFT_ADD_VOTER, 4}})).ok());
  // Leaving a joint configuration has no replica changes: Raft judges it.
  EXPECT_TRUE(refuse_no_op_change(kThreeVotersOneLearner, {}).ok());
}

TEST(MembershipRules, ALearnerBehindIsNotPromotedAndTheLagIsReported) {
  const auto promote_four = change_of({{proto::RAFT_ADD_VOTER, 4}});
  std::optional<proto::KvLearnerLag> lag = learner_not_caught_up(kThreeVotersOneLearner, promote_four, {{4, 12}}, 340);
  ASSERT_TRUE(lag.has_value());
  EXPECT_EQ(lag->replica(), 4u);
  EXPECT_EQ(lag->matched_index(), 12u);
  EXPECT_EQ(lag->commit_index(), 340u);
  EXPECT_EQ(lag->needed_index(), 306u);
  // Unknown progress counts as nothing held.
  EXPECT_TRUE(learner_not_caught_up(kThreeVotersOneLearner, promote_four, {}, 5).has_value());
}

TEST(MembershipRules, ALearnerWithNinetyPercentOfTheCommittedLogIsPromoted) {
  const auto promote_four = change_of({{proto::RAFT_ADD_VOTER, 4}});
  EXPECT_FALSE(learner_not_caught_up(kThreeVotersOneLearner, promote_four, {{4, 306}}, 340).has_value());
  EXPECT_TRUE(learner_not_caught_up(kThreeVotersOneLearner, promote_four, {{4, 305}}, 340).has_value());
  EXPECT_FALSE(learner_not_caught_up(kThreeVotersOneLearner, promote_four, {{4, 340}}, 340).has_value());
}

TEST(MembershipRules, OnlyPromotionsOfLearnersWait) {
  // A new node added straight as a voter, and a demotion, are not promotions.
  EXPECT_FALSE(learner_not_caught_up(kThreeVotersOneLearner, change_of({{proto::RAFT_ADD_VOTER, 7}}), {}, 340).has_value());
  EXPECT_FALSE(learner_not_caught_up(kThreeVotersOneLearner, change_of({{proto::RAFT_ADD_LEARNER, 3}}), {}, 340).has_value());
}

}  // namespace
}  // namespace cairn::kv
