// `cairn cluster` commands (cluster_commands.h).
#include "net/cairn/cluster_commands.h"

#include <algorithm>
#include <cstdio>
#include <iostream>

#include "core/kv/cluster_survey.h"
#include "net/cairn/exit_codes.h"
#include "net/http/proto_json.h"

namespace cairn::net {
namespace {

std::string id_list(const google::protobuf::RepeatedField<uint64_t>& ids) {
  std::string text;
  for (uint64_t id : ids) text += (text.empty() ? "" : ",") + std::to_string(id);
  return text.empty() ? "-" : text;
}

unsigned long long number(uint64_t value) { return static_cast<unsigned long long>(value); }

std::string lag_message(const proto::KvLearnerLag& lag) {
  return "node " + std::to_string(lag.replica()) + " has not caught up: it holds the log up to index " +
         std::to_string(lag.matched_index()) + " of " + std::to_string(lag.commit_index()) +
         " committed, and needs " + std::to_string(lag.needed_index());
}

}  // namespace

int report_failure(const Status& status) {
  std::cerr << "cairn: " << status.to_string() << "\n";
  if (status.code() == StatusCode::kTimeout || status.code() == StatusCode::kUnavailable) {
    std::cerr << "cairn: no answer in time: the request may or may not have taken effect\n";
    return kExitNoAnswer;
  }
  return kExitRefused;
}

std::string describe_membership(const proto::RaftMembership& membership) {
  std::string text = "voters " + id_list(membership.voters());
  if (!membership.outgoing_voters().empty()) text += " (joint with " + id_list(membership.outgoing_voters()) + ")";
  text += ", learners " + id_list(membership.learners());
  return text;
}

std::string role_name(proto::KvReplicaRole role) {
  switch (role) {
    case proto::KV_ROLE_LEADER: return "leader";
    case proto::KV_ROLE_CANDIDATE: return "candidate";
    case proto::KV_ROLE_PRE_CANDIDATE: return "pre-candidate";
    case proto::KV_ROLE_LEARNER: return "learner";
    case proto::KV_ROLE_REMOVED: return "removed";
    case proto::KV_ROLE_JOINING: return "joining";
    default: return "follower";
  }
}

int cluster_status(ClusterCommandContext& context) {
  std::vector<NodeId> seeds;
  for (const auto& [node, address] : context.endpoints) seeds.push_back(node);
  // Each round asks all at once: a dead node costs one timeout, not one each.
  kv::ClusterSurvey survey = kv::survey_cluster(
      context.client, seeds, std::min(context.timeout, Duration{seconds(2)}),
      [&](const proto::NodeDescriptor& node) { context.runtime.network().learn_address(node.node(), node.client_address()); });
  const auto address_of = [&](NodeId node) -> std::string {
    if (auto found = survey.registry.find(node); found != survey.registry.end()) return found->second.client_address();
    if (auto given = context.endpoints.find(node); given != context.endpoints.end()) return given->second;
    return "?";
  };
  int reachable = 0;
  std::string json_items;
  if (!context.json) {
    std::printf("%-6s %-21s %-13s %6s %6s %9s %9s %9s  %s\n", "NODE", "ADDRESS", "ROLE", "TERM", "LEADER", "COMMIT",
                "APPLIED", "LAST", "MEMBERSHIP");
  }
  for (const auto& [node, reply] : survey.statuses) {
    if (reply.ok()) ++reachable;
    const std::string address = address_of(node);
    if (context.json) {
      json_items += (json_items.empty() ? "" : ",") +
                    (reply.ok() ? http::to_json(*reply, /*print_defaults=*/true)
                                : "{\"node\":\"" + std::to_string(node) + "\",\"unreachable\":true}");
    } else if (reply.ok()) {
      std::printf("%-6llu %-21s %-13s %6llu %6llu %9llu %9llu %9llu  %s\n", number(node), address.c_str(),
                  role_name(reply->role()).c_str(), number(reply->term()), number(reply->leader()),
                  number(reply->commit_index()), number(reply->applied_index()), number(reply->last_index()),
                  describe_membership(reply->membership()).c_str());
    } else {
      std::printf("%-6llu %-21s unreachable: %s\n", number(node), address.c_str(), reply.status().to_string().c_str());
    }
  }
  if (context.json) std::cout << "[" << json_items << "]\n";
  return reachable > 0 ? kExitDone : kExitNoAnswer;
}

int change_membership(ClusterCommandContext& context, proto::RaftMembershipChangeKind kind, NodeId node, bool wait) {
  proto::RaftMembershipChange change;
  proto::RaftReplicaChange* replica = change.add_changes();
  replica->set_kind(kind);
  replica->set_replica(node);
  const MonotonicTime give_up = context.runtime.now() + context.timeout;
  uint64_t reported_matched = UINT64_MAX;
  while (true) {
    const Duration remaining = std::max(Duration{milliseconds(1)}, give_up - context.runtime.now());
    Result<proto::KvMembershipReply> reply = context.client.change_membership(change, remaining);
    // The change is in force, and an attempt of this command timed out: that attempt took
    // effect. (Otherwise the change was in force before: the operator's mistake, refused below.)
    if (!reply.ok() && reply.status().code() == StatusCode::kAlreadyExists && context.client.last_call_uncertain()) {
      std::cout << "OK: " << reply.status().message() << " (an earlier attempt of this command took effect)\n";
      return kExitDone;
    }
    if (!reply.ok()) return report_failure(reply.status());
    if (!reply->has_not_caught_up()) {
      if (context.json) std::cout << http::to_json(*reply) << "\n";
      else std::cout << "OK: " << describe_membership(reply->membership()) << " (at index " << reply->index() << ")\n";
      return kExitDone;
    }
    const proto::KvLearnerLag& lag = reply->not_caught_up();
    if (!wait) {
      std::cerr << "cairn: not promoted: " << lag_message(lag)
                << ". Promote it once it has (`cairn cluster status` shows its progress), or wait with `--wait`\n";
      return kExitRefused;
    }
    if (context.runtime.now() >= give_up) {
      std::cerr << "cairn: not promoted within " << to_seconds(context.timeout) << " s: " << lag_message(lag)
                << " (a longer --timeout waits longer)\n";
      return kExitNoAnswer;
    }
    if (lag.matched_index() != reported_matched) {
      std::cerr << "cairn: waiting: " << lag_message(lag) << "\n";
      reported_matched = lag.matched_index();
    }
    context.runtime.sleep(milliseconds(200));
  }
}

int transfer_leadership(ClusterCommandContext& context, NodeId node) {
  if (Status transferred = context.client.transfer_leadership(node, context.timeout); !transferred.ok()) {
    return report_failure(transferred);
  }
  std::cout << "OK: leadership handed to node " << node << "\n";
  return kExitDone;
}

}  // namespace cairn::net
