// A reader for the part of EDN (Clojure's data notation) that Jepsen histories use: nil,
// booleans, integers (with an optional N), floats, strings, characters, keywords, symbols,
// vectors, lists, maps, sets, tagged values (#tag value, whose tag is kept) and the #_ discard.
// Commas are whitespace and ; starts a comment. Nesting is bounded, and every value remembers
// the line it started on so that errors and operations point into the file.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/runtime/status.h"

namespace cairn::sim::linearizability {

inline constexpr std::size_t kMaxEdnDepth = 64;

struct EdnValue {
  enum class Kind { kNil, kBoolean, kInteger, kFloat, kString, kCharacter, kKeyword, kSymbol, kVector, kList, kMap, kSet, kTagged };
  Kind kind = Kind::kNil;
  // Booleans "true"/"false"; integers in canonical decimal (no sign for positives, no N);
  // floats, characters and symbols as written; strings decoded; keywords without the colon;
  // tagged values: the tag without '#'.
  std::string text = {};
  std::vector<EdnValue> items = {};  // elements; a map's keys and values alternate; a tag's value
  std::size_t line = 0;

  bool is_keyword(std::string_view name) const { return kind == Kind::kKeyword && text == name; }
  // A map's value under the keyword `name`, or nullptr.
  const EdnValue* find_keyword(std::string_view name) const;
};

std::string_view edn_kind_name(EdnValue::Kind kind);

// The value printed back as EDN, in one canonical spelling (`[1 "a" :k nil]`).
std::string edn_text(const EdnValue& value);

// Reads a stream of top-level forms.
class EdnReader {
 public:
  explicit EdnReader(std::string_view text, std::size_t first_line = 1) : text_(text), line_(first_line) {}

  // The next form, or nullopt at the end of the input. Errors say "line N: ...".
  Result<std::optional<EdnValue>> next();

  // Where reading stopped: the text after the last form read.
  std::string_view rest() const { return text_.substr(position_); }

 private:
  Status error(std::string_view message) const;
  void skip_whitespace_and_comments();
  Result<EdnValue> read_form(std::size_t depth);
  Result<EdnValue> read_collection(EdnValue::Kind kind, char close, std::size_t depth);
  Result<EdnValue> read_dispatch(std::size_t depth);
  Result<EdnValue> read_string();
  Result<EdnValue> read_character();
  Result<EdnValue> read_atom();
  std::string_view read_token();

  std::string_view text_;
  std::size_t position_ = 0;
  std::size_t line_ = 1;
};

}  // namespace cairn::sim::linearizability
