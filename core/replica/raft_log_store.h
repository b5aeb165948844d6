// RaftLogStore: one Raft replica's durable state — hard state, log entries and where the log
// continues after a snapshot — kept in a write-ahead log (storage/wal), and rebuilt from it
// after a restart.
//
// Records, replayed in order at recovery:
//   kWalRecordEntry           a RaftEntry. An entry at index i replaces the entry held at i and
//                             every later one (that is how a follower's conflicting suffix is
//                             overwritten: the log is never rewritten in place);
//   kWalRecordHardState       a RaftHardState; the last one wins;
//   kWalRecordSnapshotMarker  a RaftLogMarker: entries at or below the snapshot's index are
//                             gone (all of them, if the marker says the log was replaced).
// A Ready's hard state and entries go in one append_batch: one write and one fsync, and after a
// crash either all of them or none.
//
// Compaction writes a marker and the current hard state, then deletes the WAL segments that
// hold only records the snapshot covers.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/proto/raft.pb.h"
#include "core/raft/raft.h"
#include "core/runtime/runtime.h"
#include "storage/wal/write_ahead_log.h"

namespace cairn::replica {

struct RaftLogStoreOptions {
  std::string directory = "raft/wal";
  uint64_t segment_bytes = uint64_t{8} << 20;
  // Open a log with damage in the middle (storage/wal salvage mode) instead of refusing it:
  // the records that verify are kept, the log is cut at the first missing entry, and the
  // replica is marked as catching up (RaftHardState.catch_up_term) so that it neither votes
  // nor campaigns until a leader has restored what it lost.
  bool salvage_damage = true;
};

class RaftLogStore {
 public:
  // Opens (or creates) the log and replays it. CORRUPTION if a record that verified does not
  // parse or the entries do not follow each other; the WAL's own errors otherwise.
  static Result<std::unique_ptr<RaftLogStore>> open_store(Runtime& runtime, const RaftLogStoreOptions& options);

  // What recovery found (entries after the snapshot, the last hard state, the snapshot point),
  // handed over once: the Raft state machine keeps the entries from then on.
  raft::RaftRecoveredState take_recovered() { return std::move(recovered_); }
  const WalRecoveryReport& wal_report() const { return wal_->recovery_report(); }
  // Whether recovery salvaged a damaged log (and what it lost), for logs and reports.
  bool salvaged() const { return salvaged_; }
  const std::string& salvage_summary() const { return salvage_summary_; }

  // Durably stores a Ready's hard state (if any) and entries, in one batch.
  Status save(const std::optional<proto::RaftHardState>& hard_state, const std::vector<proto::RaftEntry>& entries);
  // Durably records that the log now continues after `snapshot` (an installed snapshot replaces
  // the whole log; a compaction only drops what it covers), with the current hard state.
  Status save_snapshot(const proto::RaftSnapshotMetadata& snapshot, bool replaces_log,
                       const proto::RaftHardState& hard_state);
  // After save_snapshot: deletes the WAL segments holding only records at or below what the
  // snapshot covers.
  Status remove_covered_segments();

  // The hard state last made durable (recovered, or written by save/save_snapshot).
  const proto::RaftHardState& durable_hard_state() const { return durable_hard_state_; }
  uint64_t segments() const { return wal_->segments().size(); }
  const WriteAheadLog& wal() const { return *wal_; }

 private:
  RaftLogStore(std::unique_ptr<WriteAheadLog> wal) : wal_(std::move(wal)) {}
  Status replay();
  Status replay_record(const WalRecord& record, std::map<uint64_t, proto::RaftEntry>& entries);

  std::unique_ptr<WriteAheadLog> wal_;
  raft::RaftRecoveredState recovered_;
  proto::RaftHardState durable_hard_state_;
  // Raft index -> the WAL index that holds its current version (entries after the snapshot).
  std::map<uint64_t, uint64_t> entry_locations_;
  uint64_t snapshot_index_ = 0;
  uint64_t last_marker_location_ = 0;
  uint64_t last_hard_state_location_ = 0;
  bool salvaged_ = false;
  std::string salvage_summary_;
};

}  // namespace cairn::replica
