// StateMachine: what a Raft replica applies its committed log to (core/node/store.h).
// The key-value service's implementation is core/kv/kv_state_machine.h.
//
// The contract that makes crash recovery and snapshots work:
//  - apply() makes the effects of its entries durable together with the metadata of the last
//    one (its index and term, and the group's membership after it), atomically: after a crash
//    the state machine is exactly at some applied index, never between two entries;
//  - applied() is that metadata, so the state machine describes itself: a snapshot exported
//    from it carries the index, term and membership it is at, and a replica whose state machine
//    is ahead of its Raft log after a crash (an install interrupted before the log recorded it)
//    can tell where it is;
//  - import_snapshot() replaces the whole state, metadata included, atomically.
#pragma once

#include <string>
#include <vector>

#include "core/proto/raft.pb.h"
#include "core/runtime/status.h"

namespace cairn::node {

class StateMachine {
 public:
  virtual ~StateMachine() = default;

  // The last applied entry's index and term and the membership after it (all zero and empty for
  // a state machine that has applied nothing).
  virtual const proto::RaftSnapshotMetadata& applied() const = 0;

  // Applies committed entries in log order (each with an index above applied().index());
  // `membership_after` is the group's configuration once they are applied. Returns one result
  // per entry (empty for no-ops and membership entries), handed to whoever proposed it.
  virtual Result<std::vector<std::string>> apply(const std::vector<proto::RaftEntry>& entries,
                                                 const proto::RaftMembership& membership_after) = 0;

  // The whole state as checksummed chunks of about `chunk_bytes`, and its replacement by such
  // chunks (verified before anything changes).
  virtual Result<std::vector<std::string>> export_snapshot(std::size_t chunk_bytes) = 0;
  // CORRUPTION if any chunk fails its checksum or the chunks do not form a whole snapshot.
  virtual Status verify_snapshot(const std::vector<std::string>& chunks) = 0;
  virtual Status import_snapshot(const std::vector<std::string>& chunks) = 0;

  // Makes everything applied so far durable. apply() need not be: after a crash, applied()
  // may come back to an earlier index (never to half a batch), and the replica replays the log
  // from there. The Store syncs the engine every engine_sync_interval, and a range's log is
  // compacted only below what a sync made durable (the entries it drops must be durable in the
  // state machine). A state machine whose apply() is durable keeps the default.
  virtual Status sync() { return {}; }
};

}  // namespace cairn::node
