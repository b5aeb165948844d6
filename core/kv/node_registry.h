// The node registry: where each node of the cluster listens (its NodeDescriptor: peer, client
// and HTTP addresses), kept as replicated records in the key-value store under reserved keys,
// so that every member, and every client that reaches one member, can reach all of them.
//
// Each node registers itself when it starts (kv_node.h); a registration replaces the node's
// earlier record, so a node restarted on another address is found there. Members learn the
// peer addresses as the records are applied (their transport dials there); clients learn the
// client addresses from `status` replies and from redirects. The ranges issue moves these
// records into the metadata range; their format and rules stay.
//
// Trust: like the node id of a connection's Hello, a registration is believed. Until mutual TLS
// arrives, anyone who can reach a node can register any address for any id.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/proto/kv.pb.h"
#include "core/runtime/network.h"
#include "storage/kv/kv_engine.h"

namespace cairn::kv {

// Longer than any HOST:PORT (an IPv6 literal in brackets is at most 47 bytes with its port).
inline constexpr std::size_t kNodeAddressBytesMax = 256;

// The reserved key of `node`'s record; ids in big-endian order, so a scan lists nodes in order.
std::string node_registry_key(NodeId node);

// INVALID_ARGUMENT naming the problem: node 0, an empty peer or client address, an address over
// kNodeAddressBytesMax or with a control character.
Status validate_node_descriptor(const proto::NodeDescriptor& descriptor);

// Every record in `engine` as of `timestamp`, in node order (nothing at timestamp 0). CORRUPTION
// for a record that does not parse or whose node does not match its key.
Result<std::vector<proto::NodeDescriptor>> read_node_registry(storage::KvEngine& engine, uint64_t timestamp);

// One node's record as of `timestamp`, if it registered.
Result<std::optional<proto::NodeDescriptor>> read_node_record(storage::KvEngine& engine, uint64_t timestamp, NodeId node);

}  // namespace cairn::kv
