// Membership configurations, their changes (etcd's joint-consensus rules) and quorum arithmetic.
#include "core/raft/membership.h"

#include <algorithm>
#include <array>
#include <cstddef>
#include <functional>
#include <limits>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

namespace cairn::raft {
namespace {

// What an empty voter set acknowledges: it must not constrain the other half of a joint
// configuration, so it agrees with everything and min() picks the other set's answer.
constexpr uint64_t kEverything = std::numeric_limits<uint64_t>::max();

// Voter sets up to this size are ranked on the stack. Raft groups have 3 to 7 voters; larger
// sets still work, with one allocation.
constexpr std::size_t kInlineVoters = 16;

std::size_t majority(std::size_t voter_count) { return voter_count / 2 + 1; }

// The largest index that a majority of `voters` holds: the majority-th largest acknowledgement.
uint64_t majority_acknowledged(const ReplicaSet& voters,
                               const std::function<uint64_t(ReplicaId)>& acknowledged) {
  if (voters.empty()) return kEverything;
  std::array<uint64_t, kInlineVoters> inline_indexes{};
  std::vector<uint64_t> heap_indexes;
  std::span<uint64_t> indexes(inline_indexes.data(), voters.size());
  if (voters.size() > kInlineVoters) {
    heap_indexes.resize(voters.size());
    indexes = heap_indexes;
  }
  std::size_t position = 0;
  for (ReplicaId id : voters) indexes[position++] = acknowledged(id);
  const auto majority_th = indexes.begin() + static_cast<std::ptrdiff_t>(majority(voters.size()) - 1);
  std::nth_element(indexes.begin(), majority_th, indexes.end(), std::greater<>());
  return *majority_th;
}

VoteResult set_vote_result(const ReplicaSet& voters, const std::map<ReplicaId, bool>& votes) {
  if (voters.empty()) return VoteResult::kWon;  // does not constrain the other set
  std::size_t granted = 0;
  std::size_t missing = 0;
  for (ReplicaId id : voters) {
    const auto vote = votes.find(id);
    if (vote == votes.end()) {
      ++missing;
    } else if (vote->second) {
      ++granted;
    }
  }
  const std::size_t needed = majority(voters.size());
  if (granted >= needed) return VoteResult::kWon;
  if (granted + missing >= needed) return VoteResult::kPending;
  return VoteResult::kLost;
}

bool set_has_active_quorum(const ReplicaSet& voters, const std::function<bool(ReplicaId)>& recently_active) {
  if (voters.empty()) return true;  // does not constrain the other set
  const auto active = std::count_if(voters.begin(), voters.end(), recently_active);
  return static_cast<std::size_t>(active) >= majority(voters.size());
}

std::size_t symmetric_difference_size(const ReplicaSet& a, const ReplicaSet& b) {
  const auto only_a = std::count_if(a.begin(), a.end(), [&](ReplicaId id) { return !b.contains(id); });
  const auto only_b = std::count_if(b.begin(), b.end(), [&](ReplicaId id) { return !a.contains(id); });
  return static_cast<std::size_t>(only_a + only_b);
}

std::string describe_set(const ReplicaSet& ids) {
  std::string text = "{";
  for (ReplicaId id : ids) {
    if (text.size() > 1) text += ",";
    text += std::to_string(id);
  }
  return text + "}";
}

// Reads one repeated id field; an id listed twice means the bytes were not written by
// to_proto, so they are rejected rather than silently merged.
Status read_ids(const google::protobuf::RepeatedField<uint64_t>& field, std::string_view name, ReplicaSet& ids) {
  for (uint64_t id : field) {
    if (!ids.insert(id).second) {
      return Status::invalid_argument("invalid membership: replica " + std::to_string(id) + " is listed twice in " +
                                      std::string(name));
    }
  }
  return Status::ok_status();
}

void write_ids(const ReplicaSet& ids, google::protobuf::RepeatedField<uint64_t>& field) {
  field.Reserve(static_cast<int>(ids.size()));
  for (ReplicaId id : ids) field.Add(id);  // std::set order: sorted
}

// The empty string when every invariant holds, otherwise the first one broken.
std::string broken_invariant(const Membership& membership) {
  const std::pair<const ReplicaSet*, std::string_view> sets[] = {{&membership.voters(), "voters"},
                                                                 {&membership.outgoing_voters(), "outgoing_voters"},
                                                                 {&membership.learners(), "learners"},
                                                                 {&membership.learners_next(), "learners_next"}};
  for (const auto& [ids, name] : sets) {
    if (ids->contains(0)) return "replica 0 in " + std::string(name);
  }
  for (ReplicaId id : membership.learners()) {
    if (membership.voters().contains(id)) return "replica " + std::to_string(id) + " is a voter and a learner";
    if (membership.outgoing_voters().contains(id)) {
      return "replica " + std::to_string(id) + " is an outgoing voter and a learner (it belongs in learners_next)";
    }
  }
  for (ReplicaId id : membership.learners_next()) {
    if (!membership.outgoing_voters().contains(id)) {
      return "replica " + std::to_string(id) + " is in learners_next but not an outgoing voter";
    }
    if (membership.voters().contains(id)) return "replica " + std::to_string(id) + " is in learners_next and a voter";
  }
  if (!membership.joint() && !membership.learners_next().empty()) return "learners_next outside a joint configuration";
  if (!membership.joint() && membership.auto_leave()) return "auto_leave outside a joint configuration";
  return "";
}

Status change_error(StatusCode code, const Membership& current, const proto::RaftMembershipChange& change,
                    std::string_view problem) {
  return Status(code, "membership change " + describe(change) + " to " + describe(current) + ": " +
                          std::string(problem));
}

// Malformed changes, whatever the current configuration.
Status validate_change(const Membership& current, const proto::RaftMembershipChange& change) {
  if (!proto::RaftMembershipTransition_IsValid(change.transition())) {
    return change_error(StatusCode::kInvalidArgument, current, change,
                        "unknown transition " + std::to_string(change.transition()));
  }
  for (const proto::RaftReplicaChange& replica_change : change.changes()) {
    if (!proto::RaftMembershipChangeKind_IsValid(replica_change.kind())) {
      return change_error(StatusCode::kInvalidArgument, current, change,
                          "unknown change kind " + std::to_string(replica_change.kind()));
    }
    if (replica_change.replica() == 0) {
      return change_error(StatusCode::kInvalidArgument, current, change, "replica 0 is not a valid id");
    }
  }
  return Status::ok_status();
}

std::string describe_replica_change(const proto::RaftReplicaChange& change) {
  const std::string replica = std::to_string(change.replica());
  switch (change.kind()) {
    case proto::RAFT_ADD_VOTER:
      return "add voter " + replica;
    case proto::RAFT_ADD_LEARNER:
      return "add learner " + replica;
    case proto::RAFT_REMOVE:
      return "remove " + replica;
    default:
      return "change of unknown kind " + std::to_string(change.kind()) + " to " + replica;
  }
}

std::string_view transition_name(proto::RaftMembershipTransition transition) {
  switch (transition) {
    case proto::RAFT_TRANSITION_AUTO:
      return "auto";
    case proto::RAFT_TRANSITION_JOINT_IMPLICIT:
      return "joint implicit";
    case proto::RAFT_TRANSITION_JOINT_EXPLICIT:
      return "joint explicit";
    default:
      return "unknown transition";
  }
}

}  // namespace

Result<Membership> Membership::from_proto(const proto::RaftMembership& membership) {
  Membership result;
  CAIRN_RETURN_IF_ERROR(read_ids(membership.voters(), "voters", result.voters_));
  CAIRN_RETURN_IF_ERROR(read_ids(membership.outgoing_voters(), "outgoing_voters", result.outgoing_voters_));
  CAIRN_RETURN_IF_ERROR(read_ids(membership.learners(), "learners", result.learners_));
  CAIRN_RETURN_IF_ERROR(read_ids(membership.learners_next(), "learners_next", result.learners_next_));
  result.auto_leave_ = membership.auto_leave();
  if (std::string problem = broken_invariant(result); !problem.empty()) {
    return Status::invalid_argument("invalid membership " + describe(result) + ": " + problem);
  }
  return result;
}

Membership Membership::of(ReplicaSet voters, ReplicaSet learners) {
  Membership result;
  result.voters_ = std::move(voters);
  result.learners_ = std::move(learners);
  const std::string problem = broken_invariant(result);
  CAIRN_ASSERT(problem.empty(), "Membership::of(" + describe(result) + "): " + problem);
  return result;
}

proto::RaftMembership Membership::to_proto() const {
  proto::RaftMembership membership;
  write_ids(voters_, *membership.mutable_voters());
  write_ids(outgoing_voters_, *membership.mutable_outgoing_voters());
  write_ids(learners_, *membership.mutable_learners());
  write_ids(learners_next_, *membership.mutable_learners_next());
  membership.set_auto_leave(auto_leave_);
  return membership;
}

bool Membership::is_voter(ReplicaId id) const { return voters_.contains(id) || outgoing_voters_.contains(id); }

bool Membership::is_learner(ReplicaId id) const { return learners_.contains(id) || learners_next_.contains(id); }

bool Membership::contains(ReplicaId id) const { return is_voter(id) || is_learner(id); }

ReplicaSet Membership::members() const {
  ReplicaSet result = voters_;
  result.insert(outgoing_voters_.begin(), outgoing_voters_.end());
  result.insert(learners_.begin(), learners_.end());
  result.insert(learners_next_.begin(), learners_next_.end());  // already outgoing voters; kept for clarity
  return result;
}

uint64_t Membership::committed_index(const std::function<uint64_t(ReplicaId)>& acknowledged) const {
  if (empty()) return 0;
  return std::min(majority_acknowledged(voters_, acknowledged), majority_acknowledged(outgoing_voters_, acknowledged));
}

VoteResult Membership::vote_result(const std::map<ReplicaId, bool>& votes) const {
  // A replica that has not been bootstrapped must never lead, however it counts votes.
  if (empty()) return VoteResult::kLost;
  const VoteResult incoming = set_vote_result(voters_, votes);
  const VoteResult outgoing = set_vote_result(outgoing_voters_, votes);
  if (incoming == VoteResult::kLost || outgoing == VoteResult::kLost) return VoteResult::kLost;
  if (incoming == VoteResult::kWon && outgoing == VoteResult::kWon) return VoteResult::kWon;
  return VoteResult::kPending;
}

bool Membership::has_active_quorum(const std::function<bool(ReplicaId)>& recently_active) const {
  if (empty()) return false;
  return set_has_active_quorum(voters_, recently_active) && set_has_active_quorum(outgoing_voters_, recently_active);
}

namespace {

// The per-replica rules. Where a demoted voter goes depends on the outgoing set (empty for a
// simple change).
struct ChangeApplier {
  ReplicaSet& voters;
  const ReplicaSet& outgoing_voters;
  ReplicaSet& learners;
  ReplicaSet& learners_next;

  void add_voter(ReplicaId id) {
    learners.erase(id);
    learners_next.erase(id);
    voters.insert(id);
  }
  void add_learner(ReplicaId id) {
    if (learners.contains(id)) return;
    voters.erase(id);
    learners_next.erase(id);
    // An outgoing voter keeps voting in the outgoing set until the joint configuration is
    // left; only then can it become a learner without breaking outgoing ∩ learners = ∅.
    if (outgoing_voters.contains(id)) {
      learners_next.insert(id);
    } else {
      learners.insert(id);
    }
  }
  void remove(ReplicaId id) {
    voters.erase(id);
    learners.erase(id);
    learners_next.erase(id);
  }
  void apply(const proto::RaftReplicaChange& change) {
    switch (change.kind()) {
      case proto::RAFT_ADD_VOTER:
        add_voter(change.replica());
        return;
      case proto::RAFT_ADD_LEARNER:
        add_learner(change.replica());
        return;
      case proto::RAFT_REMOVE:
        remove(change.replica());
        return;
      default:
        CAIRN_PANIC("unvalidated change kind " + std::to_string(change.kind()));
    }
  }
};

}  // namespace

void Membership::apply_replica_changes(const proto::RaftMembershipChange& change) {
  ChangeApplier applier{voters_, outgoing_voters_, learners_, learners_next_};
  for (const proto::RaftReplicaChange& replica_change : change.changes()) applier.apply(replica_change);
}

Result<Membership> Membership::left_joint(const Membership& current, const proto::RaftMembershipChange& change) {
  if (!current.joint()) {
    return change_error(StatusCode::kFailedPrecondition, current, change, "not in a joint configuration to leave");
  }
  Membership next = current;
  next.learners_.merge(next.learners_next_);
  next.learners_next_.clear();
  next.outgoing_voters_.clear();
  next.auto_leave_ = false;
  return next;
}

Result<Membership> Membership::changed(const Membership& current, const proto::RaftMembershipChange& change) {
  if (current.joint()) {
    return change_error(StatusCode::kFailedPrecondition, current, change,
                        "already in a joint configuration (leave it with an empty change first)");
  }
  Membership next = current;
  next.apply_replica_changes(change);
  // A simple change is safe only when every old majority overlaps every new one, i.e. at most
  // one voter differs; anything more goes through a joint configuration.
  const bool simple = change.transition() == proto::RAFT_TRANSITION_AUTO &&
                      symmetric_difference_size(current.voters_, next.voters_) <= 1;
  if (!simple) {
    if (current.voters_.empty()) {
      return change_error(StatusCode::kFailedPrecondition, current, change,
                          "no voters to be the outgoing set of a joint configuration");
    }
    next = current;
    next.outgoing_voters_ = current.voters_;
    next.apply_replica_changes(change);
    next.auto_leave_ = change.transition() != proto::RAFT_TRANSITION_JOINT_EXPLICIT;
  }
  if (next.voters_.empty()) return change_error(StatusCode::kInvalidArgument, current, change, "removing every voter");
  return next;
}

Result<Membership> apply_membership_change(const Membership& current, const proto::RaftMembershipChange& change) {
  CAIRN_RETURN_IF_ERROR(validate_change(current, change));
  Result<Membership> next = change.changes().empty() ? Membership::left_joint(current, change)
                                                     : Membership::changed(current, change);
  if (next.ok()) {
    const std::string problem = broken_invariant(*next);
    CAIRN_ASSERT(problem.empty(), "membership change " + describe(change) + " to " + describe(current) + " gave " +
                                      describe(*next) + ": " + problem);
  }
  return next;
}

std::string describe(const Membership& membership) {
  std::string text = membership.joint() ? "joint " + describe_set(membership.voters()) + " & " +
                                              describe_set(membership.outgoing_voters())
                                        : "voters " + describe_set(membership.voters());
  if (!membership.learners().empty()) text += " learners " + describe_set(membership.learners());
  if (!membership.learners_next().empty()) text += " learners_next " + describe_set(membership.learners_next());
  if (membership.auto_leave()) text += " auto_leave";
  return text;
}

std::string describe(const proto::RaftMembershipChange& change) {
  if (change.changes().empty()) return "{} (leave joint)";
  std::string text = "{";
  for (const proto::RaftReplicaChange& replica_change : change.changes()) {
    if (text.size() > 1) text += ", ";
    text += describe_replica_change(replica_change);
  }
  return text + "} (" + std::string(transition_name(change.transition())) + ")";
}

}  // namespace cairn::raft
