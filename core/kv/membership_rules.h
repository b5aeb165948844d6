// Membership rules of the key-value service: which requested changes a leader refuses before
// they reach Raft. Raft itself accepts any valid change; an operator's request deserves more:
//  - a change that would change nothing (removing a node that is not a member, promoting a
//    voter, adding a learner twice) is refused (ALREADY_EXISTS) and writes no log entry, so a
//    typo is reported rather than printed as OK;
//  - a learner is promoted only once it has caught up. Promoted earlier, it counts towards every
//    quorum while it cannot yet acknowledge anything, so a three-voter group with one voter down
//    would stall until the new voter had copied the whole log.
#pragma once

#include <cstdint>
#include <map>
#include <optional>

#include "core/proto/kv.pb.h"
#include "core/raft/membership.h"
#include "core/runtime/network.h"

namespace cairn::kv {

// A learner is ready when it holds at least 90 % of the committed log (etcd's rule): close
// enough that it catches the rest within moments, loose enough that a busy leader's moving
// commit index does not refuse it forever.
uint64_t learner_needed_index(uint64_t commit_index);

// ALREADY_EXISTS (the change is in force already) saying what is already so when every replica
// change in `change` is a no-op
// against `current`; OK otherwise (an empty change, which leaves a joint configuration, is left
// to Raft's own validation).
Status refuse_no_op_change(const raft::Membership& current, const proto::RaftMembershipChange& change);

// The first learner that `change` would promote whose matched index (the leader's view,
// `matched`; absent counts as 0) is below learner_needed_index(commit_index), or nothing.
std::optional<proto::KvLearnerLag> learner_not_caught_up(const raft::Membership& current,
                                                         const proto::RaftMembershipChange& change,
                                                         const std::map<NodeId, uint64_t>& matched,
                                                         uint64_t commit_index);

}  // namespace cairn::kv
