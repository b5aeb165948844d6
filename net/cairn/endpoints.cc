// Parsing the `cairn --endpoints` list (endpoints.h).
#include "net/cairn/endpoints.h"

#include "net/node_address.h"

namespace cairn::net {

Result<std::map<NodeId, std::string>> parse_endpoints(const std::string& text) {
  std::map<NodeId, std::string> endpoints;
  std::size_t begin = 0;
  while (begin <= text.size()) {
    std::size_t end = text.find(',', begin);
    if (end == std::string::npos) end = text.size();
    Result<NodeAddress> node = parse_node_address(std::string_view(text).substr(begin, end - begin));
    if (!node.ok()) return node.status().with_context("endpoint");
    if (!endpoints.emplace(node->id, node->address).second) {
      return Status::invalid_argument("endpoint: node " + std::to_string(node->id) + " is given twice");
    }
    begin = end + 1;
  }
  return endpoints;
}

}  // namespace cairn::net
