// RaftHost: routes a node's Raft traffic to its groups (raft_host.h).
#include "core/replica/raft_host.h"

#include "core/runtime/message.h"

namespace cairn::replica {

RaftHost::~RaftHost() {
  binding_.reset();  // no more deliveries into replicas being destroyed
  replicas_.clear();
}

Status RaftHost::start() {
  CAIRN_ASSIGN_OR_RETURN(binding_, runtime_->network().bind(services::kRaft, [this](proto::Envelope&& envelope) {
    on_message(std::move(envelope));
  }));
  return Status{};
}

void RaftHost::set_replica(uint64_t group, std::shared_ptr<RaftReplica> replica) {
  replicas_[group] = std::move(replica);
}

void RaftHost::remove_replica(uint64_t group) { replicas_.erase(group); }

std::shared_ptr<RaftReplica> RaftHost::find(uint64_t group) {
  auto found = replicas_.find(group);
  return found == replicas_.end() ? nullptr : found->second;
}

void RaftHost::on_message(proto::Envelope&& envelope) {
  if (envelope.message_type() == proto::RaftMessage::descriptor()->full_name()) {
    proto::RaftMessage message;
    if (unpack_payload(envelope, message).ok()) {
      if (auto replica = find(message.group()); replica != nullptr) {
        replica->deliver(std::move(message));
        return;
      }
    }
  } else if (envelope.message_type() == proto::RaftSnapshotChunk::descriptor()->full_name()) {
    proto::RaftSnapshotChunk chunk;
    if (unpack_payload(envelope, chunk).ok()) {
      if (auto replica = find(chunk.group()); replica != nullptr) {
        replica->deliver_chunk(std::move(chunk));
        return;
      }
    }
  }
  ++unroutable_messages_;  // malformed, of an unknown type, or for a group not hosted here
}

}  // namespace cairn::replica
