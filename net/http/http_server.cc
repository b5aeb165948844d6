// The HTTP/1.1 server: one fiber per connection (connection_acceptor.h accepts them), timeouts
// and limits (see http_server.h).
#include "net/http/http_server.h"

#include <sys/socket.h>

#include <exception>
#include <memory>
#include <optional>
#include <utility>

#include "core/runtime/assert.h"
#include "core/runtime/timeout.h"

namespace cairn::net::http {
namespace {

constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
// A connection that keeps the loop busy (pipelined requests, a long body) yields this often.
constexpr std::size_t kYieldEveryBytes = 256 * 1024;

}  // namespace

HttpServer::HttpServer(EpollLoop& loop, Runtime& runtime, Options options, Handler handler)
    : loop_(&loop), runtime_(&runtime), options_(std::move(options)), handler_(std::move(handler)),
      fibers_(runtime.process()) {
  CAIRN_ASSERT(handler_ != nullptr, "an HttpServer needs a handler");
  CAIRN_ASSERT(options_.max_connections > 0 && options_.read_chunk_bytes > 0, "HTTP server limits must be positive");
  CAIRN_ASSERT(options_.idle_timeout > Duration::zero() && options_.request_timeout > Duration::zero() &&
                   options_.write_timeout > Duration::zero(),
               "HTTP server timeouts must be positive");
}

HttpServer::~HttpServer() { fibers_.cancel(); }

Result<uint16_t> HttpServer::listen(const std::string& address) {
  CAIRN_ASSIGN_OR_RETURN(uint16_t port,
                         listen_and_accept(*loop_, *runtime_, fibers_, address,
                                           AcceptOptions{.component = "http", .max_open = options_.max_connections},
                                           stats_.connections, [this](Socket& socket) { serve_connection(socket); }));
  runtime_->logger().log(LogLevel::kInfo, "http", "listening", {{"address", address}, {"port", port}});
  return port;
}

void HttpServer::serve_connection(Socket& socket) {
  HttpRequestParser parser(options_.limits);
  std::string chunk(options_.read_chunk_bytes, '\0');
  // When the first bytes of the request in progress arrived (a plain pair rather than an optional:
  // GCC 12 warns, wrongly, that an optional time point may be used uninitialized).
  bool request_started = false;
  MonotonicTime request_start{};
  std::size_t bytes_since_yield = 0;
  while (true) {
    // Answer every complete request already received, in order.
    while (std::optional<HttpRequest> request = parser.next()) {
      ++stats_.requests;
      const bool keep_alive = request->keep_alive;
      const HttpResponse response = call_handler(*request);
      if (!send_response(socket, response, keep_alive, request->method == "HEAD").ok()) return;
      if (!keep_alive) {
        linger_and_close(socket);
        return;
      }
      request_started = false;
      if (parser.buffered() > 0) Scheduler::current()->yield();  // pipelined: let others have a turn
    }
    if (parser.failed()) {
      ++stats_.bad_requests;
      const HttpParseError& error = parser.error();
      runtime_->logger().log(LogLevel::kInfo, "http", "closing connection after a bad request",
                             {{"status", error.status}, {"reason", error.message}});
      if (send_response(socket, error.to_response(), /*keep_alive=*/false, /*head_only=*/false).ok()) {
        linger_and_close(socket);
      }
      return;
    }
    if (parser.take_continue_expected() && !write_with_timeout(socket, kContinue).ok()) return;

    // Wait for more bytes: the idle timeout between requests, what is left of the request timeout
    // within one.
    const bool in_progress = parser.request_in_progress();
    Duration wait = options_.idle_timeout;
    if (in_progress) {
      if (!request_started) {
        request_started = true;
        request_start = runtime_->now();
      }
      wait = request_start + options_.request_timeout - runtime_->now();
    } else {
      request_started = false;
    }
    Result<std::size_t> received =
        wait > Duration::zero()
            ? with_timeout(*runtime_, wait, [&] { return socket.read_some(chunk.data(), chunk.size()); })
            : Result<std::size_t>(Status::timeout("no time left for the request"));
    if (!received.ok()) {
      if (received.status().code() != StatusCode::kTimeout) return;  // reset by the peer, say
      ++stats_.timeouts;
      if (in_progress) {
        const HttpResponse timed_out = json_error(408, "request_timeout",
                                                  "the request did not arrive within " +
                                                      format_duration(options_.request_timeout));
        if (send_response(socket, timed_out, /*keep_alive=*/false, /*head_only=*/false).ok()) linger_and_close(socket);
      }
      return;
    }
    if (*received == 0) return;  // the client closed
    parser.feed(std::string_view(chunk.data(), *received));
    bytes_since_yield += *received;
    if (bytes_since_yield >= kYieldEveryBytes) {
      bytes_since_yield = 0;
      Scheduler::current()->yield();  // one fast client cannot starve the others
    }
  }
}

HttpResponse HttpServer::call_handler(const HttpRequest& request) {
  std::string failure;
  try {
    HttpResponse response = handler_(request);
    Status valid = validate_response(response);
    if (valid.ok()) return response;
    failure = "invalid response: " + valid.message();
  } catch (const FiberCancelled&) {
    throw;  // the server or the process is going away
  } catch (const TimeoutExpired&) {
    throw;  // an enclosing deadline, not the handler's business
  } catch (const std::exception& exception) {
    failure = std::string("exception: ") + exception.what();
  } catch (...) {
    failure = "an exception that is not a std::exception";
  }
  // Outside the catch blocks: nothing may block while an exception is being handled.
  ++stats_.handler_failures;
  runtime_->logger().log(LogLevel::kError, "http", "request handler failed",
                         {{"method", request.method}, {"path", request.path}, {"error", failure}});
  return json_error(500, "internal", "the server failed to handle the request");
}

Status HttpServer::send_response(Socket& socket, const HttpResponse& response, bool keep_alive, bool head_only) {
  std::string wire = serialize_response(response, keep_alive);
  // The body is the wire form's tail (none for 204 and 304); a HEAD answer keeps the headers,
  // Content-Length included.
  if (head_only && response.status != 204 && response.status != 304) {
    CAIRN_ASSERT(wire.size() >= response.body.size());
    wire.resize(wire.size() - response.body.size());
  }
  CAIRN_RETURN_IF_ERROR(write_with_timeout(socket, wire));
  count_response(response.status);
  return {};
}

Status HttpServer::write_with_timeout(Socket& socket, std::string_view bytes) {
  Status written = with_timeout(*runtime_, options_.write_timeout, [&] { return socket.write_all(bytes); });
  if (written.code() == StatusCode::kTimeout) ++stats_.timeouts;
  return written;
}

void HttpServer::linger_and_close(Socket& socket) {
  // Closing with unread bytes in the receive buffer sends a reset, which can destroy the answer
  // before the client reads it (a 413 while the body is still coming). Send FIN instead, and
  // read until the client closes too, or for linger_timeout at most.
  ::shutdown(socket.fd(), SHUT_WR);
  char discard[4096];
  Status drained = with_timeout(*runtime_, options_.linger_timeout, [&]() -> Status {
    std::size_t since_yield = 0;
    while (true) {
      CAIRN_ASSIGN_OR_RETURN(std::size_t received, socket.read_some(discard, sizeof discard));
      if (received == 0) return {};
      since_yield += received;
      if (since_yield >= kYieldEveryBytes) {
        since_yield = 0;
        Scheduler::current()->yield();
      }
    }
  });
  static_cast<void>(drained);  // whatever happened, the connection is done
  socket.close();
}

void HttpServer::count_response(int status) {
  switch (status / 100) {
    case 2: ++stats_.responses_2xx; break;
    case 3: ++stats_.responses_3xx; break;
    case 4: ++stats_.responses_4xx; break;
    case 5: ++stats_.responses_5xx; break;
    default: CAIRN_PANIC("responses are validated to 200..599, got " + std::to_string(status));
  }
}

}  // namespace cairn::net::http
