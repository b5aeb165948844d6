// Ready: everything the Raft state machine asks its driver to do, in one batch. The state
// machine itself never performs I/O; the driver takes a Ready, carries it out, and calls
// Raft::advance(ready) to report that it is done.
//
// THE ORDER IS THE CONTRACT:
//   1. Send `messages` at once: they promise nothing about this node's disk. They are a
//      leader's RAFT_APPEND and RAFT_HEARTBEAT, which may leave before its own write is durable
//      (Raft thesis §10.2.1) because the leader counts its own entries toward a quorum only
//      once advance() reports them durable, so disk and followers work at the same time.
//   2. Persist `hard_state`, `snapshot` and `entries` (entries[0].index may be at or below the
//      last persisted index: the persisted log from that index on is replaced), synced when
//      `must_sync` says so. Raft decides: a hard state whose term, vote and catch-up term are
//      the durable ones (only the commit index moved) needs no sync, and no write at all when
//      there are no entries, since the commit index is promised to nobody (a restarted replica
//      learns it again from the leader).
//   3. Only then send `messages_after_persist`. They speak for what this node holds — a vote,
//      that entries are held — and a promise made before the state is durable is a lie after a
//      crash (two votes in one term, an acknowledged entry that vanished).
//      A RAFT_SNAPSHOT message describes the state machine as of Raft's applied index when the
//      message was made. The driver may capture the data then, or later, once the state machine
//      has applied further (committed) entries, if it sends the message with the state machine's
//      own description (index, term, membership) in place of Raft's: the follower installs what
//      the message says, and the leader takes the later match (core/node/applier.h).
//   4. Hand `committed_entries` to the state machine (a snapshot to install comes first). They
//      may be applied now or later, in another fiber, in order, each batch recorded with its
//      applied index; Raft::applied_to() reports how far, and until it does Raft treats them as
//      handed out, not applied: membership changes come into force, snapshots are described and
//      the log may be compacted only up to the reported index.
//   5. Hand `read_states` to the readers waiting on them once the applied index reaches their
//      index.
//   6. Call advance(ready). No other call into the state machine may happen between ready() and
//      advance() (asserted).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/proto/raft.pb.h"

namespace cairn::raft {

enum class Role { kFollower, kPreCandidate, kCandidate, kLeader };

const char* role_name(Role role);

// A read that may be served once the state machine has applied `index` (ReadIndex, §6.4 of the
// Raft dissertation): `context` identifies the request that asked for it.
struct ReadState {
  uint64_t index = 0;
  std::string context = {};
};

// Volatile state worth telling the driver about when it changes (leader changes, role).
struct SoftState {
  uint64_t leader = 0;
  Role role = Role::kFollower;
  std::string reason = {};  // why it changed ("lost contact with a quorum ..."), for the log only
  // A change of reason alone is no change of state.
  bool operator==(const SoftState& other) const { return leader == other.leader && role == other.role; }
};

struct Ready {
  std::optional<SoftState> soft_state = {};
  std::optional<proto::RaftHardState> hard_state = {};     // changed since the last Ready
  std::optional<proto::RaftSnapshotMetadata> snapshot = {};  // install (data from the leader's stream)
  std::vector<proto::RaftEntry> entries = {};
  // Whether persisting this batch needs a sync: entries, a snapshot, or a new term, vote or
  // catch-up term. False with a hard state means only the commit index moved.
  bool must_sync = false;
  std::vector<proto::RaftMessage> messages = {};                // send now, before persisting
  std::vector<proto::RaftMessage> messages_after_persist = {};  // send once persisted
  std::vector<proto::RaftEntry> committed_entries = {};    // apply, in order
  std::vector<ReadState> read_states = {};

  bool empty() const {
    return !soft_state && !hard_state && !snapshot && entries.empty() && messages.empty() &&
           messages_after_persist.empty() && committed_entries.empty() && read_states.empty();
  }
};

}  // namespace cairn::raft
