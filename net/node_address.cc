// Parsing "ID=HOST:PORT" (node_address.h).
#include "net/node_address.h"

#include <charconv>

#include "net/socket.h"

namespace cairn::net {

Result<NodeAddress> parse_node_address(std::string_view spec) {
  const std::string quoted = "'" + std::string(spec) + "'";
  const std::size_t equals = spec.find('=');
  if (equals == std::string_view::npos) {
    return Status::invalid_argument(quoted + " should be ID=HOST:PORT, e.g. 1=127.0.0.1:7001");
  }
  NodeAddress node;
  const auto [stop, error] = std::from_chars(spec.data(), spec.data() + equals, node.id);
  if (error != std::errc{} || stop != spec.data() + equals || node.id == 0) {
    return Status::invalid_argument(quoted + ": '" + std::string(spec.substr(0, equals)) + "' is not a node id");
  }
  node.address = std::string(spec.substr(equals + 1));
  if (Result<SocketAddress> parsed = parse_socket_address(node.address); !parsed.ok()) {
    return parsed.status().with_context(quoted);
  }
  return node;
}

}  // namespace cairn::net
