// KvClient: leader-finding, retrying client of the key-value store (kv_client.h).
#include "core/kv/kv_client.h"

#include <algorithm>
#include <cstdio>

namespace cairn::kv {
namespace {

// Errors after which another attempt may succeed: the server was unreachable, busy, not able
// to confirm leadership, or stopped.
bool retryable(const Status& status) {
  switch (status.code()) {
    case StatusCode::kTimeout:
    case StatusCode::kUnavailable:
    case StatusCode::kResourceExhausted:
    case StatusCode::kNotFound:  // the group is not (yet) served by that node
    case StatusCode::kCancelled:
    case StatusCode::kClosed:
    case StatusCode::kFailedPrecondition:
      return true;
    default: return false;
  }
}

}  // namespace

Result<std::unique_ptr<KvClient>> KvClient::create(Runtime& runtime, KvClientOptions options) {
  if (options.servers.empty()) return Status::invalid_argument("a client needs at least one server");
  if (options.client_id == 0) options.client_id = runtime.random().next_u64() | 1;
  CAIRN_ASSIGN_OR_RETURN(auto rpc, RpcClient::create(runtime, options.reply_service));
  std::unique_ptr<KvClient> client(new KvClient(runtime, std::move(options), std::move(rpc)));
  client->next_server_ = runtime.random().uniform(client->options_.servers.size());
  return client;
}

NodeId KvClient::next_target(bool leader_only) {
  // Stale reads may go anywhere: spread them over the servers.
  if (leader_hint_ != 0 && leader_only) return leader_hint_;
  const NodeId target = options_.servers[next_server_ % options_.servers.size()];
  ++next_server_;
  return target;
}

template <typename Reply>
Result<Reply> KvClient::call(const google::protobuf::Message& request, Duration deadline, bool leader_only) {
  const MonotonicTime give_up = runtime_->now() + deadline;
  Duration backoff = options_.min_backoff;
  // Each attempt that times out doubles the next one's patience: an attempt timeout shorter than
  // the round trip (a slow network, a busy leader) would otherwise fail every attempt forever.
  Duration patience = options_.attempt_timeout;
  std::map<NodeId, Status> errors;  // each server's last failure: the final answer names them all
  last_call_uncertain_ = false;
  while (runtime_->now() < give_up) {
    const NodeId target = next_target(leader_only);
    ++attempts_;
    const Duration remaining = give_up - runtime_->now();
    // An impatient attempt: the request may still take effect, and the retry must not apply twice.
    const Duration attempt_timeout = runtime_->buggify("kv.client.attempt_cut_short") ? milliseconds(1) : patience;
    Result<Reply> reply = rpc_->call<Reply>(target, services::kKeyValue, request, std::min(attempt_timeout, remaining));
    if (!reply.ok() && reply.status().code() == StatusCode::kTimeout) {
      patience = std::min(patience * 2, deadline);
      // Unless the connection was refused or lost (never sent, so certain), the request may have
      // arrived and taken effect.
      if (runtime_->network().link_status(target).ok()) last_call_uncertain_ = true;
    }
    if (reply.ok() && !reply->redirect().not_leader()) {
      // A client may forget where the leader is: the next request looks for it again.
      leader_hint_ = runtime_->buggify("kv.client.leader_forgotten") ? 0 : target;
      return reply;
    }
    if (reply.ok()) {
      // A redirect: go where the server points, or look around if it knows no leader.
      leader_hint_ = reply->redirect().leader() != target ? reply->redirect().leader() : 0;
      if (leader_hint_ != 0 && reply->redirect().has_leader_node()) learn_leader(reply->redirect().leader_node());
      if (leader_hint_ != 0) continue;
    } else {
      if (!retryable(reply.status())) return reply.status();
      errors[target] = explained(target, reply.status());
      leader_hint_ = 0;
    }
    // No leader known: back off (with jitter, so clients do not retry in lockstep).
    const Duration jittered = Duration{static_cast<int64_t>(runtime_->random().uniform_double_between(0.5, 1.0) *
                                                            static_cast<double>(backoff.count()))};
    runtime_->sleep(std::min(jittered, std::max(Duration{0}, give_up - runtime_->now())));
    backoff = std::min(options_.max_backoff, backoff * 2);
  }
  return no_answer(deadline, errors);
}

Status KvClient::explained(NodeId server, const Status& error) const {
  if (error.code() != StatusCode::kTimeout) return error;
  // A timeout says little when the transport knows more: the connection was refused, say.
  const Status link = runtime_->network().link_status(server);
  return link.ok() ? error : link;
}

Status KvClient::no_answer(Duration deadline, const std::map<NodeId, Status>& errors) const {
  char waited[32];
  std::snprintf(waited, sizeof waited, "%.3g s", to_seconds(deadline));
  std::string message = std::string("no answer within ") + waited;
  if (errors.empty()) return Status::timeout(message + " (every server redirected: no leader could serve it)");
  message += ":";
  for (const auto& [server, error] : errors) message += " node " + std::to_string(server) + ": " + error.to_string() + ";";
  message.pop_back();
  return Status::timeout(message);
}

void KvClient::learn_leader(const proto::NodeDescriptor& leader) {
  using Learn = KvClientOptions::LearnAddresses;
  if (options_.learn_addresses == Learn::kNone || leader.node() != leader_hint_) return;
  const std::string& address =
      options_.learn_addresses == Learn::kPeer ? leader.peer_address() : leader.client_address();
  if (address.empty()) return;
  runtime_->network().learn_address(leader.node(), address);
  add_server(leader.node());
}

void KvClient::add_server(NodeId server) {
  CAIRN_ASSERT(server != 0, "node 0 is never a server");
  if (std::find(options_.servers.begin(), options_.servers.end(), server) == options_.servers.end()) {
    options_.servers.push_back(server);
  }
}

Result<proto::KvWriteReply> KvClient::write(proto::KvCommand command, Duration deadline) {
  command.set_client_id(options_.client_id);
  command.set_request_id(next_request_id_++);
  proto::KvWriteRequest request;
  request.set_group(options_.group);
  request.set_observed_timestamp(observed_timestamp_);
  *request.mutable_command() = std::move(command);
  CAIRN_ASSIGN_OR_RETURN(proto::KvWriteReply reply, call<proto::KvWriteReply>(request, deadline, true));
  observe(reply.result().commit_timestamp());
  return reply;
}

Result<proto::KvWriteReply> KvClient::put(std::string key, std::string value, Duration deadline) {
  proto::KvCommand command;
  command.mutable_put()->set_key(std::move(key));
  command.mutable_put()->set_value(std::move(value));
  return write(std::move(command), deadline);
}

Result<proto::KvWriteReply> KvClient::remove(std::string key, Duration deadline) {
  proto::KvCommand command;
  command.mutable_delete_()->set_key(std::move(key));
  return write(std::move(command), deadline);
}

Result<proto::KvWriteReply> KvClient::compare_and_set(proto::KvCompareAndSet operation, Duration deadline) {
  proto::KvCommand command;
  *command.mutable_compare_and_set() = std::move(operation);
  return write(std::move(command), deadline);
}

Result<proto::KvWriteReply> KvClient::register_node(proto::NodeDescriptor descriptor, Duration deadline) {
  proto::KvCommand command;
  *command.mutable_register_node() = std::move(descriptor);
  return write(std::move(command), deadline);
}

Result<std::optional<std::string>> KvClient::get(std::string key, proto::ReadConsistency consistency,
                                                 Duration deadline) {
  proto::KvReadRequest request;
  request.set_group(options_.group);
  request.set_key(std::move(key));
  request.set_consistency(consistency);
  CAIRN_ASSIGN_OR_RETURN(proto::KvReadReply reply,
                         call<proto::KvReadReply>(request, deadline, consistency != proto::READ_STALE));
  observe(reply.read_timestamp());
  if (!reply.found()) return std::optional<std::string>{};
  return std::optional<std::string>(std::move(*reply.mutable_value()));
}

Result<std::vector<proto::KvEntry>> KvClient::scan(std::string start, std::string end, uint32_t limit,
                                                   proto::ReadConsistency consistency, Duration deadline) {
  proto::KvScanRequest request;
  request.set_group(options_.group);
  request.set_start(std::move(start));
  request.set_end(std::move(end));
  request.set_consistency(consistency);
  // Page by page (a reply holds a bounded number of bytes), every page at the first one's
  // timestamp, so that together they are one snapshot; within one deadline.
  const MonotonicTime deadline_at = runtime_->now() + deadline;
  std::vector<proto::KvEntry> entries;
  while (true) {
    request.set_limit(limit == 0 ? 0 : limit - static_cast<uint32_t>(entries.size()));
    const Duration left = deadline_at - runtime_->now();
    if (left <= Duration{0}) return Status::timeout("the scan did not finish within " + format_duration(deadline));
    CAIRN_ASSIGN_OR_RETURN(proto::KvScanReply reply,
                           call<proto::KvScanReply>(request, left, consistency != proto::READ_STALE));
    observe(reply.read_timestamp());
    request.set_read_timestamp(reply.read_timestamp());
    for (proto::KvEntry& entry : *reply.mutable_entries()) entries.push_back(std::move(entry));
    const bool limit_reached = limit != 0 && entries.size() >= limit;
    if (reply.resume_key().empty() || limit_reached || limit == 0) return entries;
    request.set_start(reply.resume_key());
  }
}

Result<proto::KvMembershipReply> KvClient::change_membership(const proto::RaftMembershipChange& change,
                                                             Duration deadline) {
  proto::KvMembershipRequest request;
  request.set_group(options_.group);
  *request.mutable_change() = change;
  return call<proto::KvMembershipReply>(request, deadline, true);
}

Status KvClient::transfer_leadership(NodeId target, Duration deadline) {
  proto::KvTransferLeadershipRequest request;
  request.set_group(options_.group);
  request.set_target(target);
  return call<proto::KvTransferLeadershipReply>(request, deadline, true).status();
}

Result<proto::KvStatusReply> KvClient::status(NodeId server, Duration deadline) {
  return status_of({server}, deadline).at(server);
}

std::map<NodeId, Result<proto::KvStatusReply>> KvClient::status_of(const std::vector<NodeId>& servers, Duration deadline) {
  proto::KvStatusRequest request;
  request.set_group(options_.group);
  std::vector<std::pair<NodeId, Future<proto::Envelope>>> calls;
  for (NodeId server : servers) {
    ++attempts_;
    calls.emplace_back(server, rpc_->start_call(server, services::kKeyValue, request, deadline));
  }
  std::map<NodeId, Result<proto::KvStatusReply>> replies;
  for (auto& [server, call] : calls) {
    Result<proto::Envelope> envelope = call.get();
    replies.emplace(server, envelope.ok() ? RpcClient::unpack_response<proto::KvStatusReply>(*envelope)
                                          : Result<proto::KvStatusReply>(explained(server, envelope.status())));
  }
  return replies;
}

}  // namespace cairn::kv
