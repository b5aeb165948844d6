// HttpRequestParser: bytes of one HTTP/1.x connection in, complete HttpRequests out. It wraps
// Debian's libhttp-parser (callbacks) and adds the limits a server facing untrusted clients
// needs.
//
// Usage, the way the server reads a connection:
//
//   HttpRequestParser parser(limits);
//   while (true) {
//     while (std::optional<HttpRequest> request = parser.next()) answer(*request);
//     if (parser.failed()) { answer(parser.error().to_response()); close(); break; }
//     parser.feed(read_some_bytes());
//   }
//
// Chunks may be split anywhere (even inside "\r\n"). Several requests in one chunk (pipelining)
// come out one per next() call, in order. The parser pauses after each complete request, so the
// bytes it holds are only those fed and not yet parsed; a caller that feeds only after next()
// returned nothing holds at most one chunk, plus the request being assembled (bounded by the
// limits below).
//
// Errors are final: once failed(), next() returns nothing and feed() is ignored; the connection
// should get error().to_response() and be closed, since the byte stream can no longer be trusted.
//   400 bad_request                 bytes that are not HTTP/1.x, a request target that is not a
//                                   path, a malformed percent escape, Content-Length together
//                                   with Transfer-Encoding, bytes after a last request
//   413 body_too_large              Content-Length over max_body_bytes (refused as soon as the
//                                   headers end, before the body arrives), or a chunked body
//                                   growing past it (refused at the chunk that would cross it)
//   414 url_too_long                a request target over max_url_bytes
//   431 headers_too_large           more than max_headers fields, or more than max_header_bytes
//                                   of them (libhttp-parser's own 80 KiB bound too)
//   505 http_version_not_supported  HTTP/2.0 and other major versions
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "net/http/http_message.h"

namespace cairn::net::http {

struct HttpRequestLimits {
  std::size_t max_body_bytes = 1 << 20;     // after de-chunking
  std::size_t max_header_bytes = 16 << 10;  // names and values, plus 4 bytes per field (": ", CRLF)
  std::size_t max_headers = 100;            // fields, trailers of a chunked body included
  std::size_t max_url_bytes = 8 << 10;      // the request target as sent
};

// Why a connection's input was refused, and the answer to give before closing it.
struct HttpParseError {
  int status = 400;
  std::string code;     // machine-readable: "bad_request", "body_too_large", ...
  std::string message;  // for people

  HttpResponse to_response() const { return json_error(status, code, message); }
};

class HttpRequestParser {
 public:
  explicit HttpRequestParser(HttpRequestLimits limits);
  ~HttpRequestParser();
  HttpRequestParser(HttpRequestParser&&) noexcept;
  HttpRequestParser& operator=(HttpRequestParser&&) noexcept;
  HttpRequestParser(const HttpRequestParser&) = delete;
  HttpRequestParser& operator=(const HttpRequestParser&) = delete;

  // Adds bytes read from the connection (ignored after failure).
  void feed(std::string_view bytes);
  // The next complete request, or nothing: either more bytes are needed or parsing failed
  // (failed() tells which). After a request whose keep_alive is false, the parser takes no
  // more requests: bytes that follow it are an error.
  std::optional<HttpRequest> next();

  bool failed() const;
  // What went wrong; only when failed().
  const HttpParseError& error() const;

  // True while part of a request has arrived but not all of it (the server then applies its
  // read timeout instead of its idle timeout).
  bool request_in_progress() const;
  // True once for a request whose headers said "Expect: 100-continue" and whose body has not
  // arrived yet: the client waits for "HTTP/1.1 100 Continue" before sending it. Reset when the
  // request completes, so a request whose body came along never asks for it.
  bool take_continue_expected();
  // Bytes fed and not yet parsed.
  std::size_t buffered() const;

 private:
  struct State;
  std::unique_ptr<State> state_;  // at a stable address: libhttp-parser's callbacks point to it
};

}  // namespace cairn::net::http
