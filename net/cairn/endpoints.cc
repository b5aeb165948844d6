// Parsing the `cairn --endpoints` list (endpoints.h).
#include "net/cairn/endpoints.h"

#include <charconv>

#include "net/socket.h"

namespace cairn::net {

Result<std::map<NodeId, std::string>> parse_endpoints(const std::string& text) {
  std::map<NodeId, std::string> endpoints;
  std::size_t begin = 0;
  while (begin <= text.size()) {
    std::size_t end = text.find(',', begin);
    if (end == std::string::npos) end = text.size();
    const std::string item = text.substr(begin, end - begin);
    const std::size_t equals = item.find('=');
    if (equals == std::string::npos) {
      return Status::invalid_argument("endpoint '" + item + "' should be ID=HOST:PORT, e.g. 1=127.0.0.1:7001");
    }
    NodeId id = 0;
    const auto [stop, error] = std::from_chars(item.data(), item.data() + equals, id);
    if (error != std::errc{} || stop != item.data() + equals || id == 0) {
      return Status::invalid_argument("endpoint '" + item + "': '" + item.substr(0, equals) + "' is not a node id");
    }
    const std::string address = item.substr(equals + 1);
    if (Result<SocketAddress> parsed = parse_socket_address(address); !parsed.ok()) {
      return parsed.status().with_context("endpoint '" + item + "'");
    }
    if (!endpoints.emplace(id, address).second) {
      return Status::invalid_argument("endpoint: node " + std::to_string(id) + " is given twice");
    }
    begin = end + 1;
  }
  return endpoints;
}

}  // namespace cairn::net
