// The node registry's records (node_registry.h).
#include "core/kv/node_registry.h"

#include "core/kv/kv_state_machine.h"
#include "core/runtime/assert.h"

namespace cairn::kv {
namespace {

const std::string kNodePrefix = std::string(kReservedKeyPrefix) + "node/";

Status validate_address(std::string_view field, const std::string& address, bool required) {
  if (address.empty()) {
    return required ? Status::invalid_argument("a node descriptor needs a " + std::string(field)) : Status{};
  }
  if (address.size() > kNodeAddressBytesMax) {
    return Status::invalid_argument(std::string(field) + " of " + std::to_string(address.size()) +
                                    " bytes exceeds the limit of " + std::to_string(kNodeAddressBytesMax));
  }
  for (char c : address) {
    if (static_cast<unsigned char>(c) < 0x21 || c == 0x7f) {
      return Status::invalid_argument(std::string(field) + " contains a space or a control character");
    }
  }
  return Status{};
}

Result<proto::NodeDescriptor> parse_record(const std::string& key, const std::string& value) {
  proto::NodeDescriptor descriptor;
  if (!descriptor.ParseFromString(value) || node_registry_key(descriptor.node()) != key) {
    return Status::corruption("the node registry's record under a key of " + std::to_string(key.size()) +
                              " bytes does not parse or names another node");
  }
  return descriptor;
}

}  // namespace

std::string node_registry_key(NodeId node) {
  std::string key = kNodePrefix;
  for (int shift = 56; shift >= 0; shift -= 8) key.push_back(static_cast<char>((node >> shift) & 0xff));
  CAIRN_ASSERT(key.size() == kNodePrefix.size() + 8, "a registry key is its prefix and eight bytes");
  return key;
}

Status validate_node_descriptor(const proto::NodeDescriptor& descriptor) {
  if (descriptor.node() == 0) return Status::invalid_argument("node id 0 is reserved");
  CAIRN_RETURN_IF_ERROR(validate_address("peer address", descriptor.peer_address(), true));
  CAIRN_RETURN_IF_ERROR(validate_address("client address", descriptor.client_address(), true));
  return validate_address("HTTP address", descriptor.http_address(), false);
}

Result<std::vector<proto::NodeDescriptor>> read_node_registry(storage::KvEngine& engine, uint64_t timestamp) {
  std::vector<proto::NodeDescriptor> nodes;
  if (timestamp == 0) return nodes;
  storage::ScanOptions options = storage::ScanOptions::with_prefix(kNodePrefix, timestamp);
  options.limit = limits::kScanRowsMax;
  CAIRN_ASSIGN_OR_RETURN(std::vector<storage::KvPair> records, engine.scan(options));
  for (const storage::KvPair& record : records) {
    CAIRN_ASSIGN_OR_RETURN(proto::NodeDescriptor descriptor, parse_record(record.key, record.value));
    nodes.push_back(std::move(descriptor));
  }
  return nodes;
}

Result<std::optional<proto::NodeDescriptor>> read_node_record(storage::KvEngine& engine, uint64_t timestamp, NodeId node) {
  if (timestamp == 0 || node == 0) return std::optional<proto::NodeDescriptor>{};
  const std::string key = node_registry_key(node);
  CAIRN_ASSIGN_OR_RETURN(std::optional<std::string> value, engine.get(key, timestamp));
  if (!value) return std::optional<proto::NodeDescriptor>{};
  CAIRN_ASSIGN_OR_RETURN(proto::NodeDescriptor descriptor, parse_record(key, *value));
  return std::optional<proto::NodeDescriptor>(std::move(descriptor));
}

}  // namespace cairn::kv
