// StoreLog: the Raft state of every range a node hosts — hard states, log entries, and where each
// range's log continues after a snapshot — in the node's one write-ahead log (storage/wal), and
// rebuilt from it after a restart. One log for all ranges, not one per range, so that the ready
// batches of many ranges are one write and one sync.
//
// Records, replayed in order at recovery, each payload the range id (8 bytes, little-endian) and
// then a protobuf:
//   kStoreRecordEntry      a RaftEntry. It replaces the range's entry at its index and every later
//                          one (a follower's conflicting suffix is overwritten this way: the log is
//                          never rewritten in place);
//   kStoreRecordHardState  a RaftHardState; the range's last one wins;
//   kStoreRecordMarker     a RaftLogMarker: the range's entries at or below the snapshot's index are
//                          gone (all of them, if the marker says the log was replaced);
//   kStoreRecordRemoved    (no protobuf) the range left the node: all it had is gone.
// Record types 1-3 are the single-group format of Cairn 0.3 (one log per group, no range id):
// such a log is refused at open, saying the data directory must be created anew.
//
// Space: a segment may be removed once no range needs a record in it. A range needs its last
// marker, its last hard state and its entries after the snapshot point. A quiet range would hold
// the oldest segment for ever (its hard state was written long ago), so purge() first writes the
// records that ranges still need from the oldest segments again at the head of the log (as
// TiKV's raft-engine rewrites), then removes those segments.
//
// Damage: a log opened with salvage (storage/wal "Salvage") cannot tell whose records a damaged
// batch held, so every range it holds is marked as catching up (RaftHardState.catch_up_term):
// none votes or campaigns until a leader has restored what it may have lost.
//
// Fibers: every method but the accessors blocks on the log, and the caller serializes them (the
// Store's loop).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/proto/raft.pb.h"
#include "core/raft/raft.h"
#include "core/runtime/runtime.h"
#include "storage/wal/write_ahead_log.h"

namespace cairn::node {

using RangeId = uint64_t;

inline constexpr uint8_t kStoreRecordEntry = 11;
inline constexpr uint8_t kStoreRecordHardState = 12;
inline constexpr uint8_t kStoreRecordMarker = 13;
inline constexpr uint8_t kStoreRecordRemoved = 14;

struct StoreLogOptions {
  std::string directory = "store/wal";
  uint64_t segment_bytes = uint64_t{64} << 20;
  // Open a log with damage in the middle instead of refusing it (see "Damage" above).
  bool salvage_damage = true;
  // purge() starts rewriting once the log holds more segments than this.
  std::size_t segments_kept = 4;
  // At most this many records are written again by one purge(); the rest wait for the next.
  std::size_t rewrite_records_max = 4096;
};

// One range's part of a persist: its hard state (if it changed) and new entries.
struct RangeLogWrite {
  RangeId range = 0;
  std::optional<proto::RaftHardState> hard_state = std::nullopt;
  std::vector<proto::RaftEntry> entries = {};
};

struct StoreLogStats {
  std::size_t segments = 0;
  uint64_t batches_written = 0;  // each one write and one sync, since the log was opened
  uint64_t records_rewritten = 0;  // by purge(), since the log was opened
  uint64_t segments_removed = 0;
};

class StoreLog {
 public:
  // Opens (or creates) the log and replays it. CORRUPTION if a record that verified does not
  // parse or a range's entries do not follow each other; FAILED_PRECONDITION for a log of the
  // single-group format; the WAL's own errors otherwise.
  static Result<std::unique_ptr<StoreLog>> open_log(Runtime& runtime, const StoreLogOptions& options);

  // The ranges the log holds state for, in order.
  std::vector<RangeId> ranges() const;
  // What recovery found for `range` (empty for a range the log does not hold), handed over once:
  // the range's Raft state machine keeps the entries from then on.
  raft::RaftRecoveredState take_recovered(RangeId range);
  bool salvaged() const { return salvaged_; }
  const std::string& salvage_summary() const { return salvage_summary_; }

  // Durably stores every range's hard state and entries in one batch: one write, one sync.
  Status save(std::span<const RangeLogWrite> writes);
  // Durably records that `range`'s log now continues after `snapshot` (an installed snapshot
  // replaces the whole log; a compaction drops only what it covers), with its hard state.
  Status save_snapshot(RangeId range, const proto::RaftSnapshotMetadata& snapshot, bool replaces_log,
                       const proto::RaftHardState& hard_state);
  // Durably forgets `range` (it left the node).
  Status remove_range(RangeId range);
  // Writes again what ranges still need from the oldest segments, then removes every segment
  // that no range needs.
  Status purge();

  // The range's hard state last made durable (a default one for a range the log does not hold).
  const proto::RaftHardState& durable_hard_state(RangeId range) const;
  StoreLogStats stats() const;

 private:
  // Where a range's records are, by WAL index.
  struct RangeRecords {
    proto::RaftHardState hard_state;
    uint64_t hard_state_location = 0;
    proto::RaftLogMarker marker;
    uint64_t marker_location = 0;
    std::map<uint64_t, uint64_t> entry_locations;  // Raft index -> WAL index, after the snapshot
    // The oldest WAL index the range needs (0: none).
    uint64_t oldest_needed() const;
  };

  StoreLog(Runtime& runtime, std::unique_ptr<WriteAheadLog> wal, StoreLogOptions options);
  Status replay();
  Status replay_record(const WalRecord& record, std::map<RangeId, std::map<uint64_t, proto::RaftEntry>>& entries);
  Status finish_recovery(std::map<RangeId, std::map<uint64_t, proto::RaftEntry>>& entries);
  // Appends records and returns the WAL index of the first.
  Result<uint64_t> append(const std::vector<std::pair<uint8_t, std::string>>& records);
  // Writes again `range`'s needed records that lie before `before`; counts them into `budget`.
  Status rewrite(RangeId range, uint64_t before, std::size_t& budget);

  Runtime* runtime_;
  std::unique_ptr<WriteAheadLog> wal_;
  StoreLogOptions options_;
  std::map<RangeId, RangeRecords> ranges_;
  std::map<RangeId, raft::RaftRecoveredState> recovered_;
  bool salvaged_ = false;
  std::string salvage_summary_;
  StoreLogStats stats_;
};

}  // namespace cairn::node
