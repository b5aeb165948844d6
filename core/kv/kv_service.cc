// KvService: client requests served through Raft (kv_service.h).
#include "core/kv/kv_service.h"

#include <cctype>

namespace cairn::kv {
namespace {

constexpr std::array<std::string_view, 9> kOperationNames = {
    "put", "delete", "compare_and_set", "write", "get", "scan", "change_membership", "transfer_leadership", "status"};

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

proto::KvRedirect redirect_to(NodeId leader) {
  proto::KvRedirect redirect;
  redirect.set_not_leader(true);
  redirect.set_leader(leader);
  return redirect;
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

KvService::KvService(Runtime& runtime, std::function<KvGroup(uint64_t)> find_group, KvServiceOptions options)
    : runtime_(&runtime),
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

Result<proto::KvWriteReply> KvService::write(const proto::KvWriteRequest& request) {
  CAIRN_RETURN_IF_ERROR(validate_command(request.command()));
  CAIRN_ASSIGN_OR_RETURN(KvGroup target, group(request.group()));
  proto::KvWriteReply reply;
  const replica::ReplicaStatus status = target.replica->status();
  if (status.role != raft::Role::kLeader) {
    *reply.mutable_redirect() = redirect_to(status.leader);
    return reply;
  }
  Result<replica::ProposalOutcome> outcome =
      target.replica->propose(request.command().SerializeAsString(), options_.request_timeout);
  if (!outcome.ok()) {
    if (outcome.status().code() == StatusCode::kFailedPrecondition) {
      *reply.mutable_redirect() = redirect_to(target.replica->status().leader);
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
      const replica::ReplicaStatus status = target.replica->status();
      if (status.role != raft::Role::kLeader) return std::optional<proto::KvRedirect>(redirect_to(status.leader));
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
  CAIRN_ASSIGN_OR_RETURN(KvGroup target, group(request.group()));
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
  return reply;
}

Result<proto::KvScanReply> KvService::scan(const proto::KvScanRequest& request) {
  if (!request.end().empty() && request.end() <= request.start()) {
    return Status::invalid_argument("a scan's end must come after its start");
  }
  const uint32_t limit = request.limit() == 0 ? options_.default_scan_limit : request.limit();
  if (limit > storage::kMaxScanLimit) return Status::invalid_argument("scan limit too large");
  CAIRN_ASSIGN_OR_RETURN(KvGroup target, group(request.group()));
  proto::KvScanReply reply;
  CAIRN_ASSIGN_OR_RETURN(std::optional<proto::KvRedirect> redirect, prepare_read(target, request.consistency()));
  if (redirect) {
    *reply.mutable_redirect() = *redirect;
    return reply;
  }
  CAIRN_ASSIGN_OR_RETURN(std::vector<storage::KvPair> pairs, target.state_machine->scan(request.start(), request.end(), limit));
  for (storage::KvPair& pair : pairs) {
    proto::KvEntry* entry = reply.add_entries();
    entry->set_key(std::move(pair.key));
    entry->set_value(std::move(pair.value));
  }
  reply.set_applied_index(target.state_machine->applied().index());
  return reply;
}

Result<proto::KvMembershipReply> KvService::change_membership(const proto::KvMembershipRequest& request) {
  for (const proto::RaftReplicaChange& change : request.change().changes()) {
    if (change.replica() == 0) return Status::invalid_argument("replica id 0 is reserved");
  }
  CAIRN_ASSIGN_OR_RETURN(KvGroup target, group(request.group()));
  proto::KvMembershipReply reply;
  if (target.replica->status().role != raft::Role::kLeader) {
    *reply.mutable_redirect() = redirect_to(target.replica->status().leader);
    return reply;
  }
  Result<uint64_t> index = target.replica->change_membership(request.change(), options_.request_timeout);
  if (!index.ok()) {
    if (index.status().code() == StatusCode::kFailedPrecondition && target.replica->status().role != raft::Role::kLeader) {
      *reply.mutable_redirect() = redirect_to(target.replica->status().leader);
      return reply;
    }
    return index.status();
  }
  reply.set_index(*index);
  *reply.mutable_membership() = target.replica->status().membership;
  return reply;
}

Result<proto::KvTransferLeadershipReply> KvService::transfer_leadership(const proto::KvTransferLeadershipRequest& request) {
  CAIRN_ASSIGN_OR_RETURN(KvGroup target, group(request.group()));
  proto::KvTransferLeadershipReply reply;
  if (target.replica->status().role != raft::Role::kLeader) {
    *reply.mutable_redirect() = redirect_to(target.replica->status().leader);
    return reply;
  }
  CAIRN_RETURN_IF_ERROR(target.replica->transfer_leadership(request.target(), options_.request_timeout));
  return reply;
}

Result<proto::KvStatusReply> KvService::status(const proto::KvStatusRequest& request) {
  CAIRN_ASSIGN_OR_RETURN(KvGroup target, group(request.group()));
  const replica::ReplicaStatus status = target.replica->status();
  proto::KvStatusReply reply;
  reply.set_node(runtime_->node_id());
  reply.set_group(status.group);
  reply.set_role(role_of(status.role));
  reply.set_term(status.term);
  reply.set_leader(status.leader);
  reply.set_commit_index(status.commit);
  reply.set_applied_index(status.applied);
  reply.set_last_index(status.last_index);
  reply.set_snapshot_index(status.snapshot_index);
  *reply.mutable_membership() = status.membership;
  return reply;
}

}  // namespace cairn::kv
