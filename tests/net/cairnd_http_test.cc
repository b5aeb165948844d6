// cairnd's HTTP/JSON API on three real processes: keys written and read through every node and
// through both APIs (HTTP and native), the cluster and readiness reports, /metrics in the
// Prometheus text format, and hostile input on every port of a running node — each answered
// with the right 4xx or a closed connection, never a crash and never a damaged store.
#include <gtest/gtest.h>
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include <chrono>
#include <regex>
#include <thread>

#include "core/kv/kv_client.h"
#include "net/epoll_runtime.h"
#include "tests/net/cairnd_cluster.h"
#include "tests/net/raw_peer.h"

namespace cairn::net {
namespace {

using testing::CairndCluster;
using testing::connect_loopback;

struct HttpReply {
  int status = 0;  // 0: no answer (the connection closed first)
  std::string headers;
  std::string body;
};

// Sends `raw` (a whole request, or any bytes) on a new connection and reads until the server
// closes it; the request should ask for "Connection: close".
HttpReply http_exchange(uint16_t port, const std::string& raw) {
  HttpReply reply;
  const int fd = connect_loopback(port, 10);
  if (fd < 0) return reply;
  std::size_t sent = 0;
  while (sent < raw.size()) {
    const ssize_t n = ::send(fd, raw.data() + sent, raw.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;  // the server may answer and close before reading everything (413)
    sent += static_cast<std::size_t>(n);
  }
  std::string received;
  char buffer[16384];
  while (true) {
    const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n <= 0) break;
    received.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fd);
  const std::size_t end_of_headers = received.find("\r\n\r\n");
  if (!received.starts_with("HTTP/1.1 ") || end_of_headers == std::string::npos) return reply;
  reply.status = std::stoi(received.substr(9, 3));
  reply.headers = received.substr(0, end_of_headers);
  reply.body = received.substr(end_of_headers + 4);
  return reply;
}

HttpReply call(uint16_t port, const std::string& method, const std::string& target, const std::string& body = "",
               const std::string& extra_headers = "") {
  return http_exchange(port, method + " " + target + " HTTP/1.1\r\nHost: test\r\nConnection: close\r\n" + extra_headers +
                            "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
}

google::protobuf::Struct parse_json(const std::string& text) {
  google::protobuf::Struct object;
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(text, &object).ok()) << text;
  return object;
}

std::string field(const google::protobuf::Struct& object, const std::string& name) {
  auto found = object.fields().find(name);
  return found == object.fields().end() ? "" : found->second.string_value();
}

std::string base64(const std::string& bytes) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const uint32_t chunk = (uint32_t{static_cast<uint8_t>(bytes[i])} << 16) |
                           (uint32_t{static_cast<uint8_t>(bytes[i + 1])} << 8) | static_cast<uint8_t>(bytes[i + 2]);
    for (int shift = 18; shift >= 0; shift -= 6) out += kAlphabet[(chunk >> shift) & 63];
  }
  if (i < bytes.size()) {
    uint32_t chunk = uint32_t{static_cast<uint8_t>(bytes[i])} << 16;
    if (i + 1 < bytes.size()) chunk |= uint32_t{static_cast<uint8_t>(bytes[i + 1])} << 8;
    out += kAlphabet[(chunk >> 18) & 63];
    out += kAlphabet[(chunk >> 12) & 63];
    out += i + 1 < bytes.size() ? kAlphabet[(chunk >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

// Polls /readyz until it says 200 (the node is in a quorum and caught up), for up to ten seconds.
bool wait_until_ready(uint16_t port) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    if (call(port, "GET", "/readyz").status == 200) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

void start_ready_cluster(CairndCluster& cluster) {
  for (NodeId id : cluster.ids()) cluster.start(id, false);
  for (NodeId id : cluster.ids()) ASSERT_TRUE(wait_until_ready(cluster.http_port(id))) << cluster.logs(id);
}

TEST(HttpApi, WritesAndReadsThroughEveryNodeAndBothApis) {
  CairndCluster cluster(3);
  start_ready_cluster(cluster);
  // Written through node 1, read through each node at each consistency.
  HttpReply put = call(cluster.http_port(1), "PUT", "/v1/kv/greeting", "hello");
  ASSERT_EQ(put.status, 200) << put.body;
  const google::protobuf::Struct written = parse_json(put.body);
  EXPECT_NE(field(written, "index"), "");
  for (NodeId id : cluster.ids()) {
    HttpReply read = call(cluster.http_port(id), "GET", "/v1/kv/greeting");
    ASSERT_EQ(read.status, 200) << "node " << id << ": " << read.body;
    EXPECT_EQ(field(parse_json(read.body), "value"), base64("hello")) << read.body;
    HttpReply raw = call(cluster.http_port(id), "GET", "/v1/kv/greeting?consistency=lease", "",
                         "Accept: application/octet-stream\r\n");
    EXPECT_EQ(raw.status, 200);
    EXPECT_EQ(raw.body, "hello");
  }
  // Any byte may be in a key: "%2F" is a key byte, not a path separator.
  ASSERT_EQ(call(cluster.http_port(2), "PUT", "/v1/kv/a%2Fb%00c", std::string("v\0w", 3)).status, 200);
  HttpReply binary = call(cluster.http_port(3), "GET", "/v1/kv/a%2Fb%00c", "", "Accept: application/octet-stream\r\n");
  EXPECT_EQ(binary.body, std::string("v\0w", 3));
  EXPECT_EQ(call(cluster.http_port(3), "GET", "/v1/kv/a/b").status, 404);
  // Escapes are decoded exactly once, after the query was cut off: the stored key is "q?x%".
  ASSERT_EQ(call(cluster.http_port(1), "PUT", "/v1/kv/q%3Fx%25", "odd").status, 200);
  HttpReply odd = call(cluster.http_port(1), "POST", "/v1/kv:range",
                       "{\"start\":\"" + base64("q") + "\",\"end\":\"" + base64("r") + "\"}");
  EXPECT_EQ(odd.body, "{\"entries\":[{\"key\":\"" + base64("q?x%") + "\",\"value\":\"" + base64("odd") + "\"}]}\n");

  // The two APIs see one store.
  testing::with_kv_client(cluster, [&](kv::KvClient& client) {
    Result<std::optional<std::string>> read = client.get("greeting", proto::READ_LINEARIZABLE, seconds(10));
    ASSERT_TRUE(read.ok() && read->has_value()) << read.status().to_string();
    EXPECT_EQ(**read, "hello");
    ASSERT_TRUE(client.put("native", "written natively", seconds(10)).ok());
  });
  HttpReply native = call(cluster.http_port(2), "GET", "/v1/kv/native", "", "Accept: application/octet-stream\r\n");
  EXPECT_EQ(native.body, "written natively");

  // A range in key order, bounded by its limit; then a delete.
  for (const char* key : {"r3", "r1", "r2"}) ASSERT_EQ(call(cluster.http_port(1), "PUT", std::string("/v1/kv/") + key, key).status, 200);
  HttpReply range = call(cluster.http_port(3), "POST", "/v1/kv:range?consistency=linearizable",
                         "{\"start\":\"" + base64("r") + "\",\"end\":\"" + base64("s") + "\",\"limit\":2}");
  ASSERT_EQ(range.status, 200) << range.body;
  const google::protobuf::Struct entries = parse_json(range.body);
  const auto& list = entries.fields().at("entries").list_value();
  ASSERT_EQ(list.values_size(), 2) << range.body;
  EXPECT_EQ(field(list.values(0).struct_value(), "key"), base64("r1"));
  EXPECT_EQ(field(list.values(1).struct_value(), "key"), base64("r2"));
  EXPECT_EQ(call(cluster.http_port(2), "DELETE", "/v1/kv/greeting").status, 200);
  HttpReply gone = call(cluster.http_port(1), "GET", "/v1/kv/greeting");
  EXPECT_EQ(gone.status, 404);
  EXPECT_EQ(field(parse_json(gone.body), "error"), "key_not_found");
}

TEST(HttpApi, ClusterReportsEveryMemberAndReadinessFollowsTheQuorum) {
  CairndCluster cluster(3);
  start_ready_cluster(cluster);
  HttpReply report = call(cluster.http_port(2), "GET", "/v1/cluster");
  ASSERT_EQ(report.status, 200) << report.body;
  const google::protobuf::Struct status = parse_json(report.body);
  const std::string leader = field(status, "leader");
  EXPECT_NE(leader, "0");
  const auto& members = status.fields().at("members").list_value();
  ASSERT_EQ(members.values_size(), 3) << report.body;
  int leaders = 0;
  for (const auto& member : members.values()) {
    const google::protobuf::Struct& fields = member.struct_value();
    EXPECT_EQ(field(fields, "leader"), leader) << report.body;
    if (field(fields, "role") == "KV_ROLE_LEADER") {
      ++leaders;
      EXPECT_EQ(field(fields, "node"), leader);
    } else {
      EXPECT_EQ(field(fields, "role"), "KV_ROLE_FOLLOWER") << report.body;
    }
  }
  EXPECT_EQ(leaders, 1) << report.body;

  // Without a quorum, the survivor is alive (healthz) but not ready; with one again, ready.
  cluster.kill9(2);
  cluster.kill9(3);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  int readiness = 200;
  while (readiness == 200 && std::chrono::steady_clock::now() < deadline) {
    readiness = call(cluster.http_port(1), "GET", "/readyz").status;
  }
  EXPECT_EQ(readiness, 503);
  EXPECT_EQ(call(cluster.http_port(1), "GET", "/healthz").status, 200);
  HttpReply partial = call(cluster.http_port(1), "GET", "/v1/cluster");
  EXPECT_EQ(partial.status, 200);
  EXPECT_NE(partial.body.find("\"unreachable\":true"), std::string::npos) << partial.body;
  cluster.start(2, false);
  EXPECT_TRUE(wait_until_ready(cluster.http_port(1))) << cluster.logs(1);
}

TEST(HttpApi, MetricsAreInThePrometheusTextFormat) {
  CairndCluster cluster(3);
  start_ready_cluster(cluster);
  for (int i = 0; i < 5; ++i) ASSERT_EQ(call(cluster.http_port(1), "PUT", "/v1/kv/m" + std::to_string(i), "v").status, 200);
  // The leader's: it proposed and synced the writes (a follower forwarded them).
  std::string leader = field(parse_json(call(cluster.http_port(1), "GET", "/v1/cluster").body), "leader");
  HttpReply scraped = call(cluster.http_port(static_cast<NodeId>(std::stoull(leader))), "GET", "/metrics");
  ASSERT_EQ(scraped.status, 200);
  EXPECT_NE(scraped.headers.find("Content-Type: text/plain; version=0.0.4"), std::string::npos) << scraped.headers;
  const std::regex sample(R"(^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="[^"]*",?)*\})? [-+0-9.eEInfNa]+$)");
  std::map<std::string, double> values;
  std::istringstream lines(scraped.body);
  for (std::string line; std::getline(lines, line);) {
    if (line.starts_with("# HELP ") || line.starts_with("# TYPE ")) continue;
    ASSERT_TRUE(std::regex_match(line, sample)) << "not a Prometheus sample: '" << line << "'";
    values[line.substr(0, line.rfind(' '))] = std::stod(line.substr(line.rfind(' ') + 1));
  }
  EXPECT_GE(values["cairn_raft_proposals_total{group=\"1\"}"], 5);
  EXPECT_EQ(values["cairn_raft_is_leader{group=\"1\"}"], 1);
  EXPECT_GE(values["cairn_raft_term{group=\"1\"}"], 1);
  EXPECT_GE(values["cairn_raft_commit_index{group=\"1\"}"], 5);
  EXPECT_GE(values["cairn_wal_syncs_total"], 1);
  EXPECT_GE(values["cairn_wal_fsync_seconds_count"], 1);
  EXPECT_GE(values["cairn_kv_request_seconds_count{op=\"put\"}"], 5);
  HttpReply own = call(cluster.http_port(1), "GET", "/metrics");
  EXPECT_NE(own.body.find("cairn_http_requests_total{code=\"200\",route=\"kv_put\"} 5"), std::string::npos) << own.body;
}

// Every hostile request gets its status and the node stays whole: it still serves the value
// written before, and still shuts down cleanly.
TEST(HttpApi, HostileInputOnEveryPortIsAnsweredNotFatal) {
  CairndCluster cluster(3);
  start_ready_cluster(cluster);
  const uint16_t port = cluster.http_port(1);
  ASSERT_EQ(call(port, "PUT", "/v1/kv/precious", "kept").status, 200);
  const std::string request_line_end = " HTTP/1.1\r\nHost: t\r\nConnection: close\r\n";
  const struct {
    std::string name;
    std::string bytes;
    int status;
  } attacks[] = {
      {"garbage bytes", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", 400},
      {"oversized body", "PUT /v1/kv/big" + request_line_end + "Content-Length: 2000000\r\n\r\n" + std::string(4096, 'x'), 413},
      {"oversized chunked body", "PUT /v1/kv/big" + request_line_end + "Transfer-Encoding: chunked\r\n\r\n200000\r\n" +
                                     std::string(1 << 16, 'x'), 413},
      {"URL too long", "GET /v1/kv/" + std::string(9000, 'k') + request_line_end + "\r\n", 414},
      {"too many headers", "GET /healthz" + request_line_end + [] {
         std::string headers;
         for (int i = 0; i < 200; ++i) headers += "X-H" + std::to_string(i) + ": v\r\n";
         return headers;
       }() + "\r\n", 431},
      {"HTTP/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 400},
      {"HTTP/2.0 request line", "GET /healthz HTTP/2.0\r\nHost: t\r\n\r\n", 505},
      {"bad escape in key", "GET /v1/kv/%zz" + request_line_end + "\r\n", 400},
      {"empty key", "GET /v1/kv/" + request_line_end + "\r\n", 400},
      {"key too long", "PUT /v1/kv/" + std::string(5000, 'k') + request_line_end + "Content-Length: 1\r\n\r\nv", 400},
      {"reserved key", "PUT /v1/kv/%FF%FFsystem" + request_line_end + "Content-Length: 1\r\n\r\nv", 400},
      {"unknown query parameter", "GET /v1/kv/precious?consistancy=stale" + request_line_end + "\r\n", 400},
      {"bad consistency", "GET /v1/kv/precious?consistency=eventual" + request_line_end + "\r\n", 400},
      {"unknown JSON field", "POST /v1/kv:range" + request_line_end + "Content-Length: 12\r\n\r\n{\"bogus\":1}\n", 400},
      {"malformed JSON", "POST /v1/kv:range" + request_line_end + "Content-Length: 9\r\n\r\n{\"start\":", 400},
      {"JSON of the wrong type", "POST /v1/kv:range" + request_line_end + "Content-Length: 13\r\n\r\n{\"limit\":\"x\"}", 400},
      {"another group", "POST /v1/kv:range" + request_line_end + "Content-Length: 11\r\n\r\n{\"group\":7}", 400},
      {"wrong method", "PATCH /v1/kv/precious" + request_line_end + "\r\n", 405},
      {"unknown route", "GET /v2/everything" + request_line_end + "\r\n", 404},
  };
  for (const auto& attack : attacks) {
    HttpReply reply = http_exchange(port, attack.bytes);
    EXPECT_EQ(reply.status, attack.status) << attack.name << ": " << reply.body;
    if (reply.status != 0) {
      EXPECT_NE(field(parse_json(reply.body), "error"), "") << attack.name << ": " << reply.body;
    }
    ASSERT_TRUE(cluster.alive(1)) << "node 1 died after: " << attack.name << "\n" << cluster.logs(1);
  }
  // Garbage on the native ports (peer and client) closes the connection.
  for (uint16_t native_port : {cluster.client_port(1), static_cast<uint16_t>(std::stoi(cluster.addresses().at(1).substr(10)))}) {
    const int fd = connect_loopback(native_port);
    ASSERT_GE(fd, 0);
    const std::string garbage = "GET / HTTP/1.1\r\n\r\n";
    ASSERT_GT(::send(fd, garbage.data(), garbage.size(), MSG_NOSIGNAL), 0);
    EXPECT_TRUE(testing::read_until_closed(fd)) << "port " << native_port;
    ::close(fd);
  }
  HttpReply kept = call(port, "GET", "/v1/kv/precious", "", "Accept: application/octet-stream\r\n");
  EXPECT_EQ(kept.status, 200);
  EXPECT_EQ(kept.body, "kept");
  EXPECT_EQ(call(port, "GET", "/v1/kv/big").status, 404) << "an oversized write was applied";
  EXPECT_EQ(cluster.terminate(1), 0) << cluster.logs(1);
}

}  // namespace
}  // namespace cairn::net
