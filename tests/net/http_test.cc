// The HTTP layer under the future /v1 API: the message helpers (percent-decoding, JSON escaping,
// serialization), the incremental request parser (every split of a byte stream, pipelining,
// chunked bodies, each error status), and the server on a real EpollRuntime, with a plain
// blocking socket on another thread playing the client (well-behaved or not).
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <functional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "net/epoll_runtime.h"
#include "net/http/http_message.h"
#include "net/http/http_request_parser.h"
#include "net/http/http_server.h"
#include "tests/net/raw_peer.h"
#include "tests/support/test_support.h"

namespace cairn::net::http {
namespace {

using Clock = std::chrono::steady_clock;
using testing::connect_loopback;

// --- Messages ------------------------------------------------------------------------------------

TEST(HttpMessage, PercentDecodingOfPathsAndQueries) {
  EXPECT_EQ(percent_decode("/v1/kv/a%20b%2Fc%7e+", false).value(), "/v1/kv/a b/c~+");
  EXPECT_EQ(percent_decode("a+b%2B", true).value(), "a b+");
  EXPECT_EQ(percent_decode("%00x", false).value(), std::string("\0x", 2));
  for (std::string_view malformed : {"%", "%4", "%zz", "a%g0", "%%41"}) {
    Result<std::string> decoded = percent_decode(malformed, false);
    EXPECT_EQ(decoded.status().code(), StatusCode::kInvalidArgument) << malformed;
  }
  Result<std::map<std::string, std::string>> query = parse_query("b=2&a=x%20y&&flag&b=3&=empty&c=d=e");
  ASSERT_TRUE(query.ok()) << query.status();
  const std::map<std::string, std::string> expected = {{"a", "x y"}, {"b", "2"}, {"flag", ""}, {"", "empty"}, {"c", "d=e"}};
  EXPECT_EQ(*query, expected);
  EXPECT_FALSE(parse_query("a=%2").ok());
}

TEST(HttpMessage, HeaderLookupIgnoresCase) {
  HttpRequest request;
  request.headers = {{"Content-Type", "text/plain"}, {"X-Twice", "first"}, {"x-twice", "second"}};
  EXPECT_EQ(request.header("content-type"), std::optional<std::string_view>("text/plain"));
  EXPECT_EQ(request.header("CONTENT-TYPE"), std::optional<std::string_view>("text/plain"));
  EXPECT_EQ(request.header("x-TWICE"), std::optional<std::string_view>("first"));
  EXPECT_EQ(request.header("content-typ"), std::nullopt);
}

TEST(HttpMessage, JsonErrorEscapesEverythingIntoValidJson) {
  const HttpResponse response = json_error(404, "not_found", "key \"a\\b\"\n\t\x01 caf\xc3\xa9 \xff \xed\xa0\x80 \xf0\x9f\x98\x80");
  EXPECT_EQ(response.status, 404);
  EXPECT_EQ(response.content_type, "application/json");
  EXPECT_EQ(response.body,
            "{\"error\":\"not_found\",\"message\":\"key \\\"a\\\\b\\\"\\n\\t\\u0001 caf\xc3\xa9 \\ufffd "
            "\\ufffd\\ufffd\\ufffd \xf0\x9f\x98\x80\"}");
  // A truncated multi-byte sequence at the end, and an overlong encoding of '/'.
  EXPECT_EQ(json_error(400, "x", "\xe2\x82").body, "{\"error\":\"x\",\"message\":\"\\ufffd\\ufffd\"}");
  EXPECT_EQ(json_error(400, "x", "\xc0\xaf").body, "{\"error\":\"x\",\"message\":\"\\ufffd\\ufffd\"}");
}

TEST(HttpMessage, SerializedResponses) {
  HttpResponse response;
  response.status = 201;
  response.content_type = "text/plain";
  response.headers = {{"Location", "/v1/kv/a"}};
  response.body = "made";
  EXPECT_EQ(serialize_response(response, true),
            "HTTP/1.1 201 Created\r\nContent-Type: text/plain\r\nContent-Length: 4\r\nConnection: keep-alive\r\n"
            "Location: /v1/kv/a\r\n\r\nmade");
  EXPECT_TRUE(validate_response(response).ok());

  HttpResponse empty;
  empty.status = 204;
  empty.content_type.clear();
  EXPECT_EQ(serialize_response(empty, false), "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n");
  EXPECT_TRUE(validate_response(empty).ok());

  // What a handler must not do is refused by validate_response() and never reaches the wire.
  HttpResponse injected;
  injected.headers = {{"X-Evil", "a\r\nSet-Cookie: stolen=1"}, {"Content-Length", "0"}, {"Bad Name", "v"}};
  EXPECT_FALSE(validate_response(injected).ok());
  const std::string wire = serialize_response(injected, true);
  EXPECT_EQ(wire.find("Set-Cookie"), std::string::npos) << wire;
  EXPECT_EQ(wire.find("Bad Name"), std::string::npos) << wire;
  EXPECT_NE(wire.find("Content-Length: 0\r\n"), std::string::npos) << wire;
  HttpResponse out_of_range;
  out_of_range.status = 99;
  EXPECT_FALSE(validate_response(out_of_range).ok());
  HttpResponse bodied_304;
  bodied_304.status = 304;
  bodied_304.body = "x";
  EXPECT_FALSE(validate_response(bodied_304).ok());
}

// --- Parser --------------------------------------------------------------------------------------

HttpRequestLimits small_limits() {
  HttpRequestLimits limits;
  limits.max_body_bytes = 1024;
  limits.max_header_bytes = 512;
  limits.max_headers = 8;
  limits.max_url_bytes = 128;
  return limits;
}

// Everything a request carries, in one comparable line.
std::string describe(const HttpRequest& request) {
  std::string text = request.method + " " + request.target + " path=" + request.path + " query={";
  for (const auto& [key, value] : request.query) text += key + "=" + value + ";";
  text += "} headers={";
  for (const auto& [name, value] : request.headers) text += name + ":" + value + ";";
  text += "} body=" + request.body + " 1." + std::to_string(request.version_minor) +
          (request.keep_alive ? " keep-alive" : " close");
  return text;
}

std::vector<std::string> drain(HttpRequestParser& parser) {
  std::vector<std::string> requests;
  while (std::optional<HttpRequest> request = parser.next()) requests.push_back(describe(*request));
  return requests;
}

// Three pipelined requests: a body by length, a chunked body with an extension and a trailer,
// and a last request that closes the connection.
const std::string kPipelinedStream =
    "POST /v1/kv/a%20b?x=1&y=%7E HTTP/1.1\r\nHost: cairn\r\nContent-Length: 5\r\n\r\nhello"
    "PUT /chunked HTTP/1.1\r\nTransfer-Encoding: chunked\r\nX-Padded:   v  \r\n\r\n"
    "3\r\nabc\r\n4;ext=1\r\ndefg\r\n0\r\nTrailer-Field: t\r\n\r\n"
    "GET /last HTTP/1.1\r\nConnection: close\r\n\r\n";
const std::vector<std::string> kPipelinedRequests = {
    "POST /v1/kv/a%20b?x=1&y=%7E path=/v1/kv/a b query={x=1;y=~;} headers={Host:cairn;Content-Length:5;} "
    "body=hello 1.1 keep-alive",
    "PUT /chunked path=/chunked query={} headers={Transfer-Encoding:chunked;X-Padded:v;} body=abcdefg 1.1 keep-alive",
    "GET /last path=/last query={} headers={Connection:close;} body= 1.1 close",
};

TEST(HttpRequestParser, PipelinedRequestsComeOutOneAtATime) {
  HttpRequestParser parser(small_limits());
  parser.feed(kPipelinedStream);
  std::optional<HttpRequest> first = parser.next();
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(describe(*first), kPipelinedRequests[0]);
  EXPECT_GT(parser.buffered(), 0u);  // the others wait, unparsed
  EXPECT_TRUE(parser.request_in_progress());
  EXPECT_EQ(drain(parser), std::vector<std::string>(kPipelinedRequests.begin() + 1, kPipelinedRequests.end()));
  EXPECT_FALSE(parser.failed());
  EXPECT_EQ(parser.buffered(), 0u);
  EXPECT_FALSE(parser.request_in_progress());
}

TEST(HttpRequestParser, EverySplitOfTheStreamGivesTheSameRequests) {
  for (std::size_t split = 0; split <= kPipelinedStream.size(); ++split) {
    HttpRequestParser parser(small_limits());
    parser.feed(std::string_view(kPipelinedStream).substr(0, split));
    std::vector<std::string> requests = drain(parser);
    parser.feed(std::string_view(kPipelinedStream).substr(split));
    for (std::string& request : drain(parser)) requests.push_back(std::move(request));
    EXPECT_FALSE(parser.failed()) << "split at " << split << ": " << parser.error().message;
    EXPECT_EQ(requests, kPipelinedRequests) << "split at " << split;
  }
  HttpRequestParser byte_by_byte(small_limits());
  std::vector<std::string> requests;
  for (char byte : kPipelinedStream) {
    byte_by_byte.feed(std::string_view(&byte, 1));
    for (std::string& request : drain(byte_by_byte)) requests.push_back(std::move(request));
  }
  EXPECT_EQ(requests, kPipelinedRequests);
}

TEST(HttpRequestParser, KeepAliveFollowsTheVersionAndConnectionHeader) {
  const auto keep_alive_of = [](const std::string& head) {
    HttpRequestParser parser(small_limits());
    parser.feed(head);
    std::optional<HttpRequest> request = parser.next();
    EXPECT_TRUE(request.has_value()) << head;
    return request.has_value() && request->keep_alive;
  };
  EXPECT_TRUE(keep_alive_of("GET / HTTP/1.1\r\n\r\n"));
  EXPECT_FALSE(keep_alive_of("GET / HTTP/1.1\r\nConnection: close\r\n\r\n"));
  EXPECT_FALSE(keep_alive_of("GET / HTTP/1.0\r\n\r\n"));
  EXPECT_TRUE(keep_alive_of("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
  EXPECT_FALSE(keep_alive_of("GET / HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"));

  // Nothing may follow a last request.
  HttpRequestParser parser(small_limits());
  parser.feed("GET / HTTP/1.0\r\n\r\nGET /more HTTP/1.1\r\n\r\n");
  ASSERT_TRUE(parser.next().has_value());
  EXPECT_FALSE(parser.next().has_value());
  ASSERT_TRUE(parser.failed());
  EXPECT_EQ(parser.error().status, 400);
}

TEST(HttpRequestParser, AbsoluteFormTargetsAndOptionsStar) {
  HttpRequestParser parser(small_limits());
  parser.feed("GET http://example.com:80/a%2Fb?k=v HTTP/1.1\r\n\r\nGET http://example.com?k=w HTTP/1.1\r\n\r\n"
              "OPTIONS * HTTP/1.1\r\n\r\n");
  std::optional<HttpRequest> absolute = parser.next();
  ASSERT_TRUE(absolute.has_value());
  EXPECT_EQ(absolute->path, "/a/b");
  EXPECT_EQ(absolute->query.at("k"), "v");
  std::optional<HttpRequest> no_path = parser.next();
  ASSERT_TRUE(no_path.has_value());
  EXPECT_EQ(no_path->path, "/");
  EXPECT_EQ(no_path->query.at("k"), "w");
  std::optional<HttpRequest> star = parser.next();
  ASSERT_TRUE(star.has_value());
  EXPECT_EQ(star->method, "OPTIONS");
  EXPECT_EQ(star->path, "*");
}

TEST(HttpRequestParser, ExpectContinueIsReportedOnlyWhileTheBodyIsAwaited) {
  HttpRequestParser parser(small_limits());
  parser.feed("PUT /k HTTP/1.1\r\nExpect: 100-Continue\r\nContent-Length: 3\r\n\r\n");
  EXPECT_FALSE(parser.next().has_value());
  EXPECT_TRUE(parser.request_in_progress());
  EXPECT_TRUE(parser.take_continue_expected());
  EXPECT_FALSE(parser.take_continue_expected());  // once
  parser.feed("abc");
  std::optional<HttpRequest> request = parser.next();
  ASSERT_TRUE(request.has_value());
  EXPECT_EQ(request->body, "abc");

  // The body came along with the headers: nothing to ask for.
  parser.feed("PUT /k HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nxyz");
  ASSERT_TRUE(parser.next().has_value());
  EXPECT_FALSE(parser.take_continue_expected());
}

struct ErrorCase {
  std::string name;
  std::string bytes;
  int status;
  std::string code;
};

TEST(HttpRequestParser, EachKindOfBadInputGetsItsStatus) {
  const std::string many_headers = [] {
    std::string head = "GET / HTTP/1.1\r\n";
    for (int i = 0; i < 9; ++i) head += "X-H" + std::to_string(i) + ": v\r\n";
    return head + "\r\n";
  }();
  const std::vector<ErrorCase> cases = {
      {"garbage", "\x16\x03\x01 hello\r\n\r\n", 400, "bad_request"},
      {"no method", "/ HTTP/1.1\r\n\r\n", 400, "bad_request"},
      {"header without colon", "GET / HTTP/1.1\r\nNoColon\r\n\r\n", 400, "bad_request"},
      {"length and chunked", "POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", 400,
       "bad_request"},
      {"two lengths", "POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n", 400, "bad_request"},
      {"bad chunk size", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400, "bad_request"},
      {"bad path escape", "GET /a%zz HTTP/1.1\r\n\r\n", 400, "bad_request"},
      {"bad query escape", "GET /a?k=%4 HTTP/1.1\r\n\r\n", 400, "bad_request"},
      {"target not a path", "GET http://host HTTP/1.1\r\n\r\nGET x HTTP/1.1\r\n\r\n", 400, "bad_request"},
      {"connect", "CONNECT example.com:443 HTTP/1.1\r\n\r\n", 400, "bad_request"},
      {"too many headers", many_headers, 431, "headers_too_large"},
      {"header bytes", "GET / HTTP/1.1\r\nX-Big: " + std::string(600, 'b') + "\r\n\r\n", 431, "headers_too_large"},
      {"url", "GET /" + std::string(200, 'u') + " HTTP/1.1\r\n\r\n", 414, "url_too_long"},
      {"content length", "POST / HTTP/1.1\r\nContent-Length: 1025\r\n\r\n", 413, "body_too_large"},
      {"chunked body", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n200\r\n" + std::string(512, 'c') +
                           "\r\n201\r\n",
       413, "body_too_large"},
      {"version", "GET / HTTP/2.0\r\n\r\n", 505, "http_version_not_supported"},
  };
  for (const ErrorCase& error_case : cases) {
    HttpRequestParser parser(small_limits());
    parser.feed(error_case.bytes);
    std::vector<std::string> requests = drain(parser);
    if (error_case.name == "target not a path") {
      // The first request is fine ("http://host" means "/"); the second is refused.
      EXPECT_EQ(requests.size(), 1u);
    } else {
      EXPECT_TRUE(requests.empty()) << error_case.name;
    }
    ASSERT_TRUE(parser.failed()) << error_case.name;
    EXPECT_EQ(parser.error().status, error_case.status) << error_case.name << ": " << parser.error().message;
    EXPECT_EQ(parser.error().code, error_case.code) << error_case.name;
    // Final: more input changes nothing.
    parser.feed("GET / HTTP/1.1\r\n\r\n");
    EXPECT_FALSE(parser.next().has_value()) << error_case.name;
    EXPECT_EQ(parser.error().status, error_case.status) << error_case.name;
  }
}

TEST(HttpRequestParser, OversizedBodiesAreRefusedBeforeTheyArrive) {
  // By Content-Length: as soon as the headers end.
  HttpRequestParser by_length(small_limits());
  by_length.feed("PUT /k HTTP/1.1\r\nContent-Length: 1000000000\r\n\r\n");
  EXPECT_FALSE(by_length.next().has_value());
  ASSERT_TRUE(by_length.failed());
  EXPECT_EQ(by_length.error().status, 413);

  // Chunked: at the chunk header that would cross the limit, before its data.
  HttpRequestParser chunked(small_limits());
  chunked.feed("PUT /k HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3ff\r\n" + std::string(1023, 'a') + "\r\n");
  EXPECT_FALSE(chunked.next().has_value());
  EXPECT_FALSE(chunked.failed());  // 1023 bytes: within the limit
  chunked.feed("2\r\n");
  EXPECT_FALSE(chunked.next().has_value());
  ASSERT_TRUE(chunked.failed());
  EXPECT_EQ(chunked.error().status, 413);

  // Exactly the limit is fine.
  HttpRequestParser at_limit(small_limits());
  at_limit.feed("PUT /k HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n400\r\n" + std::string(1024, 'a') + "\r\n0\r\n\r\n");
  std::optional<HttpRequest> request = at_limit.next();
  ASSERT_TRUE(request.has_value()) << at_limit.error().message;
  EXPECT_EQ(request->body.size(), 1024u);
}

// --- Server --------------------------------------------------------------------------------------

std::unique_ptr<EpollRuntime> make_runtime() {
  EpollRuntime::Options options;
  options.node_id = 1;
  options.handle_signals = false;
  options.log_level = LogLevel::kError;
  return EpollRuntime::create(options).value();
}

// A response as a plain client reads it.
struct ClientResponse {
  int status = 0;  // 0: no complete response arrived
  std::string head;
  std::string body;

  // The first value of a header field, "" if absent (names compared ignoring case).
  std::string header(std::string_view name) const {
    std::size_t line = head.find("\r\n");
    while (line != std::string::npos && line + 2 < head.size()) {
      const std::size_t end = head.find("\r\n", line + 2);
      const std::string_view field = std::string_view(head).substr(line + 2, end - line - 2);
      const std::size_t colon = field.find(':');
      if (colon != std::string_view::npos && equals_ignoring_case(field.substr(0, colon), name)) {
        std::string_view value = field.substr(colon + 1);
        while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
        return std::string(value);
      }
      line = end;
    }
    return "";
  }
};

// A blocking loopback client for the test thread; reads time out after a few seconds.
class Client {
 public:
  explicit Client(uint16_t port, int timeout_seconds = 5) : fd_(connect_loopback(port, timeout_seconds)) {}
  ~Client() {
    if (fd_ >= 0) ::close(fd_);
  }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  bool connected() const { return fd_ >= 0; }

  bool send(std::string_view bytes) {
    while (!bytes.empty()) {
      const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }

  // Reads one response (without a body for a HEAD request, a 1xx, 204 or 304).
  ClientResponse receive(bool head_request = false) {
    ClientResponse response;
    std::size_t head_end;
    while ((head_end = pending_.find("\r\n\r\n")) == std::string::npos) {
      if (!fill()) return response;
    }
    response.head = pending_.substr(0, head_end + 2);
    pending_.erase(0, head_end + 4);
    if (response.head.rfind("HTTP/1.1 ", 0) != 0 || response.head.size() < 12) return response;
    const int status = std::stoi(response.head.substr(9, 3));
    const std::string length = response.header("content-length");
    const bool bodyless = head_request || status < 200 || status == 204 || status == 304;
    const std::size_t body_bytes = bodyless || length.empty() ? 0 : std::stoul(length);
    while (pending_.size() < body_bytes) {
      if (!fill()) return response;
    }
    response.body = pending_.substr(0, body_bytes);
    pending_.erase(0, body_bytes);
    response.status = status;
    return response;
  }

  // True if bytes (or an EOF) are waiting to be read.
  bool has_data() {
    char byte;
    return !pending_.empty() || ::recv(fd_, &byte, 1, MSG_PEEK | MSG_DONTWAIT) >= 0;
  }

  // True if the server closes the connection (EOF or reset) before the read timeout, with no
  // further bytes.
  bool closed_by_server() {
    if (!pending_.empty()) return false;
    char buffer[4096];
    const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
    return n == 0 || (n < 0 && errno == ECONNRESET);
  }

 private:
  bool fill() {
    char buffer[16384];
    const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
    if (n <= 0) return false;
    pending_.append(buffer, static_cast<std::size_t>(n));
    return true;
  }

  int fd_;
  std::string pending_;
};

using TestHandler = std::function<HttpResponse(Runtime& runtime, const HttpRequest& request)>;

// Runs an HttpServer on a fresh EpollRuntime while `client` runs on a thread against its port;
// returns the server's stats once the client is done.
HttpServerStats run_server(const HttpServer::Options& options, const TestHandler& handler,
                           const std::function<void(uint16_t port)>& client) {
  auto runtime = make_runtime();
  HttpServerStats stats;
  runtime->run([&] {
    HttpServer server(runtime->loop(), *runtime, options,
                      [&](const HttpRequest& request) { return handler(*runtime, request); });
    Result<uint16_t> port = server.listen("127.0.0.1:0");
    EXPECT_TRUE(port.ok()) << port.status();
    if (!port.ok()) return 1;
    std::atomic<bool> done{false};
    std::thread thread([&] {
      client(*port);
      done = true;
    });
    const MonotonicTime deadline = runtime->now() + seconds(60);
    while (!done && runtime->now() < deadline) runtime->sleep(milliseconds(2));
    EXPECT_TRUE(done.load()) << "the client did not finish";
    thread.join();
    stats = server.stats();
    return 0;
  });
  return stats;
}

// Answers "<METHOD> <path> <body>" as text, and the decoded query parameters as headers.
HttpResponse echo(Runtime&, const HttpRequest& request) {
  HttpResponse response;
  response.content_type = "text/plain";
  response.body = request.method + " " + request.path + " " + request.body;
  for (const auto& [key, value] : request.query) response.headers.emplace_back("X-Query-" + key, value);
  return response;
}

std::string get(std::string_view target, std::string_view extra_headers = "") {
  return "GET " + std::string(target) + " HTTP/1.1\r\nHost: cairn\r\n" + std::string(extra_headers) + "\r\n";
}

TEST(HttpServer, AnswersAGet) {
  ClientResponse response;
  const HttpServerStats stats = run_server(HttpServer::Options{}, echo, [&](uint16_t port) {
    Client client(port);
    ASSERT_TRUE(client.connected());
    ASSERT_TRUE(client.send(get("/v1/kv/a%20b?x=1&y=two+words")));
    response = client.receive();
  });
  EXPECT_EQ(response.status, 200) << response.head;
  EXPECT_EQ(response.body, "GET /v1/kv/a b ");
  EXPECT_EQ(response.header("content-type"), "text/plain");
  EXPECT_EQ(response.header("connection"), "keep-alive");
  EXPECT_EQ(response.header("x-query-x"), "1");
  EXPECT_EQ(response.header("x-query-y"), "two words");
  EXPECT_EQ(stats.requests, 1u);
  EXPECT_EQ(stats.responses_2xx, 1u);
  EXPECT_EQ(stats.connections.accepted, 1u);
}

TEST(HttpServer, KeepAliveServesSeveralRequestsOnOneConnection) {
  std::vector<ClientResponse> responses;
  bool still_open = false;
  const HttpServerStats stats = run_server(HttpServer::Options{}, echo, [&](uint16_t port) {
    Client client(port);
    ASSERT_TRUE(client.send(get("/first")));
    responses.push_back(client.receive());
    ASSERT_TRUE(client.send("PUT /second HTTP/1.1\r\nContent-Length: 4\r\n\r\nbody"));
    responses.push_back(client.receive());
    // Two pipelined in one write, answered in order.
    ASSERT_TRUE(client.send(get("/third") + get("/fourth")));
    responses.push_back(client.receive());
    responses.push_back(client.receive());
    // HEAD: the headers of the answer, without its body.
    ASSERT_TRUE(client.send("HEAD /fifth HTTP/1.1\r\n\r\n"));
    responses.push_back(client.receive(/*head_request=*/true));
    ASSERT_TRUE(client.send(get("/sixth")));
    responses.push_back(client.receive());
    still_open = true;
  });
  ASSERT_TRUE(still_open);
  ASSERT_EQ(responses.size(), 6u);
  EXPECT_EQ(responses[0].body, "GET /first ");
  EXPECT_EQ(responses[1].body, "PUT /second body");
  EXPECT_EQ(responses[2].body, "GET /third ");
  EXPECT_EQ(responses[3].body, "GET /fourth ");
  EXPECT_EQ(responses[4].status, 200);
  EXPECT_EQ(responses[4].header("content-length"), "12");  // "HEAD /fifth "
  EXPECT_EQ(responses[5].body, "GET /sixth ");
  EXPECT_EQ(stats.connections.accepted, 1u);
  EXPECT_EQ(stats.requests, 6u);
  EXPECT_EQ(stats.responses_2xx, 6u);
}

TEST(HttpServer, ConnectionCloseAndHttp10EndTheConnectionAfterTheResponse) {
  ClientResponse closed_response;
  bool closed_after_close = false;
  bool closed_after_http10 = false;
  ClientResponse kept_1;
  ClientResponse kept_2;
  run_server(HttpServer::Options{}, echo, [&](uint16_t port) {
    Client close_client(port);
    ASSERT_TRUE(close_client.send(get("/bye", "Connection: close\r\n")));
    closed_response = close_client.receive();
    closed_after_close = close_client.closed_by_server();

    Client http10(port);
    ASSERT_TRUE(http10.send("GET /old HTTP/1.0\r\n\r\n"));
    EXPECT_EQ(http10.receive().status, 200);
    closed_after_http10 = http10.closed_by_server();

    Client http10_keep_alive(port);
    ASSERT_TRUE(http10_keep_alive.send("GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
    kept_1 = http10_keep_alive.receive();
    ASSERT_TRUE(http10_keep_alive.send("GET /b HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
    kept_2 = http10_keep_alive.receive();
  });
  EXPECT_EQ(closed_response.status, 200);
  EXPECT_EQ(closed_response.header("connection"), "close");
  EXPECT_TRUE(closed_after_close);
  EXPECT_TRUE(closed_after_http10);
  EXPECT_EQ(kept_1.body, "GET /a ");
  EXPECT_EQ(kept_2.body, "GET /b ");
}

TEST(HttpServer, GarbageGets400AndACloseWhileOthersAreStillServed) {
  ClientResponse refused;
  bool closed = false;
  ClientResponse served;
  int handled = 0;
  const HttpServerStats stats = run_server(
      HttpServer::Options{},
      [&](Runtime& runtime, const HttpRequest& request) {
        ++handled;
        return echo(runtime, request);
      },
      [&](uint16_t port) {
        Client healthy(port);  // connected before, served after
        Client garbage(port);
        // The start of a TLS ClientHello, NUL bytes included.
        const char hello[] = "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 not http\r\n\r\n";
        ASSERT_TRUE(garbage.send(std::string_view(hello, sizeof hello - 1)));
        refused = garbage.receive();
        closed = garbage.closed_by_server();
        ASSERT_TRUE(healthy.send(get("/still-here")));
        served = healthy.receive();
      });
  EXPECT_EQ(refused.status, 400) << refused.head;
  EXPECT_EQ(refused.header("connection"), "close");
  EXPECT_EQ(refused.header("content-type"), "application/json");
  EXPECT_EQ(refused.body.rfind("{\"error\":\"bad_request\",\"message\":\"", 0), 0u) << refused.body;
  EXPECT_TRUE(closed);
  EXPECT_EQ(served.status, 200);
  EXPECT_EQ(served.body, "GET /still-here ");
  EXPECT_EQ(handled, 1);
  EXPECT_EQ(stats.bad_requests, 1u);
  EXPECT_EQ(stats.responses_4xx, 1u);
}

TEST(HttpServer, OversizedBodyGets413) {
  HttpServer::Options options;
  options.limits.max_body_bytes = 1024;
  ClientResponse announced;
  bool announced_closed = false;
  ClientResponse sent_anyway;
  bool sent_anyway_closed = false;
  ClientResponse chunked;
  int handled = 0;
  const HttpServerStats stats = run_server(
      options,
      [&](Runtime& runtime, const HttpRequest& request) {
        ++handled;
        return echo(runtime, request);
      },
      [&](uint16_t port) {
        // Refused on the headers alone: the client need not send the body.
        Client announcing(port);
        ASSERT_TRUE(announcing.send("PUT /k HTTP/1.1\r\nContent-Length: 1025\r\n\r\n"));
        announced = announcing.receive();
        announced_closed = announcing.closed_by_server();
        // A client that sends its oversized body anyway, more than socket buffers hold, still
        // completes its send and reads the answer: no reset.
        Client eager(port);
        const std::size_t body_bytes = 16 << 20;
        ASSERT_TRUE(eager.send("PUT /k HTTP/1.1\r\nContent-Length: " + std::to_string(body_bytes) + "\r\n\r\n" +
                               std::string(body_bytes, 'x')));
        sent_anyway = eager.receive();
        sent_anyway_closed = eager.closed_by_server();
        // A chunked body that grows too large.
        Client chunking(port);
        ASSERT_TRUE(chunking.send("PUT /k HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n400\r\n" + std::string(1024, 'x') +
                                  "\r\n1\r\ny\r\n"));
        chunked = chunking.receive();
      });
  for (const ClientResponse* response : {&announced, &sent_anyway, &chunked}) {
    EXPECT_EQ(response->status, 413) << response->head;
    EXPECT_EQ(response->body.rfind("{\"error\":\"body_too_large\"", 0), 0u) << response->body;
  }
  EXPECT_TRUE(announced_closed);
  EXPECT_TRUE(sent_anyway_closed);
  EXPECT_EQ(handled, 0);
  EXPECT_EQ(stats.bad_requests, 3u);
}

TEST(HttpServer, ConnectionsBeyondTheLimitAreClosedOnArrival) {
  HttpServer::Options options;
  options.max_connections = 2;
  bool third_closed = false;
  int served = 0;
  bool fourth_served = false;
  const HttpServerStats stats = run_server(options, echo, [&](uint16_t port) {
    {
      Client first(port);
      Client second(port);
      std::this_thread::sleep_for(std::chrono::milliseconds(100));  // both accepted by now
      Client third(port, /*timeout_seconds=*/2);
      third_closed = third.closed_by_server();
      for (Client* client : {&first, &second}) {
        ASSERT_TRUE(client->send(get("/")));
        if (client->receive().status == 200) ++served;
      }
    }
    // Slots free again once those close.
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    Client fourth(port);
    ASSERT_TRUE(fourth.send(get("/")));
    fourth_served = fourth.receive().status == 200;
  });
  EXPECT_TRUE(third_closed);
  EXPECT_EQ(served, 2);
  EXPECT_TRUE(fourth_served);
  EXPECT_EQ(stats.connections.refused, 1u);
  EXPECT_EQ(stats.connections.accepted, 4u);
}

TEST(HttpServer, AThrowingHandlerGets500AndTheServerCarriesOn) {
  ClientResponse thrown;
  ClientResponse invalid;
  ClientResponse after;
  const HttpServerStats stats = run_server(
      HttpServer::Options{},
      [](Runtime& runtime, const HttpRequest& request) -> HttpResponse {
        if (request.path == "/throw") throw std::runtime_error("the disk is on fire");
        if (request.path == "/throw-int") throw 42;
        if (request.path == "/invalid") {
          HttpResponse response;
          response.headers = {{"X-Split", "a\r\n\r\nHTTP/1.1 200 OK"}};
          return response;
        }
        return echo(runtime, request);
      },
      [&](uint16_t port) {
        Client client(port);
        ASSERT_TRUE(client.send(get("/throw")));
        thrown = client.receive();
        ASSERT_TRUE(client.send(get("/throw-int")));
        EXPECT_EQ(client.receive().status, 500);
        ASSERT_TRUE(client.send(get("/invalid")));
        invalid = client.receive();
        ASSERT_TRUE(client.send(get("/fine")));
        after = client.receive();
      });
  EXPECT_EQ(thrown.status, 500);
  EXPECT_EQ(thrown.body, "{\"error\":\"internal\",\"message\":\"the server failed to handle the request\"}");
  EXPECT_EQ(thrown.body.find("fire"), std::string::npos);  // details go to the log, not the client
  EXPECT_EQ(invalid.status, 500);
  EXPECT_EQ(invalid.head.find("X-Split"), std::string::npos);
  EXPECT_EQ(after.status, 200);
  EXPECT_EQ(after.body, "GET /fine ");
  EXPECT_EQ(stats.handler_failures, 3u);
  EXPECT_EQ(stats.responses_5xx, 3u);
}

TEST(HttpServer, AHandlerBlockingOnFibersDoesNotHoldUpOtherConnections) {
  std::atomic<double> slow_done{0};
  std::atomic<double> fast_done{0};
  const auto start = Clock::now();
  const auto elapsed = [&] { return std::chrono::duration<double>(Clock::now() - start).count(); };
  run_server(
      HttpServer::Options{},
      [](Runtime& runtime, const HttpRequest& request) {
        if (request.path == "/slow") runtime.sleep(milliseconds(500));
        return echo(runtime, request);
      },
      [&](uint16_t port) {
        std::thread slow([&] {
          Client client(port);
          ASSERT_TRUE(client.send(get("/slow")));
          if (client.receive().status == 200) slow_done = elapsed();
        });
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        Client client(port);
        ASSERT_TRUE(client.send(get("/fast")));
        if (client.receive().status == 200) fast_done = elapsed();
        slow.join();
      });
  EXPECT_GT(slow_done.load(), 0.5);
  EXPECT_GT(fast_done.load(), 0.0);
  EXPECT_LT(fast_done.load(), 0.4);
}

TEST(HttpServer, IdleConnectionsCloseAndStalledRequestsGet408) {
  HttpServer::Options options;
  options.idle_timeout = milliseconds(200);
  options.request_timeout = milliseconds(300);
  std::atomic<double> idle_closed_after{-1};
  ClientResponse stalled;
  std::atomic<double> stalled_after{-1};
  bool trickle_cut = false;
  const HttpServerStats stats = run_server(options, echo, [&](uint16_t port) {
    const auto start = Clock::now();
    const auto since = [](Clock::time_point from) { return std::chrono::duration<double>(Clock::now() - from).count(); };
    Client idle(port);
    Client half(port);
    ASSERT_TRUE(half.send("GET /never-finished HTTP/1.1\r\nHost: x\r\n"));
    if (idle.closed_by_server()) idle_closed_after = since(start);
    stalled = half.receive();
    stalled_after = since(start);
    // A byte every 100 ms keeps no connection alive past the request timeout.
    Client trickle(port);
    const auto trickle_start = Clock::now();
    for (char byte : std::string("GET /slowly HTTP/1.1\r\nHost: x\r\n")) {
      if (trickle.has_data() || !trickle.send(std::string_view(&byte, 1))) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      if (since(trickle_start) > 1.5) break;
    }
    trickle_cut = trickle.receive().status == 408 && since(trickle_start) < 1.0;
  });
  EXPECT_GE(idle_closed_after.load(), 0.15);
  EXPECT_LT(idle_closed_after.load(), 1.5);
  EXPECT_EQ(stalled.status, 408) << stalled.head;
  EXPECT_EQ(stalled.header("connection"), "close");
  EXPECT_GE(stalled_after.load(), 0.25);
  EXPECT_TRUE(trickle_cut);
  EXPECT_EQ(stats.timeouts, 3u);
}

TEST(HttpServer, ExpectContinueGetsA100BeforeTheBody) {
  ClientResponse interim;
  ClientResponse final_response;
  run_server(HttpServer::Options{}, echo, [&](uint16_t port) {
    Client client(port);
    ASSERT_TRUE(client.send("PUT /k HTTP/1.1\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"));
    interim = client.receive();
    ASSERT_TRUE(client.send("value"));
    final_response = client.receive();
  });
  EXPECT_EQ(interim.status, 100);
  EXPECT_EQ(final_response.status, 200);
  EXPECT_EQ(final_response.body, "PUT /k value");
}

TEST(HttpServer, DestroyingTheServerCancelsBlockedHandlers) {
  int live_handlers = 0;
  bool client_saw_close = false;
  auto runtime = make_runtime();
  runtime->run([&] {
    std::atomic<bool> done{false};
    std::thread thread;
    {
      HttpServer server(runtime->loop(), *runtime, HttpServer::Options{}, [&](const HttpRequest&) {
        cairn::testing::Tracked tracked(&live_handlers);
        runtime->sleep(seconds(3600));
        return HttpResponse{};
      });
      const uint16_t port = server.listen("127.0.0.1:0").value();
      thread = std::thread([&, port] {
        Client client(port);
        EXPECT_TRUE(client.send(get("/forever")));
        client_saw_close = client.closed_by_server();
        done = true;
      });
      while (live_handlers == 0) runtime->sleep(milliseconds(2));
    }
    EXPECT_EQ(live_handlers, 0);
    while (!done) runtime->sleep(milliseconds(2));
    thread.join();
    return 0;
  });
  EXPECT_TRUE(client_saw_close);
}

}  // namespace
}  // namespace cairn::net::http
