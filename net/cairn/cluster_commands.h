// The `cairn cluster` commands: `status` (every member's own view, side by side) and the
// membership and leadership changes (`add`, `promote`, `remove`, `transfer`), with output that
// says what happened: a refused change says why, and a promotion of a learner that has not
// caught up says how far it is (or, with --wait, waits until it has).
#pragma once

#include <map>
#include <string>

#include "core/kv/kv_client.h"
#include "core/runtime/runtime.h"

namespace cairn::net {

struct ClusterCommandContext {
  Runtime& runtime;
  kv::KvClient& client;
  std::map<NodeId, std::string> endpoints;  // as given (--endpoints); the members are found from them
  Duration timeout;
  bool json = false;
};

// Each returns the command's exit status (net/cairn/exit_codes.h) and prints its answer.
int cluster_status(ClusterCommandContext& context);
int change_membership(ClusterCommandContext& context, proto::RaftMembershipChangeKind kind, NodeId node, bool wait);
int transfer_leadership(ClusterCommandContext& context, NodeId node);

// A failed call: the message on stderr, and the exit status its kind deserves.
int report_failure(const Status& status);

// "voters 1,2,3, learners 4" (and "(joint with ...)" while joint).
std::string describe_membership(const proto::RaftMembership& membership);
// "leader", "follower", "learner", "removed", "joining", ... as `cluster status` prints them.
std::string role_name(proto::KvReplicaRole role);

}  // namespace cairn::net
