// Strict configuration files. CLI11 reads cairnd's --config file (TOML, or INI) but ignores keys
// it does not know, so a misspelt `peers = [...]` or `listen_http = ...` silently started a
// one-voter cluster of its own. Every key must be the long name of a flag; anything else is an
// error that names the file, the line and the closest known key.
#pragma once

#include <string>
#include <vector>

#include "core/runtime/status.h"

namespace cairn::net {

// INVALID_ARGUMENT for the first line of `text` (the file `path`) that is not a comment, blank,
// or `key = value` with a key among `known_keys` (values may span lines inside [ ]). Sections
// ([name]) are refused too: cairnd's flags have none.
Status check_config_keys(const std::string& path, const std::string& text, const std::vector<std::string>& known_keys);

// The known key closest to `key` by edit distance, if one is close enough to be a misspelling.
std::string closest_key(const std::string& key, const std::vector<std::string>& known_keys);

}  // namespace cairn::net
