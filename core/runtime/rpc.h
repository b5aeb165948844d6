// Request/response on top of Network: RpcClient sends a request and resolves a future with the
// response, an error the server returned, or TIMEOUT; RpcServer runs one fiber per request and
// sends back what its handler returns.
//
// Limits are explicit: a client has at most `max_in_flight` calls waiting (further calls fail
// at once with RESOURCE_EXHAUSTED); a server runs at most `max_concurrent` handlers (further
// requests get a RESOURCE_EXHAUSTED response, so the caller learns it was shed, not lost).
// Request ids start at a random point per client, so a late response addressed to an earlier
// incarnation of a restarted node never matches a new call.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include <google/protobuf/message.h>

#include "core/runtime/fiber_scope.h"
#include "core/runtime/future.h"
#include "core/runtime/message.h"
#include "core/runtime/runtime.h"

namespace cairn {

class RpcClient {
 public:
  // Binds `reply_service` on this node to receive responses.
  static Result<std::unique_ptr<RpcClient>> create(Runtime& runtime, ServiceId reply_service,
                                                   std::size_t max_in_flight = 1024);
  ~RpcClient();
  RpcClient(const RpcClient&) = delete;
  RpcClient& operator=(const RpcClient&) = delete;

  // Sends the request and returns at once; the future resolves with the response envelope, the
  // server's error, TIMEOUT after `timeout`, or a local send error.
  Future<proto::Envelope> start_call(NodeId to, ServiceId service, const google::protobuf::Message& request,
                                     Duration timeout);

  // Sends the request and waits for a response of type Response.
  template <typename Response>
  Result<Response> call(NodeId to, ServiceId service, const google::protobuf::Message& request, Duration timeout) {
    Result<proto::Envelope> reply = start_call(to, service, request, timeout).get();
    if (!reply.ok()) return reply.status();
    return unpack_response<Response>(*reply);
  }

  template <typename Response>
  static Result<Response> unpack_response(const proto::Envelope& reply) {
    Response response;
    CAIRN_RETURN_IF_ERROR(unpack_payload(reply, response));
    return response;
  }

  std::size_t in_flight() const { return pending_.size(); }
  uint64_t late_responses() const { return late_responses_; }

 private:
  RpcClient(Runtime& runtime, ServiceId reply_service, std::size_t max_in_flight);
  void on_response(proto::Envelope&& envelope);

  struct PendingCall {
    Promise<proto::Envelope> promise;
    TimerId timer;
  };

  Runtime* runtime_;
  ServiceId reply_service_;
  std::size_t max_in_flight_;
  uint64_t next_request_id_;
  uint64_t late_responses_ = 0;
  std::map<uint64_t, PendingCall> pending_;
  std::unique_ptr<ServiceBinding> binding_;
};

// Who sent a request.
struct RpcContext {
  NodeId source;
  uint64_t request_id;
};

class RpcServer {
 public:
  RpcServer(Runtime& runtime, ServiceId service, std::size_t max_concurrent = 256);
  ~RpcServer();
  RpcServer(const RpcServer&) = delete;
  RpcServer& operator=(const RpcServer&) = delete;

  // Registers the handler for requests of type Request. Call before start().
  template <typename Request, typename Response>
  void add_handler(std::function<Result<Response>(const RpcContext&, const Request&)> handler) {
    handlers_[Request::descriptor()->full_name()] =
        [handler = std::move(handler)](const RpcContext& context, const proto::Envelope& envelope)
        -> Result<std::unique_ptr<google::protobuf::Message>> {
      Request request;
      CAIRN_RETURN_IF_ERROR(unpack_payload(envelope, request));
      Result<Response> response = handler(context, request);
      if (!response.ok()) return response.status();
      return std::unique_ptr<google::protobuf::Message>(std::make_unique<Response>(std::move(*response)));
    };
  }

  // Binds the service; requests are served from then on.
  Status start();
  std::size_t active_handlers() const { return active_handlers_; }
  uint64_t shed_requests() const { return shed_requests_; }

 private:
  using RawHandler =
      std::function<Result<std::unique_ptr<google::protobuf::Message>>(const RpcContext&, const proto::Envelope&)>;

  void on_request(proto::Envelope&& envelope);
  void serve(const proto::Envelope& request);
  void reply(const proto::Envelope& request, const Result<std::unique_ptr<google::protobuf::Message>>& result);

  Runtime* runtime_;
  ServiceId service_;
  std::size_t max_concurrent_;
  std::size_t active_handlers_ = 0;
  uint64_t shed_requests_ = 0;
  std::map<std::string, RawHandler> handlers_;
  FiberScope handler_fibers_;
  std::unique_ptr<ServiceBinding> binding_;
};

}  // namespace cairn
