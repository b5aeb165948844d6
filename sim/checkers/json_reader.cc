// Recursive-descent JSON reader with a nesting bound (see json_reader.h).
#include "sim/checkers/json_reader.h"

#include <cstdint>

namespace cairn::sim::linearizability {
namespace {

class JsonParser {
 public:
  explicit JsonParser(std::string_view text) : text_(text) {}

  Result<JsonValue> parse_document() {
    CAIRN_ASSIGN_OR_RETURN(JsonValue value, parse_value(0));
    skip_whitespace();
    if (position_ != text_.size()) return error("unexpected text after the JSON value");
    return value;
  }

 private:
  Status error(std::string_view message) const {
    return Status::invalid_argument("column " + std::to_string(position_ + 1) + ": " + std::string(message));
  }

  void skip_whitespace() {
    while (position_ < text_.size() && (text_[position_] == ' ' || text_[position_] == '\t' ||
                                        text_[position_] == '\n' || text_[position_] == '\r')) {
      ++position_;
    }
  }

  bool consume(char expected) {
    skip_whitespace();
    if (position_ < text_.size() && text_[position_] == expected) {
      ++position_;
      return true;
    }
    return false;
  }

  bool consume_word(std::string_view word) {
    if (text_.substr(position_, word.size()) != word) return false;
    position_ += word.size();
    return true;
  }

  Result<JsonValue> parse_value(std::size_t depth) {
    if (depth >= kMaxJsonDepth) return error("JSON nested more than " + std::to_string(kMaxJsonDepth) + " levels");
    skip_whitespace();
    if (position_ >= text_.size()) return error("expected a JSON value, found the end of the line");
    const char c = text_[position_];
    if (c == '{') return parse_object(depth);
    if (c == '[') return parse_array(depth);
    if (c == '"') {
      CAIRN_ASSIGN_OR_RETURN(std::string text, parse_string());
      return JsonValue{.kind = JsonValue::Kind::kString, .text = std::move(text)};
    }
    if (c == '-' || (c >= '0' && c <= '9')) return parse_number();
    if (consume_word("null")) return JsonValue{};
    if (consume_word("true")) return JsonValue{.kind = JsonValue::Kind::kBoolean, .boolean = true};
    if (consume_word("false")) return JsonValue{.kind = JsonValue::Kind::kBoolean, .boolean = false};
    return error("expected a JSON value");
  }

  Result<JsonValue> parse_object(std::size_t depth) {
    JsonValue object{.kind = JsonValue::Kind::kObject};
    ++position_;  // '{'
    if (consume('}')) return object;
    do {
      skip_whitespace();
      if (position_ >= text_.size() || text_[position_] != '"') return error("expected a quoted member name");
      CAIRN_ASSIGN_OR_RETURN(std::string key, parse_string());
      if (!consume(':')) return error("expected ':' after a member name");
      CAIRN_ASSIGN_OR_RETURN(JsonValue value, parse_value(depth + 1));
      object.keys.push_back(std::move(key));
      object.items.push_back(std::move(value));
    } while (consume(','));
    if (!consume('}')) return error("expected ',' or '}' in an object");
    return object;
  }

  Result<JsonValue> parse_array(std::size_t depth) {
    JsonValue array{.kind = JsonValue::Kind::kArray};
    ++position_;  // '['
    if (consume(']')) return array;
    do {
      CAIRN_ASSIGN_OR_RETURN(JsonValue value, parse_value(depth + 1));
      array.items.push_back(std::move(value));
    } while (consume(','));
    if (!consume(']')) return error("expected ',' or ']' in an array");
    return array;
  }

  bool digit_here() const { return position_ < text_.size() && text_[position_] >= '0' && text_[position_] <= '9'; }

  void skip_digits() {
    while (digit_here()) ++position_;
  }

  Result<JsonValue> parse_number() {
    const std::size_t start = position_;
    if (text_[position_] == '-') ++position_;
    if (!digit_here()) return error("expected a digit");
    if (text_[position_] == '0') {
      ++position_;
    } else {
      skip_digits();
    }
    if (position_ < text_.size() && text_[position_] == '.') {
      ++position_;
      if (!digit_here()) return error("expected a digit after the decimal point");
      skip_digits();
    }
    if (position_ < text_.size() && (text_[position_] == 'e' || text_[position_] == 'E')) {
      ++position_;
      if (position_ < text_.size() && (text_[position_] == '+' || text_[position_] == '-')) ++position_;
      if (!digit_here()) return error("expected a digit in the exponent");
      skip_digits();
    }
    return JsonValue{.kind = JsonValue::Kind::kNumber, .text = std::string(text_.substr(start, position_ - start))};
  }

  Result<uint32_t> parse_hex4() {
    if (position_ + 4 > text_.size()) return error("a \\u escape needs four hex digits");
    uint32_t code = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = text_[position_++];
      code <<= 4;
      if (c >= '0' && c <= '9') {
        code |= static_cast<uint32_t>(c - '0');
      } else if (c >= 'a' && c <= 'f') {
        code |= static_cast<uint32_t>(c - 'a' + 10);
      } else if (c >= 'A' && c <= 'F') {
        code |= static_cast<uint32_t>(c - 'A' + 10);
      } else {
        return error("a \\u escape needs four hex digits");
      }
    }
    return code;
  }

  static void append_utf8(uint32_t code, std::string& out) {
    if (code < 0x80) {
      out += static_cast<char>(code);
    } else if (code < 0x800) {
      out += static_cast<char>(0xc0 | (code >> 6));
      out += static_cast<char>(0x80 | (code & 0x3f));
    } else if (code < 0x10000) {
      out += static_cast<char>(0xe0 | (code >> 12));
      out += static_cast<char>(0x80 | ((code >> 6) & 0x3f));
      out += static_cast<char>(0x80 | (code & 0x3f));
    } else {
      out += static_cast<char>(0xf0 | (code >> 18));
      out += static_cast<char>(0x80 | ((code >> 12) & 0x3f));
      out += static_cast<char>(0x80 | ((code >> 6) & 0x3f));
      out += static_cast<char>(0x80 | (code & 0x3f));
    }
  }

  // A \u escape, joining a surrogate pair into one code point.
  Status parse_unicode_escape(std::string& out) {
    CAIRN_ASSIGN_OR_RETURN(uint32_t code, parse_hex4());
    if (code >= 0xd800 && code < 0xdc00 && text_.substr(position_, 2) == "\\u") {
      position_ += 2;
      CAIRN_ASSIGN_OR_RETURN(uint32_t low, parse_hex4());
      if (low < 0xdc00 || low >= 0xe000) return error("a high surrogate must be followed by a low one");
      code = 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00);
    }
    append_utf8(code, out);
    return Status{};
  }

  Result<std::string> parse_string() {
    ++position_;  // '"'
    std::string out;
    while (position_ < text_.size()) {
      const char c = text_[position_++];
      if (c == '"') return out;
      if (static_cast<unsigned char>(c) < 0x20) return error("a control character inside a string");
      if (c != '\\') {
        out += c;
        continue;
      }
      if (position_ >= text_.size()) break;
      const char escape = text_[position_++];
      switch (escape) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': CAIRN_RETURN_IF_ERROR(parse_unicode_escape(out)); break;
        default: return error(std::string("unknown escape \\") + escape);
      }
    }
    return error("unterminated string");
  }

  std::string_view text_;
  std::size_t position_ = 0;
};

}  // namespace

const JsonValue* JsonValue::find(std::string_view key) const {
  const JsonValue* found = nullptr;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    if (keys[i] == key) found = &items[i];
  }
  return found;
}

std::string_view json_kind_name(JsonValue::Kind kind) {
  switch (kind) {
    case JsonValue::Kind::kNull: return "null";
    case JsonValue::Kind::kBoolean: return "a boolean";
    case JsonValue::Kind::kNumber: return "a number";
    case JsonValue::Kind::kString: return "a string";
    case JsonValue::Kind::kArray: return "an array";
    case JsonValue::Kind::kObject: return "an object";
  }
  return "?";
}

Result<JsonValue> parse_json(std::string_view text) { return JsonParser(text).parse_document(); }

}  // namespace cairn::sim::linearizability
