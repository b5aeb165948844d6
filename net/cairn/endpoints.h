// The servers a `cairn` command talks to: "1=127.0.0.1:7001,2=127.0.0.1:7002" (node id and
// address, as cairnd's --peer takes them). The ids are needed because the transport checks
// that it reached the node it dialed.
#pragma once

#include <map>
#include <string>

#include "core/runtime/network.h"
#include "core/runtime/status.h"

namespace cairn::net {

inline constexpr const char* kDefaultEndpoints = "1=127.0.0.1:7001,2=127.0.0.1:7002,3=127.0.0.1:7003";

// INVALID_ARGUMENT, naming the bad part, for anything but a non-empty list of distinct ids
// with valid addresses.
Result<std::map<NodeId, std::string>> parse_endpoints(const std::string& text);

}  // namespace cairn::net
