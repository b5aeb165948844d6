// Unknown keys in a configuration file are errors (config_file_check.h).
#include "net/cairnd/config_file_check.h"

#include <algorithm>
#include <sstream>

namespace cairn::net {
namespace {

std::string trimmed(const std::string& text) {
  const std::size_t first = text.find_first_not_of(" \t\r");
  if (first == std::string::npos) return "";
  return text.substr(first, text.find_last_not_of(" \t\r") - first + 1);
}

std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// How far a value's brackets are open after `value` (quotes respected), added to `depth`.
int bracket_depth(const std::string& value, int depth) {
  char quote = 0;
  for (char c : value) {
    if (quote != 0) {
      if (c == quote) quote = 0;
    } else if (c == '"' || c == '\'') {
      quote = c;
    } else if (c == '#') {
      break;
    } else if (c == '[') {
      ++depth;
    } else if (c == ']') {
      --depth;
    }
  }
  return depth;
}

}  // namespace

std::string closest_key(const std::string& key, const std::vector<std::string>& known_keys) {
  std::string best;
  std::size_t best_distance = std::max<std::size_t>(3, key.size() / 3) + 1;
  for (const std::string& known : known_keys) {
    const std::size_t distance = edit_distance(key, known);
    if (distance < best_distance) {
      best = known;
      best_distance = distance;
    }
  }
  return best;
}

Status check_config_keys(const std::string& path, const std::string& text, const std::vector<std::string>& known_keys) {
  std::istringstream lines(text);
  std::string line;
  int number = 0;
  int depth = 0;  // inside a value's [ ] that spans lines
  while (std::getline(lines, line)) {
    ++number;
    const std::string content = trimmed(line);
    if (depth > 0) {
      depth = bracket_depth(content, depth);
      continue;
    }
    if (content.empty() || content[0] == '#' || content[0] == ';') continue;
    const std::string where = path + " line " + std::to_string(number) + ": ";
    if (content[0] == '[') return Status::invalid_argument(where + "sections are not used; write every key at the top level");
    const std::size_t equals = content.find('=');
    if (equals == std::string::npos) return Status::invalid_argument(where + "expected `key = value`");
    std::string key = trimmed(content.substr(0, equals));
    if (key.size() >= 2 && (key.front() == '"' || key.front() == '\'') && key.back() == key.front()) {
      key = key.substr(1, key.size() - 2);
    }
    if (std::find(known_keys.begin(), known_keys.end(), key) == known_keys.end()) {
      const std::string suggestion = closest_key(key, known_keys);
      return Status::invalid_argument(where + "unknown key '" + key + "'" +
                                      (suggestion.empty() ? "" : " (did you mean '" + suggestion + "'?)") +
                                      "; the keys are the long flags of cairnd --help");
    }
    depth = bracket_depth(content.substr(equals + 1), 0);
  }
  return Status{};
}

}  // namespace cairn::net
