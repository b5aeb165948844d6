// cairnd's HTTP/JSON API over the key-value clients (http_gateway.h).
#include "net/cairnd/http_gateway.h"

#include <algorithm>
#include <set>

#include "core/kv/cluster_survey.h"
#include "net/http/proto_json.h"

namespace cairn::net {
namespace {

using http::HttpRequest;
using http::HttpResponse;
using http::json_error;

constexpr std::string_view kKeyPrefix = "/v1/kv/";
constexpr std::string_view kReadinessKey = "cairn.readyz";

// The HTTP status a failed key-value call deserves: the caller's fault is 4xx, the cluster's 5xx.
int http_status_of(const Status& status) {
  switch (status.code()) {
    case StatusCode::kInvalidArgument: return 400;
    case StatusCode::kNotFound: return 404;
    case StatusCode::kFailedPrecondition: return 409;
    case StatusCode::kResourceExhausted: return 503;
    case StatusCode::kUnavailable: return 503;
    case StatusCode::kTimeout: return 504;
    default: return 500;
  }
}

HttpResponse error_response(const Status& status) {
  const int code = http_status_of(status);
  std::string message = status.message();
  if (code == 504) message += " (a write may or may not have been applied)";
  return json_error(code, code == 504 ? "timeout" : code < 500 ? "bad_request" : "unavailable", message);
}

HttpResponse json_response(const google::protobuf::Message& message) {
  HttpResponse response;
  response.body = http::to_json(message);
  response.body += '\n';
  return response;
}

// Refuses query parameters the route does not know, naming the first.
Status check_query(const HttpRequest& request, std::initializer_list<std::string_view> allowed) {
  for (const auto& [name, value] : request.query) {
    if (std::find(allowed.begin(), allowed.end(), name) == allowed.end()) {
      return Status::invalid_argument("unknown query parameter '" + name + "'");
    }
  }
  return {};
}

Result<proto::ReadConsistency> consistency_of(const HttpRequest& request, proto::ReadConsistency fallback) {
  auto found = request.query.find("consistency");
  if (found == request.query.end()) return fallback;
  if (found->second == "linearizable") return proto::READ_LINEARIZABLE;
  if (found->second == "lease") return proto::READ_LEASE;
  if (found->second == "stale") return proto::READ_STALE;
  return Status::invalid_argument("consistency must be linearizable, lease or stale, not '" + found->second + "'");
}

// The key of a /v1/kv/{key} target, decoded only after the path was cut from the query.
Result<std::string> key_of(const HttpRequest& request) {
  std::string_view raw = request.target;
  raw.remove_prefix(kKeyPrefix.size());
  raw = raw.substr(0, raw.find('?'));
  if (raw.empty()) return Status::invalid_argument("the key is missing: use /v1/kv/{key}");
  return http::percent_decode(raw, /*plus_is_space=*/false);
}

bool is_read_method(const std::string& method) { return method == "GET" || method == "HEAD"; }

HttpResponse method_not_allowed(std::string_view allowed) {
  HttpResponse response = json_error(405, "method_not_allowed", "use " + std::string(allowed));
  response.headers.emplace_back("Allow", std::string(allowed));
  return response;
}

KvClientPool::Options pool_options(const HttpGatewayOptions& options) {
  KvClientPool::Options pool;
  pool.client.servers = options.servers;
  pool.first_reply_service = options.first_reply_service + 1;  // +0: the readiness client
  // One borrowed client per connection at most: a connection carries one request at a time.
  pool.max_clients = options.server.max_connections;
  return pool;
}

}  // namespace

HttpGateway::HttpGateway(EpollRuntime& runtime, HttpGatewayOptions options)
    : runtime_(&runtime),
      options_(std::move(options)),
      metrics_(&runtime.metrics()),
      clients_(runtime, pool_options(options_)) {}

HttpGateway::~HttpGateway() = default;

Result<uint16_t> HttpGateway::listen(const std::string& address) {
  if (readiness_client_ == nullptr) {
    kv::KvClientOptions readiness;
    readiness.servers = {options_.self};  // asks this node only: its own view decides
    readiness.reply_service = options_.first_reply_service;
    readiness.attempt_timeout = options_.status_timeout;
    CAIRN_ASSIGN_OR_RETURN(readiness_client_, kv::KvClient::create(*runtime_, readiness));
  }
  if (server_ == nullptr) {
    server_ = std::make_unique<http::HttpServer>(runtime_->loop(), *runtime_, options_.server,
                                                 [this](const HttpRequest& request) { return handle(request); });
  }
  return server_->listen(address);
}

HttpResponse HttpGateway::handle(const HttpRequest& request) {
  const MonotonicTime start = runtime_->now();
  std::string route_name = "unknown";
  HttpResponse response = route(request, route_name);
  count_request(route_name, response.status, runtime_->now() - start);
  return response;
}

HttpResponse HttpGateway::route(const HttpRequest& request, std::string& route_name) {
  const std::string& method = request.method;
  if (request.path.starts_with(kKeyPrefix)) {
    Result<std::string> key = key_of(request);
    if (method == "PUT") {
      route_name = "kv_put";
    } else if (is_read_method(method)) {
      route_name = "kv_get";
    } else if (method == "DELETE") {
      route_name = "kv_delete";
    } else {
      return method_not_allowed("GET, HEAD, PUT, DELETE");
    }
    if (!key.ok()) return error_response(key.status());
    if (method == "PUT") return put_key(request, std::move(*key));
    if (method == "DELETE") return delete_key(request, std::move(*key));
    return get_key(request, std::move(*key));
  }
  if (request.path == "/v1/kv:range") {
    route_name = "kv_range";
    return method == "POST" ? range(request) : method_not_allowed("POST");
  }
  if (request.path == "/v1/cluster") {
    route_name = "cluster";
    if (!is_read_method(method)) return method_not_allowed("GET, HEAD");
    if (Status checked = check_query(request, {}); !checked.ok()) return error_response(checked);
    return cluster();
  }
  if (request.path == "/healthz" || request.path == "/readyz" || request.path == "/metrics") {
    route_name = request.path.substr(1);
    if (!is_read_method(method)) return method_not_allowed("GET, HEAD");
    if (request.path == "/healthz") {
      HttpResponse response;
      response.body = "{\"status\":\"ok\"}\n";
      return response;
    }
    return request.path == "/readyz" ? ready() : metrics();
  }
  return json_error(404, "not_found", "no route for " + request.path +
                                          " (see /v1/kv/{key}, /v1/kv:range, /v1/cluster, /healthz, /readyz, /metrics)");
}

HttpResponse HttpGateway::put_key(const HttpRequest& request, std::string key) {
  if (Status checked = check_query(request, {}); !checked.ok()) return error_response(checked);
  Result<KvClientPool::Lease> client = clients_.acquire();
  if (!client.ok()) return error_response(client.status());
  Result<proto::KvWriteReply> reply = (*client)->put(std::move(key), request.body, options_.request_timeout);
  return reply.ok() ? json_response(*reply) : error_response(reply.status());
}

HttpResponse HttpGateway::delete_key(const HttpRequest& request, std::string key) {
  if (Status checked = check_query(request, {}); !checked.ok()) return error_response(checked);
  Result<KvClientPool::Lease> client = clients_.acquire();
  if (!client.ok()) return error_response(client.status());
  Result<proto::KvWriteReply> reply = (*client)->remove(std::move(key), options_.request_timeout);
  return reply.ok() ? json_response(*reply) : error_response(reply.status());
}

HttpResponse HttpGateway::get_key(const HttpRequest& request, std::string key) {
  if (Status checked = check_query(request, {"consistency"}); !checked.ok()) return error_response(checked);
  Result<proto::ReadConsistency> consistency = consistency_of(request, proto::READ_LINEARIZABLE);
  if (!consistency.ok()) return error_response(consistency.status());
  Result<KvClientPool::Lease> client = clients_.acquire();
  if (!client.ok()) return error_response(client.status());
  Result<std::optional<std::string>> value = (*client)->get(key, *consistency, options_.request_timeout);
  if (!value.ok()) return error_response(value.status());
  if (!value->has_value()) return json_error(404, "key_not_found", "the key does not exist");
  std::optional<std::string_view> accept = request.header("Accept");
  if (accept.has_value() && *accept == "application/octet-stream") {
    HttpResponse response;
    response.content_type = "application/octet-stream";
    response.body = std::move(**value);
    return response;
  }
  proto::KvEntry entry;
  entry.set_key(std::move(key));
  entry.set_value(std::move(**value));
  return json_response(entry);
}

HttpResponse HttpGateway::range(const HttpRequest& request) {
  if (Status checked = check_query(request, {"consistency"}); !checked.ok()) return error_response(checked);
  proto::KvScanRequest scan;
  if (!request.body.empty()) {
    if (Status parsed = http::from_json(request.body, scan); !parsed.ok()) return error_response(parsed);
  }
  if (scan.group() != 0 && scan.group() != 1) {
    return error_response(Status::invalid_argument("this cluster serves group 1 only"));
  }
  Result<proto::ReadConsistency> consistency = consistency_of(request, scan.consistency());
  if (!consistency.ok()) return error_response(consistency.status());
  Result<KvClientPool::Lease> client = clients_.acquire();
  if (!client.ok()) return error_response(client.status());
  Result<std::vector<proto::KvEntry>> entries =
      (*client)->scan(scan.start(), scan.end(), scan.limit(), *consistency, options_.request_timeout);
  if (!entries.ok()) return error_response(entries.status());
  proto::KvScanReply reply;
  for (proto::KvEntry& entry : *entries) *reply.add_entries() = std::move(entry);
  return json_response(reply);
}

HttpResponse HttpGateway::cluster() {
  // The configured nodes first, then every member they name that was not configured here (a
  // node added later), so the answer covers the membership as the cluster knows it.
  kv::ClusterSurvey survey;
  if (Result<KvClientPool::Lease> client = clients_.acquire(); client.ok()) {
    survey = kv::survey_cluster(**client, options_.servers, options_.status_timeout, nullptr);
  } else {
    for (NodeId node : options_.servers) survey.statuses.emplace(node, client.status());
  }
  std::map<NodeId, Result<proto::KvStatusReply>>& replies = survey.statuses;
  const NodeId leader = survey.leader;
  std::string members;
  for (const auto& [node, reply] : replies) {
    members += members.empty() ? "" : ",";
    if (reply.ok()) {
      members += http::to_json(*reply, /*print_defaults=*/true);
    } else {
      members += "{\"node\":\"" + std::to_string(node) + "\",\"unreachable\":true,\"error\":";
      http::append_json_string(members, reply.status().to_string());
      members += "}";
    }
  }
  HttpResponse response;
  response.body = "{\"cluster\":";
  http::append_json_string(response.body, options_.cluster_name);
  response.body += ",\"leader\":\"" + std::to_string(leader) + "\",\"members\":[" + members + "]}\n";
  return response;
}

HttpResponse HttpGateway::ready() {
  // A linearizable read through this node proves both halves of readiness: the leader confirmed
  // its leadership with a quorum, and this node applied the log up to the leader's commit point.
  Result<std::optional<std::string>> read =
      readiness_client_->get(std::string(kReadinessKey), proto::READ_LINEARIZABLE, options_.status_timeout);
  if (!read.ok()) {
    return json_error(503, "not_ready", "this node cannot serve a linearizable read yet: " + read.status().to_string());
  }
  HttpResponse response;
  response.body = "{\"status\":\"ready\",\"node\":\"" + std::to_string(options_.self) + "\"}\n";
  return response;
}

HttpResponse HttpGateway::metrics() {
  HttpResponse response;
  response.content_type = "text/plain; version=0.0.4; charset=utf-8";
  response.body = metrics_->render_prometheus();
  return response;
}

void HttpGateway::count_request(const std::string& route_name, int status, Duration latency) {
  metrics::Counter*& counter = request_counters_[{route_name, status}];
  if (counter == nullptr) {
    counter = &metrics_->counter("cairn_http_requests_total", "HTTP requests answered, by route and status code",
                                 {{"route", route_name}, {"code", std::to_string(status)}});
  }
  counter->add();
  metrics::Histogram*& latency_histogram = request_latencies_[route_name];
  if (latency_histogram == nullptr) {
    latency_histogram = &metrics_->histogram("cairn_http_request_seconds", "Time to answer an HTTP request, by route",
                                             {{"route", route_name}}, metrics::latency_buckets_seconds());
  }
  latency_histogram->observe(to_seconds(latency));
}

}  // namespace cairn::net
