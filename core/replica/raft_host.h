// RaftHost: the Raft groups one node hosts (multi-raft). It owns the node's single Raft network
// endpoint and routes each arriving message or snapshot chunk to its group's replica by the
// group id the message carries; messages for groups it does not host are counted and dropped.
#pragma once

#include <cstdint>
#include <map>
#include <memory>

#include "core/replica/raft_replica.h"
#include "core/runtime/runtime.h"

namespace cairn::replica {

class RaftHost {
 public:
  explicit RaftHost(Runtime& runtime) : runtime_(&runtime) {}
  ~RaftHost();
  RaftHost(const RaftHost&) = delete;
  RaftHost& operator=(const RaftHost&) = delete;

  // Binds the Raft service; messages are routed from then on.
  Status start();

  // Adds (or replaces, after a restart of the replica) the replica of `group`.
  // Replicas are shared: a client request that is using one keeps it alive while it is replaced.
  void set_replica(uint64_t group, std::shared_ptr<RaftReplica> replica);
  // Stops and removes the replica of `group` (its fibers end before this returns).
  void remove_replica(uint64_t group);
  std::shared_ptr<RaftReplica> find(uint64_t group);
  const std::map<uint64_t, std::shared_ptr<RaftReplica>>& replicas() const { return replicas_; }
  uint64_t unroutable_messages() const { return unroutable_messages_; }

 private:
  void on_message(proto::Envelope&& envelope);

  Runtime* runtime_;
  std::map<uint64_t, std::shared_ptr<RaftReplica>> replicas_;
  uint64_t unroutable_messages_ = 0;
  std::unique_ptr<ServiceBinding> binding_;
};

}  // namespace cairn::replica
