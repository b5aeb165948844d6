// "ID=HOST:PORT": how a node is named on every command line (cairnd --peer, cairn --endpoints),
// the id first because the transport checks that it reached the node it dialed.
#pragma once

#include <string>
#include <string_view>

#include "core/runtime/network.h"
#include "core/runtime/status.h"

namespace cairn::net {

struct NodeAddress {
  NodeId id = 0;
  std::string address;  // HOST:PORT, as parse_socket_address() accepts it
};

// INVALID_ARGUMENT naming what is wrong with `spec`: no '=', an id that is not a positive
// integer, or an address that is not an IP literal (or localhost) with a port.
Result<NodeAddress> parse_node_address(std::string_view spec);

}  // namespace cairn::net
