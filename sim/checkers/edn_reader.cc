// The EDN subset reader of history files (see edn_reader.h).
#include "sim/checkers/edn_reader.h"

namespace cairn::sim::linearizability {
namespace {

bool is_delimiter(char c) {
  switch (c) {
    case ' ': case '\t': case '\n': case '\r': case '\f': case ',':
    case '(': case ')': case '[': case ']': case '{': case '}': case '"': case ';':
      return true;
    default:
      return false;
  }
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

bool all_digits(std::string_view text) {
  if (text.empty()) return false;
  for (char c : text) {
    if (!is_digit(c)) return false;
  }
  return true;
}

// [+-]?digits N? -> canonical decimal, or nullopt when `token` is not an integer.
std::optional<std::string> canonical_integer(std::string_view token) {
  bool negative = false;
  if (!token.empty() && (token.front() == '+' || token.front() == '-')) {
    negative = token.front() == '-';
    token.remove_prefix(1);
  }
  if (!token.empty() && token.back() == 'N') token.remove_suffix(1);
  if (!all_digits(token)) return std::nullopt;
  while (token.size() > 1 && token.front() == '0') token.remove_prefix(1);
  if (token == "0") negative = false;
  return (negative ? "-" : "") + std::string(token);
}

// [+-]?digits(.digits*)?([eE][+-]?digits)?M?
bool is_float(std::string_view token) {
  if (!token.empty() && (token.front() == '+' || token.front() == '-')) token.remove_prefix(1);
  if (!token.empty() && token.back() == 'M') token.remove_suffix(1);
  std::size_t i = 0;
  while (i < token.size() && is_digit(token[i])) ++i;
  if (i == 0) return false;
  if (i < token.size() && token[i] == '.') {
    ++i;
    while (i < token.size() && is_digit(token[i])) ++i;
  }
  if (i < token.size() && (token[i] == 'e' || token[i] == 'E')) {
    ++i;
    if (i < token.size() && (token[i] == '+' || token[i] == '-')) ++i;
    if (!all_digits(token.substr(i))) return false;
    i = token.size();
  }
  return i == token.size();
}

std::string quote_string(const std::string& text) {
  std::string quoted = "\"";
  for (char c : text) {
    switch (c) {
      case '"': quoted += "\\\""; break;
      case '\\': quoted += "\\\\"; break;
      case '\n': quoted += "\\n"; break;
      case '\t': quoted += "\\t"; break;
      case '\r': quoted += "\\r"; break;
      default: quoted += c;
    }
  }
  return quoted + "\"";
}

std::string joined(const std::vector<EdnValue>& items, std::string_view open, std::string_view close) {
  std::string text(open);
  for (std::size_t i = 0; i < items.size(); ++i) text += (i == 0 ? "" : " ") + edn_text(items[i]);
  return text + std::string(close);
}

}  // namespace

const EdnValue* EdnValue::find_keyword(std::string_view name) const {
  if (kind != Kind::kMap) return nullptr;
  for (std::size_t i = 0; i + 1 < items.size(); i += 2) {
    if (items[i].is_keyword(name)) return &items[i + 1];
  }
  return nullptr;
}

std::string_view edn_kind_name(EdnValue::Kind kind) {
  switch (kind) {
    case EdnValue::Kind::kNil: return "nil";
    case EdnValue::Kind::kBoolean: return "a boolean";
    case EdnValue::Kind::kInteger: return "an integer";
    case EdnValue::Kind::kFloat: return "a float";
    case EdnValue::Kind::kString: return "a string";
    case EdnValue::Kind::kCharacter: return "a character";
    case EdnValue::Kind::kKeyword: return "a keyword";
    case EdnValue::Kind::kSymbol: return "a symbol";
    case EdnValue::Kind::kVector: return "a vector";
    case EdnValue::Kind::kList: return "a list";
    case EdnValue::Kind::kMap: return "a map";
    case EdnValue::Kind::kSet: return "a set";
    case EdnValue::Kind::kTagged: return "a tagged value";
  }
  return "?";
}

std::string edn_text(const EdnValue& value) {
  switch (value.kind) {
    case EdnValue::Kind::kNil: return "nil";
    case EdnValue::Kind::kBoolean:
    case EdnValue::Kind::kInteger:
    case EdnValue::Kind::kFloat:
    case EdnValue::Kind::kSymbol: return value.text;
    case EdnValue::Kind::kString: return quote_string(value.text);
    case EdnValue::Kind::kCharacter: return "\\" + value.text;
    case EdnValue::Kind::kKeyword: return ":" + value.text;
    case EdnValue::Kind::kVector: return joined(value.items, "[", "]");
    case EdnValue::Kind::kList: return joined(value.items, "(", ")");
    case EdnValue::Kind::kSet: return joined(value.items, "#{", "}");
    case EdnValue::Kind::kMap: {
      std::string text = "{";
      for (std::size_t i = 0; i + 1 < value.items.size(); i += 2) {
        text += (i == 0 ? "" : ", ") + edn_text(value.items[i]) + " " + edn_text(value.items[i + 1]);
      }
      return text + "}";
    }
    case EdnValue::Kind::kTagged:
      return "#" + value.text + " " + (value.items.empty() ? std::string("nil") : edn_text(value.items.front()));
  }
  return "?";
}

Status EdnReader::error(std::string_view message) const {
  return Status::invalid_argument("line " + std::to_string(line_) + ": " + std::string(message));
}

void EdnReader::skip_whitespace_and_comments() {
  while (position_ < text_.size()) {
    const char c = text_[position_];
    if (c == '\n') {
      ++line_;
      ++position_;
    } else if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == ',') {
      ++position_;
    } else if (c == ';') {
      while (position_ < text_.size() && text_[position_] != '\n') ++position_;
    } else {
      return;
    }
  }
}

Result<std::optional<EdnValue>> EdnReader::next() {
  while (true) {
    skip_whitespace_and_comments();
    if (position_ >= text_.size()) return std::optional<EdnValue>{};
    if (text_.substr(position_, 2) != "#_") break;
    position_ += 2;
    CAIRN_RETURN_IF_ERROR(read_form(0).status());
  }
  CAIRN_ASSIGN_OR_RETURN(EdnValue value, read_form(0));
  return std::optional<EdnValue>(std::move(value));
}

Result<EdnValue> EdnReader::read_form(std::size_t depth) {
  if (depth >= kMaxEdnDepth) return error("EDN nested more than " + std::to_string(kMaxEdnDepth) + " levels");
  skip_whitespace_and_comments();
  if (position_ >= text_.size()) return error("unexpected end of input inside an EDN value");
  switch (text_[position_]) {
    case '(': return read_collection(EdnValue::Kind::kList, ')', depth);
    case '[': return read_collection(EdnValue::Kind::kVector, ']', depth);
    case '{': return read_collection(EdnValue::Kind::kMap, '}', depth);
    case '#': return read_dispatch(depth);
    case '"': return read_string();
    case '\\': return read_character();
    case ')': case ']': case '}': return error(std::string("unmatched '") + text_[position_] + "'");
    default: return read_atom();
  }
}

Result<EdnValue> EdnReader::read_collection(EdnValue::Kind kind, char close, std::size_t depth) {
  EdnValue collection{.kind = kind, .line = line_};
  ++position_;  // the opening bracket, or the '{' of "#{"
  while (true) {
    skip_whitespace_and_comments();
    if (position_ >= text_.size()) {
      return error(std::string("unexpected end of input: '") + close + "' missing for the " +
                   std::string(edn_kind_name(kind)).substr(2) + " opened on line " + std::to_string(collection.line));
    }
    if (text_[position_] == close) {
      ++position_;
      break;
    }
    if (text_.substr(position_, 2) == "#_") {
      position_ += 2;
      CAIRN_RETURN_IF_ERROR(read_form(depth + 1).status());
      continue;
    }
    CAIRN_ASSIGN_OR_RETURN(EdnValue item, read_form(depth + 1));
    collection.items.push_back(std::move(item));
  }
  if (kind == EdnValue::Kind::kMap && collection.items.size() % 2 != 0) {
    return error("the map opened on line " + std::to_string(collection.line) + " has a key without a value");
  }
  return collection;
}

Result<EdnValue> EdnReader::read_dispatch(std::size_t depth) {
  const std::size_t line = line_;
  ++position_;  // '#'
  if (position_ < text_.size() && text_[position_] == '{') return read_collection(EdnValue::Kind::kSet, '}', depth);
  const std::string_view tag = read_token();
  if (tag.empty() || tag.front() == '#' || tag.front() == '_') return error("unsupported '#' form");
  CAIRN_ASSIGN_OR_RETURN(EdnValue value, read_form(depth + 1));
  EdnValue tagged{.kind = EdnValue::Kind::kTagged, .text = std::string(tag), .line = line};
  tagged.items.push_back(std::move(value));
  return tagged;
}

Result<EdnValue> EdnReader::read_string() {
  EdnValue string{.kind = EdnValue::Kind::kString, .line = line_};
  ++position_;  // '"'
  while (position_ < text_.size()) {
    const char c = text_[position_++];
    if (c == '"') return string;
    if (c == '\n') ++line_;
    if (c != '\\') {
      string.text += c;
      continue;
    }
    if (position_ >= text_.size()) break;
    const char escape = text_[position_++];
    switch (escape) {
      case '"': string.text += '"'; break;
      case '\\': string.text += '\\'; break;
      case 'n': string.text += '\n'; break;
      case 't': string.text += '\t'; break;
      case 'r': string.text += '\r'; break;
      case 'b': string.text += '\b'; break;
      case 'f': string.text += '\f'; break;
      default: string.text += '\\'; string.text += escape;  // \uXXXX and friends, kept as written
    }
  }
  return error("unterminated string starting on line " + std::to_string(string.line));
}

Result<EdnValue> EdnReader::read_character() {
  ++position_;  // '\'
  if (position_ >= text_.size()) return error("a character literal needs a character");
  const std::size_t start = position_++;
  if (text_[start] == '\n') ++line_;
  while (position_ < text_.size() && !is_delimiter(text_[position_])) ++position_;
  return EdnValue{.kind = EdnValue::Kind::kCharacter, .text = std::string(text_.substr(start, position_ - start)),
                  .line = line_};
}

std::string_view EdnReader::read_token() {
  const std::size_t start = position_;
  while (position_ < text_.size() && !is_delimiter(text_[position_])) ++position_;
  return text_.substr(start, position_ - start);
}

Result<EdnValue> EdnReader::read_atom() {
  const std::size_t line = line_;
  const std::string_view token = read_token();
  if (token.empty()) return error("unexpected character");
  if (token == "nil") return EdnValue{.kind = EdnValue::Kind::kNil, .line = line};
  if (token == "true" || token == "false") {
    return EdnValue{.kind = EdnValue::Kind::kBoolean, .text = std::string(token), .line = line};
  }
  if (token.front() == ':') {
    if (token.size() == 1) return error("a keyword needs a name after ':'");
    return EdnValue{.kind = EdnValue::Kind::kKeyword, .text = std::string(token.substr(1)), .line = line};
  }
  const bool numeric = is_digit(token.front()) ||
                       (token.size() > 1 && (token.front() == '+' || token.front() == '-') && is_digit(token[1]));
  if (!numeric) return EdnValue{.kind = EdnValue::Kind::kSymbol, .text = std::string(token), .line = line};
  if (std::optional<std::string> integer = canonical_integer(token)) {
    return EdnValue{.kind = EdnValue::Kind::kInteger, .text = std::move(*integer), .line = line};
  }
  if (is_float(token)) return EdnValue{.kind = EdnValue::Kind::kFloat, .text = std::string(token), .line = line};
  return error("malformed number '" + std::string(token.substr(0, 40)) + "'");
}

}  // namespace cairn::sim::linearizability
