// KvNode: everything a server of the replicated key-value store runs — the Raft groups it hosts
// (each a RaftReplica over a KvStateMachine, in its own directory "raft/g<group>/"), the Raft
// endpoint that routes between them (RaftHost), and the client service (KvService). The same
// code runs as a simulated node and inside cairnd.
//
// Each node registers where it listens in the node registry (node_registry.h) and learns where
// the others listen from it, so members added at run time reach each other.
//
// A replica that stops on a storage error is restarted from its disk after a delay by a
// supervisor fiber, so a transient fault (a full disk, a failed fsync) heals without operator
// action; until then its group is served by the others.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/kv/kv_service.h"
#include "core/replica/raft_host.h"

namespace cairn::kv {

struct KvNodeOptions {
  std::vector<uint64_t> groups = {1};
  // The initial voters of every group, used only when `bootstrap` is set and the node has no
  // state for a group yet (the cluster is being created). Otherwise a replica without state
  // joins as a blank member and waits for a snapshot from its group's leader.
  std::vector<NodeId> voters = {};
  bool bootstrap = false;
  std::string directory = "raft";
  replica::RaftReplicaOptions replica = {};  // a template: group, directory and voters are set per group
  KvStateMachineOptions state_machine = {};
  KvServiceOptions service = {};
  Duration restart_delay = milliseconds(500);
  // Where this node listens, registered in the node registry (node_registry.h, group
  // kRegistryGroup) once the node has started: through the `voters` above, which serve as seeds
  // when the node joins. Unset: the node does not register (a test's bare node).
  std::optional<proto::NodeDescriptor> self_descriptor = std::nullopt;
};

// The group whose key-value state holds the node registry (the ranges issue moves it to the
// metadata range).
inline constexpr uint64_t kRegistryGroup = 1;

class KvNode {
 public:
  static Result<std::unique_ptr<KvNode>> start(Runtime& runtime, KvNodeOptions options);
  ~KvNode();

  replica::RaftHost& host() { return host_; }
  KvGroup find(uint64_t group);
  uint64_t replica_restarts() const { return replica_restarts_; }

 private:
  KvNode(Runtime& runtime, KvNodeOptions options);
  Status open_group(uint64_t group);
  std::string database_path(uint64_t group) const;
  // open_group() after a failure: the database's files are first made what the cache shows.
  Status reopen_group(uint64_t group);
  void supervise();
  // Writes self_descriptor into the registry, retrying with backoff until it is applied.
  void register_self();
  // A registry record applied (or found at start): the transport learns the node's peer address.
  void learn_node(const proto::NodeDescriptor& descriptor);

  Runtime* runtime_;
  KvNodeOptions options_;
  replica::RaftHost host_;
  std::map<uint64_t, KvStateMachine*> state_machines_;
  std::unique_ptr<KvService> service_;
  uint64_t replica_restarts_ = 0;
  std::map<NodeId, std::string> peer_addresses_;  // learned from the registry, to log only changes
  // Set before the supervisor is cancelled. Closing a replica's database can swallow the
  // cancellation (a destructor cannot rethrow it), so the supervisor checks this as well.
  bool stopping_ = false;
  FiberScope fibers_;
};

}  // namespace cairn::kv
