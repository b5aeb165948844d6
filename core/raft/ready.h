// Ready: everything the Raft state machine asks its driver to do, in one batch. The state
// machine itself never performs I/O; the driver takes a Ready, carries it out, and calls
// Raft::advance(ready) to report that it is done.
//
// THE ORDER IS THE CONTRACT:
//   1. Persist `hard_state`, `snapshot` and `entries` durably (entries[0].index may be at or
//      below the last persisted index: the persisted log from that index on is replaced). A
//      hard state that differs from the durable one only in its commit index need not be
//      synced: the commit index is not promised to anyone.
//   2. Only then send `messages`. A message may promise something about the persisted state — a
//      vote, or that entries are held — and a promise made before the state is durable is a lie
//      after a crash (two votes in one term, an acknowledged entry that vanished).
//      One exception: a leader's RAFT_APPEND and RAFT_HEARTBEAT promise nothing about its own
//      disk and may leave before step 1 (Raft thesis §10.2.1), because the leader counts its
//      own entries toward a quorum only once advance() reports them durable.
//      A RAFT_SNAPSHOT message describes the state machine as of Raft's applied index when the
//      message was made: before this Ready's committed entries are applied. The driver captures
//      the snapshot data then.
//   3. Apply `committed_entries` in order (a snapshot to install comes first), and record the
//      applied index together with their effects.
//   4. Hand `read_states` to the readers waiting on them once the applied index reaches their
//      index.
//   5. Call advance(ready). No other call into the state machine may happen between ready() and
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
  std::vector<proto::RaftEntry> entries = {};              // persist before sending messages
  std::vector<proto::RaftMessage> messages = {};
  std::vector<proto::RaftEntry> committed_entries = {};    // apply, in order
  std::vector<ReadState> read_states = {};

  bool empty() const {
    return !soft_state && !hard_state && !snapshot && entries.empty() && messages.empty() &&
           committed_entries.empty() && read_states.empty();
  }
};

}  // namespace cairn::raft
