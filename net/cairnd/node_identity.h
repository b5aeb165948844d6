// The identity a data directory records: which node of which cluster it belongs to. Starting
// node 2 on node 1's directory, or a node of cluster "a" on a directory of cluster "b", would
// silently mix two histories, so cairnd refuses (FAILED_PRECONDITION) and says whose it is.
//
// The file `node.id` is written atomically when the directory is first used:
//   node 3
//   cluster cairn
#pragma once

#include <string>

#include "core/runtime/file_system.h"
#include "core/runtime/network.h"

namespace cairn::net {

inline constexpr const char* kNodeIdentityFile = "node.id";

struct NodeIdentity {
  NodeId node = 0;
  std::string cluster;
};

// Checks, without writing anything, that the directory has no identity yet (false) or this one
// (true). Another node's or cluster's is FAILED_PRECONDITION naming whose it is; a file that
// cannot be read as an identity is CORRUPTION. cairnd checks before it listens, and claims
// only once it can serve, so a start that fails leaves nothing behind.
Result<bool> check_data_directory(FileSystem& fs, const NodeIdentity& identity);

// Records `identity` in a directory that has none; otherwise checks that it matches (as above)
// and makes the file durable. Never overwrites a file it cannot read.
Status claim_data_directory(FileSystem& fs, const NodeIdentity& identity);

}  // namespace cairn::net
