// The two-phase ABD client (see register_client.h).
#include "core/register/register_client.h"

#include <algorithm>
#include <set>

#include "core/register/register_store.h"
#include "core/runtime/wait_any.h"

namespace cairn {

Result<std::unique_ptr<RegisterClient>> RegisterClient::create(Runtime& runtime, Options options) {
  if (options.replicas.empty()) return Status::invalid_argument("a register client needs at least one replica");
  if (options.read_quorum > options.replicas.size() || options.write_quorum > options.replicas.size()) {
    return Status::invalid_argument("a quorum cannot be larger than the number of replicas");
  }
  CAIRN_ASSIGN_OR_RETURN(std::unique_ptr<RpcClient> rpc, RpcClient::create(runtime, options.reply_service));
  return std::unique_ptr<RegisterClient>(new RegisterClient(runtime, std::move(options), std::move(rpc)));
}

RegisterClient::RegisterClient(Runtime& runtime, Options options, std::unique_ptr<RpcClient> rpc)
    : runtime_(&runtime), options_(std::move(options)), rpc_(std::move(rpc)) {}

RegisterClient::QueryOutcome RegisterClient::query(MonotonicTime deadline) {
  QueryOutcome outcome;
  std::set<NodeId> answered;
  bool first = true;
  while (true) {
    const Duration remaining = deadline - runtime_->now();
    if (remaining <= Duration::zero()) break;
    const Duration round = std::min(remaining, options_.round_timeout);
    std::vector<Future<proto::Envelope>> replies;
    for (NodeId replica : options_.replicas) {
      if (answered.count(replica) != 0) continue;
      replies.push_back(rpc_->start_call(replica, services::kRegister, proto::RegisterReadRequest(), round));
    }
    for_each_in_completion_order(replies, [&](std::size_t, Result<proto::Envelope> reply) {
      if (!reply.ok()) {
        outcome.error = reply.status();
        return false;
      }
      Result<proto::RegisterReadReply> read = RpcClient::unpack_response<proto::RegisterReadReply>(*reply);
      if (!read.ok()) {
        outcome.error = read.status();
        return false;
      }
      if (read->recovering()) return false;  // its value may be missing acknowledged writes
      if (!answered.insert(reply->source()).second) return false;
      const proto::RegisterValue& value = read->value();
      if (first) {
        outcome.newest = value;
        outcome.majority_agreed = true;
        first = false;
      } else {
        if (value.sequence() != outcome.newest.sequence() || value.writer() != outcome.newest.writer()) {
          outcome.majority_agreed = false;
        }
        if (register_value_newer(value, outcome.newest)) outcome.newest = value;
      }
      return answered.size() >= read_quorum();
    });
    if (answered.size() >= read_quorum()) {
      outcome.reached_majority = true;
      return outcome;
    }
  }
  if (outcome.error.ok()) outcome.error = Status::timeout("no majority answered the query in time");
  return outcome;
}

Status RegisterClient::store(const proto::RegisterValue& value, MonotonicTime deadline) {
  std::set<NodeId> acknowledged;
  Status last_error = Status::timeout("no majority acknowledged the write in time");
  proto::RegisterWriteRequest request;
  *request.mutable_value() = value;
  while (true) {
    const Duration remaining = deadline - runtime_->now();
    if (remaining <= Duration::zero()) break;
    const Duration round = std::min(remaining, options_.round_timeout);
    std::vector<Future<proto::Envelope>> replies;
    for (NodeId replica : options_.replicas) {
      if (acknowledged.count(replica) != 0) continue;
      replies.push_back(rpc_->start_call(replica, services::kRegister, request, round));
    }
    for_each_in_completion_order(replies, [&](std::size_t, Result<proto::Envelope> reply) {
      if (!reply.ok()) {
        last_error = reply.status();
        return false;
      }
      Result<proto::RegisterWriteReply> stored = RpcClient::unpack_response<proto::RegisterWriteReply>(*reply);
      if (!stored.ok()) {
        last_error = stored.status();
        return false;
      }
      // The replica durably holds a value at least as new as ours.
      if (register_value_newer(value, stored->stored())) {
        last_error = Status::internal("replica acknowledged an older value");
        return false;
      }
      acknowledged.insert(reply->source());
      return acknowledged.size() >= write_quorum();
    });
    if (acknowledged.size() >= write_quorum()) return {};
  }
  return last_error;
}

RegisterResult RegisterClient::read(Duration deadline_after) {
  const MonotonicTime deadline = runtime_->now() + deadline_after;
  RegisterResult result;
  QueryOutcome queried = query(deadline);
  if (!queried.reached_majority) {
    result.outcome = OperationOutcome::kFailed;
    result.error = queried.error;
    return result;
  }
  result.value = queried.newest;
  // Writing back what a majority already holds is ABD's original read: slower, never wrong.
  if (!queried.majority_agreed || runtime_->buggify("register.read.written_back_although_agreed")) {
    Status stored = store(queried.newest, deadline);
    if (!stored.ok()) {
      // Nothing new was written, so a read that did not finish has no effect: FAILED.
      result.outcome = OperationOutcome::kFailed;
      result.error = stored;
      return result;
    }
  }
  result.outcome = OperationOutcome::kOk;
  return result;
}

RegisterResult RegisterClient::write(std::string data, Duration deadline_after) {
  const MonotonicTime deadline = runtime_->now() + deadline_after;
  RegisterResult result;
  result.value.set_writer(options_.writer_id);
  result.value.set_data(std::move(data));
  if (result.value.data().size() > RegisterStore::kMaxDataBytes) {
    result.outcome = OperationOutcome::kFailed;
    result.error = Status::invalid_argument("register values are limited to " +
                                            std::to_string(RegisterStore::kMaxDataBytes) + " bytes");
    return result;
  }
  QueryOutcome queried = query(deadline);
  if (!queried.reached_majority) {
    result.outcome = OperationOutcome::kFailed;
    result.error = queried.error;
    return result;
  }
  result.value.set_sequence(std::max(queried.newest.sequence(), last_sequence_) + 1);
  last_sequence_ = result.value.sequence();
  Status stored = store(result.value, deadline);
  if (!stored.ok()) {
    result.outcome = OperationOutcome::kUnknown;
    result.error = stored;
    return result;
  }
  result.outcome = OperationOutcome::kOk;
  return result;
}

}  // namespace cairn
