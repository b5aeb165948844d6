// HttpServer: an HTTP/1.1 server on the daemon's epoll loop, one fiber per connection. It owns
// the sockets, parsing, limits and timeouts; what a request means is the handler's business
// (routes such as /v1/kv are written on top of it).
//
//   HttpServer server(runtime.loop(), runtime, HttpServer::Options{}, [&](const HttpRequest& request) {
//     if (request.method == "GET" && request.path == "/health") {
//       HttpResponse response;  // 200, application/json
//       response.body = R"({"status":"ok"})";
//       return response;
//     }
//     return json_error(404, "not_found", "no route for " + request.path);
//   });
//   Result<uint16_t> port = server.listen("127.0.0.1:0");
//
// Handler. Called on the connection's fiber, one request at a time per connection (pipelined
// requests are answered in order); it may block on fibers (waiting for Raft, say) and other
// connections are served meanwhile. A handler that throws a std::exception (or anything else
// but fiber cancellation) gets the client a 500 JSON error and the server carries on; so does a
// response that validate_response() refuses. A response to HEAD is sent without its body.
//
// Connections. Keep-alive is the default for HTTP/1.1; "Connection: close", HTTP/1.0 without
// "Connection: keep-alive", or a request asking to upgrade the protocol end the connection after
// the response. Bad input (see http_request_parser.h for each status) is answered with its JSON
// error and the connection closed. "Expect: 100-continue" is honoured. Whenever the server
// closes a connection after answering, it first shuts its sending side and drains what the
// client still sends for up to linger_timeout, so that the answer is not lost to a reset.
//
// Limits. At most max_connections are served at once; more are closed on arrival. Per
// connection: the request limits of HttpRequestLimits, one read buffer of read_chunk_bytes, and
// at most one request and one response in memory at a time. Timeouts: idle_timeout with no
// request in progress (the connection is closed silently), request_timeout from the first byte
// of a request to its last (answered 408, then closed), write_timeout for writing one response
// to a client that does not read (closed).
//
// Lifetime. Destroying the server cancels every connection fiber (handlers included) and closes
// every socket. It must be destroyed on the loop's thread, before the runtime.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

#include "core/runtime/fiber_scope.h"
#include "core/runtime/runtime.h"
#include "core/runtime/status.h"
#include "net/connection_acceptor.h"
#include "net/epoll_loop.h"
#include "net/http/http_message.h"
#include "net/http/http_request_parser.h"
#include "net/socket.h"

namespace cairn::net::http {

struct HttpServerStats {
  AcceptCounters connections;         // accepted, refused on arrival (max_connections), open
  uint64_t requests = 0;              // complete requests handed to the handler
  uint64_t bad_requests = 0;          // connections closed for input the parser refused
  uint64_t timeouts = 0;              // connections closed by the idle, request or write timeout
  uint64_t handler_failures = 0;      // the handler threw or returned an invalid response: 500
  // Responses written, by status class (parser errors and 408s included; 100 Continue not).
  uint64_t responses_2xx = 0;
  uint64_t responses_3xx = 0;
  uint64_t responses_4xx = 0;
  uint64_t responses_5xx = 0;
};

class HttpServer {
 public:
  using Handler = std::function<HttpResponse(const HttpRequest& request)>;

  struct Options {
    HttpRequestLimits limits;
    std::size_t max_connections = 1024;
    Duration idle_timeout = seconds(60);     // waiting for a request (the first or the next)
    Duration request_timeout = seconds(30);  // from a request's first byte to its last
    Duration write_timeout = seconds(30);    // writing one response
    Duration linger_timeout = seconds(1);    // draining the client's bytes before closing
    std::size_t read_chunk_bytes = 16 << 10;
  };

  HttpServer(EpollLoop& loop, Runtime& runtime, Options options, Handler handler);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Accepts connections on `address` ("127.0.0.1:0" picks a free port); returns the port. May be
  // called again for more addresses; max_connections counts them all together.
  Result<uint16_t> listen(const std::string& address);

  const HttpServerStats& stats() const { return stats_; }

 private:
  void serve_connection(Socket& socket);
  HttpResponse call_handler(const HttpRequest& request);
  Status send_response(Socket& socket, const HttpResponse& response, bool keep_alive, bool head_only);
  Status write_with_timeout(Socket& socket, std::string_view bytes);
  void linger_and_close(Socket& socket);
  void count_response(int status);

  EpollLoop* loop_;
  Runtime* runtime_;
  Options options_;
  Handler handler_;
  HttpServerStats stats_;
  FiberScope fibers_;  // last member: its fibers use everything above
};

}  // namespace cairn::net::http
