// The incremental HTTP/1.x request parser over libhttp-parser, with Cairn's limits (see
// http_request_parser.h).
#include "net/http/http_request_parser.h"

#include <http_parser.h>

#include <utility>

#include "core/runtime/assert.h"

namespace cairn::net::http {
namespace {

// Bytes a header field costs beyond its name and value: ": " and CRLF.
constexpr std::size_t kHeaderFieldOverheadBytes = 4;

bool starts_with_ignoring_case(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() && equals_ignoring_case(text.substr(0, prefix.size()), prefix);
}

std::string_view trim_trailing_whitespace(std::string_view text) {
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

}  // namespace

struct HttpRequestParser::State {
  explicit State(HttpRequestLimits request_limits) : limits(request_limits) {
    http_parser_init(&parser, HTTP_REQUEST);
    parser.data = this;
    http_parser_settings_init(&settings);
    settings.on_message_begin = &State::on_message_begin;
    settings.on_url = &State::on_url;
    settings.on_header_field = &State::on_header_field;
    settings.on_header_value = &State::on_header_value;
    settings.on_headers_complete = &State::on_headers_complete;
    settings.on_body = &State::on_body;
    settings.on_chunk_header = &State::on_chunk_header;
    settings.on_message_complete = &State::on_message_complete;
  }

  // Records the first error; returning -1 from a callback then stops libhttp-parser.
  int fail(int status, std::string code, std::string message) {
    if (!error) error = HttpParseError{status, std::move(code), std::move(message)};
    return -1;
  }

  static State& of(http_parser* parser) { return *static_cast<State*>(parser->data); }

  static int on_message_begin(http_parser* parser) {
    State& state = of(parser);
    state.request = HttpRequest{};
    state.in_message = true;
    state.headers_complete = false;
    state.in_header_field = false;
    state.header_fields = 0;
    state.header_bytes = 0;
    state.continue_expected = false;
    return 0;
  }

  static int on_url(http_parser* parser, const char* at, std::size_t length) {
    State& state = of(parser);
    if (state.request.target.size() + length > state.limits.max_url_bytes) {
      return state.fail(414, "url_too_long",
                        "the request target is longer than " + std::to_string(state.limits.max_url_bytes) + " bytes");
    }
    state.request.target.append(at, length);
    return 0;
  }

  int add_header_bytes(std::size_t length) {
    header_bytes += length;
    if (header_bytes > limits.max_header_bytes) {
      return fail(431, "headers_too_large",
                  "the header fields are larger than " + std::to_string(limits.max_header_bytes) + " bytes");
    }
    return 0;
  }

  // Fields after the headers are trailers of a chunked body: counted against the limits, kept out
  // of the request.
  static int on_header_field(http_parser* parser, const char* at, std::size_t length) {
    State& state = of(parser);
    if (!state.in_header_field) {
      state.in_header_field = true;
      if (++state.header_fields > state.limits.max_headers) {
        return state.fail(431, "headers_too_large",
                          "more than " + std::to_string(state.limits.max_headers) + " header fields");
      }
      if (state.add_header_bytes(kHeaderFieldOverheadBytes) != 0) return -1;
      if (!state.headers_complete) state.request.headers.emplace_back();
    }
    if (state.add_header_bytes(length) != 0) return -1;
    if (!state.headers_complete) state.request.headers.back().first.append(at, length);
    return 0;
  }

  static int on_header_value(http_parser* parser, const char* at, std::size_t length) {
    State& state = of(parser);
    state.in_header_field = false;
    if (state.add_header_bytes(length) != 0) return -1;
    if (!state.headers_complete) {
      CAIRN_ASSERT(!state.request.headers.empty(), "a header value before any header name");
      state.request.headers.back().second.append(at, length);
    }
    return 0;
  }

  static int on_headers_complete(http_parser* parser) {
    State& state = of(parser);
    HttpRequest& request = state.request;
    state.headers_complete = true;
    state.in_header_field = false;
    for (auto& field : request.headers) field.second.resize(trim_trailing_whitespace(field.second).size());
    if (parser->http_major != 1) {
      return state.fail(505, "http_version_not_supported",
                        "HTTP/" + std::to_string(parser->http_major) + "." + std::to_string(parser->http_minor) +
                            " is not supported; speak HTTP/1.1");
    }
    request.version_minor = parser->http_minor;
    request.method = http_method_str(static_cast<http_method>(parser->method));
    if (int split = state.split_target(); split != 0) return split;
    if ((parser->flags & F_CONTENTLENGTH) != 0) {
      if (parser->content_length > state.limits.max_body_bytes) {
        return state.fail(413, "body_too_large",
                          "the body of " + std::to_string(parser->content_length) + " bytes is larger than the limit of " +
                              std::to_string(state.limits.max_body_bytes) + " bytes");
      }
      request.body.reserve(static_cast<std::size_t>(parser->content_length));
    }
    const bool has_body = (parser->flags & F_CHUNKED) != 0 ||
                          ((parser->flags & F_CONTENTLENGTH) != 0 && parser->content_length > 0);
    const std::optional<std::string_view> expect = request.header("expect");
    state.continue_expected = has_body && request.version_minor >= 1 && expect && equals_ignoring_case(*expect, "100-continue");
    return 0;
  }

  // Fills path and query from the target: origin form ("/a?b"), absolute form
  // ("http://host/a?b"), or "*" for OPTIONS.
  int split_target() {
    std::string_view target = request.target;
    if (target == "*" && request.method == "OPTIONS") {
      request.path = "*";
      return 0;
    }
    for (std::string_view scheme : {std::string_view("http://"), std::string_view("https://")}) {
      if (!starts_with_ignoring_case(target, scheme)) continue;
      target.remove_prefix(scheme.size());
      const std::size_t path_start = target.find_first_of("/?#");
      target = path_start == std::string_view::npos ? std::string_view() : target.substr(path_start);
      if (target.empty() || target.front() != '/') {
        absolute_form_path = "/" + std::string(target);
        target = absolute_form_path;
      }
      break;
    }
    if (target.empty() || target.front() != '/') {
      return fail(400, "bad_request", "the request target must be a path starting with '/'");
    }
    target = target.substr(0, target.find('#'));  // a fragment is not sent normally; ignore it
    const std::size_t question = target.find('?');
    Result<std::string> path = percent_decode(target.substr(0, question), /*plus_is_space=*/false);
    if (!path.ok()) return fail(400, "bad_request", "request path: " + path.status().message());
    request.path = std::move(*path);
    if (question != std::string_view::npos) {
      Result<std::map<std::string, std::string>> query = parse_query(target.substr(question + 1));
      if (!query.ok()) return fail(400, "bad_request", query.status().message());
      request.query = std::move(*query);
    }
    return 0;
  }

  static int on_body(http_parser* parser, const char* at, std::size_t length) {
    State& state = of(parser);
    if (state.request.body.size() + length > state.limits.max_body_bytes) {
      return state.fail(413, "body_too_large",
                        "the body is larger than the limit of " + std::to_string(state.limits.max_body_bytes) + " bytes");
    }
    state.request.body.append(at, length);
    return 0;
  }

  // libhttp-parser puts the size of the chunk about to come in content_length.
  static int on_chunk_header(http_parser* parser) {
    State& state = of(parser);
    if (parser->content_length > state.limits.max_body_bytes - state.request.body.size()) {
      return state.fail(413, "body_too_large",
                        "the chunked body grows beyond the limit of " + std::to_string(state.limits.max_body_bytes) +
                            " bytes");
    }
    return 0;
  }

  static int on_message_complete(http_parser* parser) {
    State& state = of(parser);
    // A request asking to switch protocols is answered in HTTP, and then the connection closes:
    // what follows it would be in the other protocol.
    state.request.keep_alive = http_should_keep_alive(parser) != 0 && parser->upgrade == 0;
    state.in_message = false;
    state.message_complete = true;
    state.continue_expected = false;
    http_parser_pause(parser, 1);  // one request at a time: next() returns it before parsing on
    return 0;
  }

  std::optional<HttpRequest> next() {
    if (error) return std::nullopt;
    while (consumed < buffer.size()) {
      if (ended) {
        fail(400, "bad_request", "bytes after the last request of the connection");
        return std::nullopt;
      }
      const std::size_t parsed =
          http_parser_execute(&parser, &settings, buffer.data() + consumed, buffer.size() - consumed);
      consumed += parsed;
      const http_errno code = HTTP_PARSER_ERRNO(&parser);
      if (message_complete) {
        message_complete = false;
        if (code == HPE_PAUSED) http_parser_pause(&parser, 0);
        HttpRequest complete = std::move(request);
        request = HttpRequest{};
        ended = !complete.keep_alive;
        compact();
        return complete;
      }
      if (code != HPE_OK) {
        if (code == HPE_HEADER_OVERFLOW) {
          fail(431, "headers_too_large", "the header section exceeds libhttp-parser's limit");
        } else {
          // A callback's own error is already recorded (fail() keeps the first).
          fail(400, "bad_request", std::string("malformed request: ") + http_errno_description(code));
        }
        return std::nullopt;
      }
      if (parsed == 0) {  // no progress and no reason given: never loop on it
        fail(400, "bad_request", "the request parser stopped");
        return std::nullopt;
      }
    }
    compact();
    return std::nullopt;
  }

  void compact() {
    if (consumed == buffer.size()) {
      buffer.clear();
    } else if (consumed > 0) {
      buffer.erase(0, consumed);
    }
    consumed = 0;
  }

  HttpRequestLimits limits;
  http_parser parser{};
  http_parser_settings settings{};
  std::string buffer;     // bytes fed
  std::size_t consumed = 0;  // of which parsed
  HttpRequest request;    // being assembled
  std::string absolute_form_path;
  bool in_message = false;
  bool headers_complete = false;
  bool in_header_field = false;
  bool message_complete = false;
  bool continue_expected = false;
  bool ended = false;  // a request said it was the last
  std::size_t header_fields = 0;
  std::size_t header_bytes = 0;
  std::optional<HttpParseError> error;
};

HttpRequestParser::HttpRequestParser(HttpRequestLimits limits) : state_(std::make_unique<State>(limits)) {
  CAIRN_ASSERT(limits.max_header_bytes > 0 && limits.max_headers > 0 && limits.max_url_bytes > 0,
               "HTTP request limits must be positive");
}

HttpRequestParser::~HttpRequestParser() = default;
HttpRequestParser::HttpRequestParser(HttpRequestParser&&) noexcept = default;
HttpRequestParser& HttpRequestParser::operator=(HttpRequestParser&&) noexcept = default;

void HttpRequestParser::feed(std::string_view bytes) {
  if (state_->error) return;
  state_->buffer.append(bytes);
}

std::optional<HttpRequest> HttpRequestParser::next() { return state_->next(); }

bool HttpRequestParser::failed() const { return state_->error.has_value(); }

const HttpParseError& HttpRequestParser::error() const {
  CAIRN_ASSERT(state_->error.has_value(), "error() of a parser that has not failed");
  return *state_->error;
}

bool HttpRequestParser::request_in_progress() const { return state_->in_message || buffered() > 0; }

bool HttpRequestParser::take_continue_expected() { return std::exchange(state_->continue_expected, false); }

std::size_t HttpRequestParser::buffered() const { return state_->buffer.size() - state_->consumed; }

}  // namespace cairn::net::http
