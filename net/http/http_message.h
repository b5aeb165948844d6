// HTTP/1.1 requests and responses as the HTTP server hands them to a handler and takes them back:
// plain values, plus the text helpers around them (percent-decoding of paths and query strings,
// JSON string escaping, JSON error bodies, and the wire form of a response).
//
// Nothing here does I/O or blocks; see http_request_parser.h for bytes -> HttpRequest and
// http_server.h for the connections.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/runtime/status.h"

namespace cairn::net::http {

struct HttpRequest {
  std::string method;  // "GET", "PUT", ... as http_parser names it (upper case)
  // The request target exactly as sent ("/v1/kv/a%2Fb?x=1"), for routes that must split the
  // path before decoding it (a decoded "%2F" is indistinguishable from a '/').
  std::string target;
  std::string path;  // the target's path, percent-decoded; starts with '/' ("*" for OPTIONS *)
  // The query string's parameters, percent-decoded ('+' decodes to a space). A key given twice
  // keeps its first value; a key without '=' has an empty value.
  std::map<std::string, std::string> query;
  // Header fields in the order received, names as sent (compare them case-insensitively, or use
  // header()). Trailer fields of a chunked body are not included.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;  // de-chunked if it came chunked
  int version_minor = 1;  // HTTP/1.<version_minor>; other major versions are refused
  // Whether the client allows another request on this connection after the answer: HTTP/1.1
  // without "Connection: close", or HTTP/1.0 with "Connection: keep-alive".
  bool keep_alive = true;

  // The value of the first header field named `name` (ASCII case-insensitive), or nothing.
  std::optional<std::string_view> header(std::string_view name) const;
};

struct HttpResponse {
  int status = 200;  // 200..599 (informational 1xx answers are the server's business)
  std::string content_type = "application/json";  // empty: no Content-Type field
  // Extra header fields. Content-Length, Connection and Transfer-Encoding are set by the server
  // and must not appear here; names must be tokens and values free of CR, LF and NUL (see
  // validate_response()).
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;  // must be empty for 204 and 304
};

// ASCII case-insensitive equality, as header names compare.
bool equals_ignoring_case(std::string_view a, std::string_view b);

// Decodes %XX escapes (and '+' as a space when `plus_is_space`). A '%' not followed by two hex
// digits is INVALID_ARGUMENT. Decoded bytes may be anything, NUL included.
Result<std::string> percent_decode(std::string_view text, bool plus_is_space);

// Parses "a=1&b=x%20y" into decoded pairs (see HttpRequest::query). INVALID_ARGUMENT for a
// malformed escape.
Result<std::map<std::string, std::string>> parse_query(std::string_view query);

// Appends `text` to `out` as a JSON string literal, quotes included. Quotes, backslashes and
// control characters are escaped; bytes that are not valid UTF-8 become U+FFFD, so the result is
// always valid JSON whatever the input.
void append_json_string(std::string& out, std::string_view text);

// {"error":"<code>","message":"<message>"} with Content-Type application/json.
HttpResponse json_error(int status, std::string_view code, std::string_view message);

// The standard reason phrase of a status code ("Not Found"), or "Unknown".
std::string_view reason_phrase(int status);

// OK if `response` can be sent as it is: status in 200..599, header names that are tokens and not
// among those the server sets, values and content type without CR, LF or NUL, no body on 204 or
// 304. INVALID_ARGUMENT saying what is wrong otherwise.
Status validate_response(const HttpResponse& response);

// The response's wire form: status line, Content-Type, Content-Length (omitted for 204 and 304),
// "Connection: keep-alive" or "Connection: close", the extra headers, a blank line, the body.
// Header fields that validate_response() would refuse are left out rather than sent, so the
// output can never be split into two responses; call validate_response() first to learn of them.
std::string serialize_response(const HttpResponse& response, bool keep_alive);

}  // namespace cairn::net::http
