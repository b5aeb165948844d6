// KvNode: everything a server of the replicated key-value store runs — the Raft groups it hosts
// (each a RaftReplica over a KvStateMachine, in its own directory "raft/g<group>/"), the Raft
// endpoint that routes between them (RaftHost), and the client service (KvService). The same
// code runs as a simulated node and inside cairnd.
//
// A replica that stops on a storage error is restarted from its disk after a delay by a
// supervisor fiber, so a transient fault (a full disk, a failed fsync) heals without operator
// action; until then its group is served by the others.
#pragma once

#include <memory>
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
};

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
  void supervise();

  Runtime* runtime_;
  KvNodeOptions options_;
  replica::RaftHost host_;
  std::map<uint64_t, KvStateMachine*> state_machines_;
  std::unique_ptr<KvService> service_;
  uint64_t replica_restarts_ = 0;
  // Set before the supervisor is cancelled. Closing a replica's database can swallow the
  // cancellation (a destructor cannot rethrow it), so the supervisor checks this as well.
  bool stopping_ = false;
  FiberScope fibers_;
};

}  // namespace cairn::kv
