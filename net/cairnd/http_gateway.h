// HttpGateway: cairnd's HTTP/JSON API. It translates HTTP requests into the same key-value
// client calls the native protocol carries (through a KvClientPool, so requests to a follower
// are forwarded to the leader and writes keep one request id across retries) and answers in
// JSON made by protobuf's JSON printer (keys and values as base64, 64-bit integers as strings).
//
//   PUT    /v1/kv/{key}            body: the value (raw bytes)         -> KvWriteReply
//   GET    /v1/kv/{key}[?consistency=linearizable|lease|stale]         -> {"key","value","applied_index"}
//                                  (404 if absent; "Accept: application/octet-stream" -> the raw value)
//   DELETE /v1/kv/{key}                                                -> KvWriteReply
//   POST   /v1/kv:range            body: {"start","end","limit"} (base64 keys; consistency as above)
//                                                                      -> KvScanReply
//   GET    /v1/cluster             every member's role, term, leader and indexes (asked in parallel)
//   GET    /healthz                200 while the process serves
//   GET    /readyz                 200 once this node is in a quorum and caught up (a linearizable
//                                  read through it succeeds), else 503 with the reason
//   GET    /metrics                Prometheus text format (the runtime's metrics registry)
//
// Keys in the path are percent-decoded after the path is split, so "%2F" is a key byte. Errors
// are JSON {"error","message"} with a 4xx for the request's fault (400 malformed, 404 unknown
// route or absent key, 405 wrong method, 413 body too large) and 5xx for the cluster's (503 no
// quorum or overloaded, 504 no answer in time: a write may or may not have been applied).
// Unknown query parameters and unknown JSON fields are refused (400), so a misspelt option is
// never silently ignored.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/metrics/metrics_registry.h"
#include "net/cairnd/kv_client_pool.h"
#include "net/epoll_runtime.h"
#include "net/http/http_server.h"

namespace cairn::net {

struct HttpGatewayOptions {
  NodeId self = 0;
  std::string cluster_name;
  std::vector<NodeId> servers;      // every node known at start (this one included)
  Duration request_timeout = seconds(5);
  Duration status_timeout = seconds(1);  // per node, for /v1/cluster and /readyz
  http::HttpServer::Options server = {};
  ServiceId first_reply_service = services::kFirstEphemeralService + 1000;
};

class HttpGateway {
 public:
  HttpGateway(EpollRuntime& runtime, HttpGatewayOptions options);
  ~HttpGateway();
  HttpGateway(const HttpGateway&) = delete;
  HttpGateway& operator=(const HttpGateway&) = delete;

  // Starts serving on `address` (HOST:PORT, port 0 picks one); returns the port.
  Result<uint16_t> listen(const std::string& address);

 private:
  http::HttpResponse handle(const http::HttpRequest& request);
  http::HttpResponse route(const http::HttpRequest& request, std::string& route_name);
  http::HttpResponse put_key(const http::HttpRequest& request, std::string key);
  http::HttpResponse get_key(const http::HttpRequest& request, std::string key);
  http::HttpResponse delete_key(const http::HttpRequest& request, std::string key);
  http::HttpResponse range(const http::HttpRequest& request);
  http::HttpResponse cluster();
  http::HttpResponse ready();
  http::HttpResponse metrics();
  void count_request(const std::string& route_name, int status, Duration latency);

  EpollRuntime* runtime_;
  HttpGatewayOptions options_;
  metrics::MetricsRegistry* metrics_;
  KvClientPool clients_;
  // The registry's series for each route and status code, looked up once (the registry builds and
  // sorts label sets on every lookup; its references stay valid).
  std::map<std::pair<std::string, int>, metrics::Counter*> request_counters_;
  std::map<std::string, metrics::Histogram*, std::less<>> request_latencies_;
  std::unique_ptr<kv::KvClient> readiness_client_;  // /readyz's reads, through this node only
  // Last: its connection fibers borrow from everything above.
  std::unique_ptr<http::HttpServer> server_;
};

}  // namespace cairn::net
