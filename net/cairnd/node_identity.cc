// The data directory's identity file (node_identity.h).
#include "net/cairnd/node_identity.h"

#include <charconv>
#include <sstream>

#include "core/runtime/durable_file.h"

namespace cairn::net {
namespace {

std::string encode(const NodeIdentity& identity) {
  return "node " + std::to_string(identity.node) + "\ncluster " + identity.cluster + "\n";
}

Result<NodeIdentity> decode(const std::string& text) {
  NodeIdentity identity;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.starts_with("node ")) {
      const std::string number = line.substr(5);
      const auto [end, error] = std::from_chars(number.data(), number.data() + number.size(), identity.node);
      if (error != std::errc{} || end != number.data() + number.size()) identity.node = 0;
    } else if (line.starts_with("cluster ")) {
      identity.cluster = line.substr(8);
    }
  }
  if (identity.node == 0 || identity.cluster.empty()) {
    return Status::corruption(std::string(kNodeIdentityFile) + " is damaged or not a Cairn identity file");
  }
  return identity;
}

}  // namespace

Result<bool> check_data_directory(FileSystem& fs, const NodeIdentity& identity) {
  CAIRN_ASSIGN_OR_RETURN(bool exists, fs.exists(kNodeIdentityFile));
  if (!exists) return false;
  CAIRN_ASSIGN_OR_RETURN(std::string contents, read_whole_file(fs, kNodeIdentityFile));
  CAIRN_ASSIGN_OR_RETURN(NodeIdentity recorded, decode(contents));
  if (recorded.node != identity.node) {
    return Status::failed_precondition("the data directory belongs to node " + std::to_string(recorded.node) +
                                       ", not node " + std::to_string(identity.node));
  }
  if (recorded.cluster != identity.cluster) {
    return Status::failed_precondition("the data directory belongs to cluster '" + recorded.cluster +
                                       "', not cluster '" + identity.cluster + "'");
  }
  return true;
}

Status claim_data_directory(FileSystem& fs, const NodeIdentity& identity) {
  CAIRN_ASSIGN_OR_RETURN(bool claimed, check_data_directory(fs, identity));
  if (!claimed) return write_file_atomically(fs, kNodeIdentityFile, encode(identity));
  // The file may be in the page cache only (a start that crashed between the rename and the
  // directory's sync): make the claim durable before the node acts on it.
  return make_file_durable(fs, kNodeIdentityFile);
}

}  // namespace cairn::net
