// Request/response over the Network (see rpc.h).
#include "core/runtime/rpc.h"

#include <utility>

namespace cairn {

Result<std::unique_ptr<RpcClient>> RpcClient::create(Runtime& runtime, ServiceId reply_service,
                                                     std::size_t max_in_flight) {
  std::unique_ptr<RpcClient> client(new RpcClient(runtime, reply_service, max_in_flight));
  RpcClient* raw = client.get();
  CAIRN_ASSIGN_OR_RETURN(raw->binding_, runtime.network().bind(reply_service, [raw](proto::Envelope&& envelope) {
                           raw->on_response(std::move(envelope));
                         }));
  return client;
}

RpcClient::RpcClient(Runtime& runtime, ServiceId reply_service, std::size_t max_in_flight)
    : runtime_(&runtime),
      reply_service_(reply_service),
      max_in_flight_(max_in_flight),
      // Never zero, and far from any earlier incarnation's ids.
      next_request_id_((runtime.random().next_u64() >> 1) + 1) {}

RpcClient::~RpcClient() {
  binding_.reset();
  for (auto& [id, call] : pending_) {
    runtime_->cancel_timer(call.timer);
    call.promise.set_error(Status::cancelled("RPC client closed"));
  }
}

Future<proto::Envelope> RpcClient::start_call(NodeId to, ServiceId service, const google::protobuf::Message& request,
                                              Duration timeout) {
  if (pending_.size() >= max_in_flight_) {
    return make_ready_future<proto::Envelope>(
        Status::resource_exhausted("too many RPCs in flight (" + std::to_string(max_in_flight_) + ")"));
  }
  const uint64_t request_id = next_request_id_++;
  proto::Envelope envelope;
  envelope.set_destination(to);
  envelope.set_service(service);
  envelope.set_reply_service(reply_service_);
  envelope.set_kind(proto::REQUEST);
  envelope.set_request_id(request_id);
  pack_payload(request, envelope);
  Status sent = runtime_->network().send(std::move(envelope));
  if (!sent.ok()) return make_ready_future<proto::Envelope>(std::move(sent));

  PendingCall& call = pending_[request_id];
  Future<proto::Envelope> future = call.promise.future();
  call.timer = runtime_->start_timer(timeout, [this, request_id, to, timeout] {
    auto it = pending_.find(request_id);
    if (it == pending_.end()) return;
    it->second.promise.set_error(Status::timeout("no response from node " + std::to_string(to) + " within " +
                                                 format_duration(timeout)));
    pending_.erase(it);
  });
  return future;
}

void RpcClient::on_response(proto::Envelope&& envelope) {
  auto it = pending_.find(envelope.request_id());
  if (envelope.kind() != proto::RESPONSE || it == pending_.end()) {
    ++late_responses_;  // timed out already, a duplicate, or not ours
    return;
  }
  PendingCall call = std::move(it->second);
  pending_.erase(it);
  runtime_->cancel_timer(call.timer);
  Status error = envelope_error(envelope);
  if (!error.ok()) {
    call.promise.set_error(std::move(error));
  } else {
    call.promise.set_value(std::move(envelope));
  }
}

RpcServer::RpcServer(Runtime& runtime, ServiceId service, std::size_t max_concurrent)
    : runtime_(&runtime), service_(service), max_concurrent_(max_concurrent), handler_fibers_(runtime.process()) {}

RpcServer::~RpcServer() {
  // Stop taking requests, then end the handlers while everything they use still exists.
  binding_.reset();
  handler_fibers_.cancel();
}

Status RpcServer::start() {
  CAIRN_ASSIGN_OR_RETURN(binding_, runtime_->network().bind(service_, [this](proto::Envelope&& envelope) {
                           on_request(std::move(envelope));
                         }));
  return {};
}

void RpcServer::on_request(proto::Envelope&& envelope) {
  if (envelope.kind() != proto::REQUEST && envelope.kind() != proto::ONE_WAY) return;
  // A server may shed any request as if it were busy: callers retry.
  if (active_handlers_ >= max_concurrent_ || runtime_->buggify("rpc.server.request_shed")) {
    ++shed_requests_;
    reply(envelope, Status::resource_exhausted("server busy: " + std::to_string(max_concurrent_) +
                                               " requests already in progress"));
    return;
  }
  ++active_handlers_;
  handler_fibers_.spawn("rpc:" + envelope.message_type(), [this, request = std::move(envelope)] {
    struct Release {
      std::size_t* count;
      ~Release() { --*count; }
    } release{&active_handlers_};
    serve(request);
  });
}

void RpcServer::serve(const proto::Envelope& request) {
  auto handler = handlers_.find(request.message_type());
  if (handler == handlers_.end()) {
    reply(request, Status::invalid_argument("no handler for '" + request.message_type() + "' on service " +
                                            std::to_string(service_)));
    return;
  }
  const RpcContext context{request.source(), request.request_id()};
  Result<std::unique_ptr<google::protobuf::Message>> result = handler->second(context, request);
  if (runtime_->buggify("rpc.server.reply_delayed")) runtime_->sleep(milliseconds(1 + runtime_->random().uniform(50)));
  reply(request, result);
}

void RpcServer::reply(const proto::Envelope& request, const Result<std::unique_ptr<google::protobuf::Message>>& result) {
  if (request.kind() != proto::REQUEST) return;
  // A reply lost after the work was done: the caller times out and retries (deduplication's case).
  if (runtime_->buggify("rpc.server.reply_dropped")) return;
  proto::Envelope response;
  response.set_destination(request.source());
  response.set_service(request.reply_service());
  response.set_kind(proto::RESPONSE);
  response.set_request_id(request.request_id());
  if (result.ok()) {
    pack_payload(**result, response);
  } else {
    set_envelope_error(result.status(), response);
  }
  // A lost response looks like a lost request to the caller, which times out and may retry.
  (void)runtime_->network().send(std::move(response));
}

}  // namespace cairn
