// KvService: client requests served through Raft (kv_service.h).
#include "core/kv/kv_service.h"

#include <algorithm>
#include <cctype>

#include "core/kv/membership_rules.h"

namespace cairn::kv {
namespace {

constexpr std::array<std::string_view, 10> kOperationNames = {
    "put",  "delete", "compare_and_set",     "register_node",       "write",
    "get",  "scan",   "change_membership", "transfer_leadership", "status"};

// "resource_exhausted" for RESOURCE_EXHAUSTED: Prometheus label values are conventionally lowercase.
std::string lowercase_code(StatusCode code) {
  std::string name(status_code_name(code));
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return name;
}

// Whether a reply sends the client to another replica (the status reply never does).
template <typename Reply>
bool is_redirect(const Reply& reply) {
  if constexpr (requires { reply.has_redirect(); }) {
    return reply.has_redirect();
  } else {
    return false;
  }
}

// Where to go instead: the leader this replica knows of and, from the node registry, where it
// listens (a client or a joining node that knows only some of the nodes can follow it there).
proto::KvRedirect redirect_to(const KvGroup& group, NodeId leader) {
  proto::KvRedirect redirect;
  redirect.set_not_leader(true);
  redirect.set_leader(leader);
  if (leader == 0) return redirect;
  Result<std::optional<proto::NodeDescriptor>> record = group.state_machine->registered_node(leader);
  if (record.ok() && record->has_value()) *redirect.mutable_leader_node() = std::move(**record);
  return redirect;
}

bool lists(const google::protobuf::RepeatedField<uint64_t>& ids, uint64_t id) {
  return std::find(ids.begin(), ids.end(), id) != ids.end();
}

// Where a node stands in its own replica's configuration.
enum class Standing { kVoter, kLearner, kRemoved, kJoining };

Standing standing_of(const proto::RaftMembership& membership, NodeId self) {
  if (lists(membership.voters(), self) || lists(membership.outgoing_voters(), self)) return Standing::kVoter;
  if (lists(membership.learners(), self) || lists(membership.learners_next(), self)) return Standing::kLearner;
  return membership.voters().empty() ? Standing::kJoining : Standing::kRemoved;
}

proto::KvReplicaRole role_of(raft::Role role) {
  switch (role) {
    case raft::Role::kFollower: return proto::KV_ROLE_FOLLOWER;
    case raft::Role::kPreCandidate: return proto::KV_ROLE_PRE_CANDIDATE;
    case raft::Role::kCandidate: return proto::KV_ROLE_CANDIDATE;
    case raft::Role::kLeader: return proto::KV_ROLE_LEADER;
  }
  CAIRN_PANIC("unknown raft role");
}

}  // namespace

KvService::KvService(Runtime& runtime, HybridClock& clock, std::function<KvGroup(uint64_t)> find_group,
                     KvServiceOptions options, const ClockOffsetMonitor* clock_monitor)
    : runtime_(&runtime),
      clock_(&clock),
      clock_monitor_(clock_monitor),
      find_group_(std::move(find_group)),
      options_(options),
      server_(runtime, services::kKeyValue, options.max_concurrent_requests) {
  metrics::MetricsRegistry& registry = runtime.metrics();
  for (std::size_t i = 0; i < kOperationCount; ++i) {
    const metrics::Labels labels = {{"op", std::string(kOperationNames[i])}};
    operation_metrics_[i] = OperationMetrics{
        .name = kOperationNames[i],
        .seconds = &registry.histogram("cairn_kv_request_seconds",
                                       "Time to answer a key-value request, redirects and errors included, in seconds.",
                                       labels, metrics::latency_buckets_seconds()),
        .redirects = &registry.counter("cairn_kv_redirects_total",
                                       "Key-value requests answered with a redirect to the leader.", labels)};
  }
  server_.add_handler<proto::KvWriteRequest, proto::KvWriteReply>(
      [this](const RpcContext&, const proto::KvWriteRequest& request) {
        return measured<proto::KvWriteReply>(write_operation(request), [&] { return write(request); });
      });
  server_.add_handler<proto::KvReadRequest, proto::KvReadReply>(
      [this](const RpcContext&, const proto::KvReadRequest& request) {
        return measured<proto::KvReadReply>(Operation::kGet, [&] { return read(request); });
      });
  server_.add_handler<proto::KvScanRequest, proto::KvScanReply>(
      [this](const RpcContext&, const proto::KvScanRequest& request) {
        return measured<proto::KvScanReply>(Operation::kScan, [&] { return scan(request); });
      });
  server_.add_handler<proto::KvMembershipRequest, proto::KvMembershipReply>(
      [this](const RpcContext&, const proto::KvMembershipRequest& request) {
        return measured<proto::KvMembershipReply>(Operation::kChangeMembership,
                                                  [&] { return change_membership(request); });
      });
  server_.add_handler<proto::KvTransferLeadershipRequest, proto::KvTransferLeadershipReply>(
      [this](const RpcContext&, const proto::KvTransferLeadershipRequest& request) {
        return measured<proto::KvTransferLeadershipReply>(Operation::kTransferLeadership,
                                                          [&] { return transfer_leadership(request); });
      });
  server_.add_handler<proto::KvStatusRequest, proto::KvStatusReply>(
      [this](const RpcContext&, const proto::KvStatusRequest& request) {
        return measured<proto::KvStatusReply>(Operation::kStatus, [&] { return status(request); });
      });
}

KvService::Operation KvService::write_operation(const proto::KvWriteRequest& request) {
  switch (request.command().operation_case()) {
    case proto::KvCommand::kPut: return Operation::kPut;
    case proto::KvCommand::kDelete: return Operation::kDelete;
    case proto::KvCommand::kCompareAndSet: return Operation::kCompareAndSet;
    case proto::KvCommand::kRegisterNode: return Operation::kRegisterNode;
    case proto::KvCommand::OPERATION_NOT_SET: return Operation::kWriteWithoutOperation;
  }
  return Operation::kWriteWithoutOperation;
}

template <typename Reply, typename Handler>
Result<Reply> KvService::measured(Operation operation, Handler handle) {
  const MonotonicTime started = runtime_->now();
  Result<Reply> reply = handle();
  record(operation, started, reply.status(), reply.ok() && is_redirect(*reply));
  return reply;
}

void KvService::record(Operation operation, MonotonicTime started, const Status& status, bool redirected) {
  const OperationMetrics& operation_metrics = operation_metrics_[static_cast<std::size_t>(operation)];
  operation_metrics.seconds->observe(to_seconds(runtime_->now() - started));
  if (redirected) operation_metrics.redirects->add();
  if (!status.ok()) {
    // Looked up per error: errors are rare, and the codes seen are few.
    runtime_->metrics()
        .counter("cairn_kv_request_errors_total", "Key-value requests answered with an error status.",
                 {{"op", std::string(operation_metrics.name)}, {"code", lowercase_code(status.code())}})
        .add();
  }
}

Status KvService::start() { return server_.start(); }

Result<KvGroup> KvService::group(uint64_t id) {
  KvGroup found = find_group_(id);
  if (found.replica == nullptr) return Status::not_found("group " + std::to_string(id) + " is not served here");
  return found;
}

Result<KvGroup> KvService::member_group(uint64_t id) {
  if (clock_monitor_ != nullptr && !clock_monitor_->in_line()) {
    runtime_->probe("kv.service.refused_with_clock_out_of_line");
    return Status::unavailable(clock_monitor_->out_of_line_reason());
  }
  CAIRN_ASSIGN_OR_RETURN(KvGroup found, group(id));
  // A replica whose configuration no longer names it was removed: its state stopped moving, and
  // the leader it knew may be gone too. It says so rather than serve or redirect (a client then
  // tries another node). One with no configuration yet is joining and redirects as usual.
  const NodeId self = runtime_->node_id();
  if (standing_of(found.replica->status().membership, self) == Standing::kRemoved) {
    runtime_->probe("kv.service.removed_replica_refused_request");
    return Status::failed_precondition("node " + std::to_string(self) + " was removed from group " +
                                       std::to_string(id) + ": ask another node");
  }
  return found;
}

Result<proto::KvWriteReply> KvService::write(const proto::KvWriteRequest& request) {
  CAIRN_RETURN_IF_ERROR(validate_command(request.command()));
  CAIRN_ASSIGN_OR_RETURN(KvGroup target, member_group(request.group()));
  proto::KvWriteReply reply;
  const node::ReplicaStatus status = target.replica->status();
  if (status.role != raft::Role::kLeader) {
    *reply.mutable_redirect() = redirect_to(target, status.leader);
    return reply;
  }
  // The clock moves past what the client has seen first, so this write commits after the
  // writes it follows, wherever those went (kv.proto KvWriteRequest).
  CAIRN_RETURN_IF_ERROR(clock_->observe(request.observed_timestamp()).with_context("the client's timestamp"));
  proto::KvCommand command = request.command();
  command.set_timestamp(clock_->now());
  Result<node::ProposalOutcome> outcome = target.replica->propose(command.SerializeAsString(), options_.request_timeout);
  if (!outcome.ok()) {
    if (outcome.status().code() == StatusCode::kFailedPrecondition) {
      *reply.mutable_redirect() = redirect_to(target, target.replica->status().leader);
      return reply;
    }
    return outcome.status();
  }
  if (!reply.mutable_result()->ParseFromString(outcome->result)) return Status::internal("unreadable command result");
  if (reply.result().duplicate()) runtime_->probe("kv.write.duplicate_request_answered");
  // The write took effect but the answer says it may not have: the client retries the request,
  // and deduplication must answer with the first outcome.
  if (runtime_->buggify("kv.write.applied_but_reported_unavailable")) {
    return Status::unavailable("the outcome could not be confirmed (buggify)");
  }
  reply.set_index(outcome->index);
  reply.set_term(outcome->term);
  return reply;
}

Result<std::optional<proto::KvRedirect>> KvService::prepare_read(const KvGroup& target,
                                                                 proto::ReadConsistency consistency) {
  switch (consistency) {
    case proto::READ_STALE: return std::optional<proto::KvRedirect>{};
    case proto::READ_LEASE: {
      const node::ReplicaStatus status = target.replica->status();
      if (status.role != raft::Role::kLeader) return std::optional<proto::KvRedirect>(redirect_to(target, status.leader));
      CAIRN_RETURN_IF_ERROR(target.replica->read_barrier(raft::ReadMode::kLease, options_.request_timeout).status());
      return std::optional<proto::KvRedirect>{};
    }
    case proto::READ_LINEARIZABLE:
      CAIRN_RETURN_IF_ERROR(target.replica->read_barrier(raft::ReadMode::kReadIndex, options_.request_timeout).status());
      return std::optional<proto::KvRedirect>{};
    default: return Status::invalid_argument("unknown read consistency");
  }
}

Result<proto::KvReadReply> KvService::read(const proto::KvReadRequest& request) {
  CAIRN_RETURN_IF_ERROR(validate_client_key(request.key()));
  CAIRN_ASSIGN_OR_RETURN(KvGroup target, member_group(request.group()));
  proto::KvReadReply reply;
  CAIRN_ASSIGN_OR_RETURN(std::optional<proto::KvRedirect> redirect, prepare_read(target, request.consistency()));
  if (redirect) {
    *reply.mutable_redirect() = *redirect;
    return reply;
  }
  CAIRN_ASSIGN_OR_RETURN(std::optional<std::string> value, target.state_machine->get(request.key()));
  reply.set_found(value.has_value());
  if (value) reply.set_value(std::move(*value));
  reply.set_applied_index(target.state_machine->applied().index());
  reply.set_read_timestamp(target.state_machine->last_commit_timestamp());
  return reply;
}

Result<proto::KvScanReply> KvService::scan(const proto::KvScanRequest& request) {
  if (!request.end().empty() && request.end() <= request.start()) {
    return Status::invalid_argument("a scan's end must come after its start");
  }
  const uint32_t limit = request.limit() == 0 ? options_.default_scan_limit : request.limit();
  if (limit > limits::kScanRowsMax) return Status::invalid_argument("scan limit too large");
  CAIRN_ASSIGN_OR_RETURN(KvGroup target, member_group(request.group()));
  proto::KvScanReply reply;
  CAIRN_ASSIGN_OR_RETURN(std::optional<proto::KvRedirect> redirect, prepare_read(target, request.consistency()));
  if (redirect) {
    *reply.mutable_redirect() = *redirect;
    return reply;
  }
  const HlcTimestamp read_timestamp =
      request.read_timestamp() != 0 ? request.read_timestamp() : target.state_machine->last_commit_timestamp();
  CAIRN_ASSIGN_OR_RETURN(std::vector<storage::KvPair> pairs,
                         target.state_machine->scan(request.start(), request.end(), limit, read_timestamp,
                                                    options_.scan_reply_bytes_max));
  std::size_t bytes = 0;
  for (const storage::KvPair& pair : pairs) bytes += pair.key.size() + pair.value.size();
  // Cut short (by its limit or its bytes): the next page starts just after the last key.
  if (!pairs.empty() && (pairs.size() == limit || bytes >= options_.scan_reply_bytes_max)) {
    reply.set_resume_key(pairs.back().key + std::string(1, '\0'));
  }
  for (storage::KvPair& pair : pairs) {
    proto::KvEntry* entry = reply.add_entries();
    entry->set_key(std::move(pair.key));
    entry->set_value(std::move(pair.value));
  }
  reply.set_applied_index(target.state_machine->applied().index());
  reply.set_read_timestamp(read_timestamp);
  return reply;
}

Result<proto::KvMembershipReply> KvService::change_membership(const proto::KvMembershipRequest& request) {
  for (const proto::RaftReplicaChange& change : request.change().changes()) {
    if (change.replica() == 0) return Status::invalid_argument("replica id 0 is reserved");
  }
  CAIRN_ASSIGN_OR_RETURN(KvGroup target, member_group(request.group()));
  proto::KvMembershipReply reply;
  const node::ReplicaStatus status = target.replica->status();
  if (status.role != raft::Role::kLeader) {
    *reply.mutable_redirect() = redirect_to(target, status.leader);
    return reply;
  }
  const node::MembershipView view = target.replica->membership_view();
  CAIRN_RETURN_IF_ERROR(refuse_no_op_change(view.membership, request.change()));
  if (std::optional<proto::KvLearnerLag> lag = learner_not_caught_up(view.membership, request.change(), view.matched, view.commit)) {
    runtime_->probe("kv.membership.promotion_refused_learner_behind");
    *reply.mutable_not_caught_up() = *lag;
    return reply;
  }
  Result<uint64_t> index = target.replica->change_membership(request.change(), options_.request_timeout);
  if (!index.ok()) {
    if (index.status().code() == StatusCode::kFailedPrecondition && target.replica->status().role != raft::Role::kLeader) {
      *reply.mutable_redirect() = redirect_to(target, target.replica->status().leader);
      return reply;
    }
    return index.status();
  }
  reply.set_index(*index);
  *reply.mutable_membership() = target.replica->status().membership;
  runtime_->logger().log(LogLevel::kInfo, "kv", "membership change done",
                         {{"group", request.group()}, {"change", raft::describe(request.change())}, {"index", *index}});
  return reply;
}

Result<proto::KvTransferLeadershipReply> KvService::transfer_leadership(const proto::KvTransferLeadershipRequest& request) {
  CAIRN_ASSIGN_OR_RETURN(KvGroup target, member_group(request.group()));
  proto::KvTransferLeadershipReply reply;
  if (target.replica->status().role != raft::Role::kLeader) {
    *reply.mutable_redirect() = redirect_to(target, target.replica->status().leader);
    return reply;
  }
  CAIRN_RETURN_IF_ERROR(target.replica->transfer_leadership(request.target(), options_.request_timeout));
  runtime_->logger().log(LogLevel::kInfo, "kv", "leadership handed over",
                         {{"group", request.group()}, {"to", request.target()}});
  return reply;
}

Result<proto::KvStatusReply> KvService::status(const proto::KvStatusRequest& request) {
  CAIRN_ASSIGN_OR_RETURN(KvGroup target, group(request.group()));
  const node::ReplicaStatus status = target.replica->status();
  proto::KvStatusReply reply;
  reply.set_node(runtime_->node_id());
  reply.set_group(status.group);
  switch (standing_of(status.membership, runtime_->node_id())) {
    case Standing::kVoter: reply.set_role(role_of(status.role)); break;
    case Standing::kLearner: reply.set_role(proto::KV_ROLE_LEARNER); break;
    case Standing::kRemoved: reply.set_role(proto::KV_ROLE_REMOVED); break;
    case Standing::kJoining: reply.set_role(proto::KV_ROLE_JOINING); break;
  }
  reply.set_term(status.term);
  reply.set_leader(status.leader);
  reply.set_commit_index(status.commit);
  reply.set_applied_index(status.applied);
  reply.set_last_index(status.last_index);
  reply.set_snapshot_index(status.snapshot_index);
  *reply.mutable_membership() = status.membership;
  CAIRN_ASSIGN_OR_RETURN(std::vector<proto::NodeDescriptor> nodes, target.state_machine->node_registry());
  for (proto::NodeDescriptor& node : nodes) *reply.add_nodes() = std::move(node);
  // Built here, not at every Ready: only this answer and a membership change need it.
  for (const auto& [member, matched] : target.replica->membership_view().matched) {
    proto::KvReplicaProgress* progress = reply.add_progress();
    progress->set_replica(member);
    progress->set_matched_index(matched);
  }
  return reply;
}

}  // namespace cairn::kv
