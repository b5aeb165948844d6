// RaftLog: one replica's view of the replicated log, in memory — the entries after the last
// snapshot, which of them are durable, committed and applied. It does no I/O: the driver
// persists what the state machine's Ready batches say, and rebuilds a RaftLog from disk after a
// restart (RaftLog::restore).
//
// Indexes: entries are numbered from 1. The snapshot covers every index up to snapshot_index();
// the entries held are (snapshot_index, last_index()]. Committed entries are handed to the
// state machine (applying) before the driver reports them applied, which it may do later
// (asynchronous apply). Invariants, asserted on every change:
//   snapshot_index <= applied <= applying <= committed <= last_index
//   stable_index (persisted through) <= last_index, and >= snapshot_index
//   entries are contiguous and their terms never decrease.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <vector>

#include "core/proto/raft.pb.h"

namespace cairn::raft {

class RaftLog {
 public:
  // An empty log (index 0, term 0), as a new replica has.
  RaftLog() = default;
  // The state a replica recovered from disk: its last snapshot and the durable entries after it.
  // Asserts that the entries follow the snapshot contiguously with non-decreasing terms.
  static RaftLog restore(uint64_t snapshot_index, uint64_t snapshot_term, std::vector<proto::RaftEntry> entries,
                         uint64_t committed);

  uint64_t snapshot_index() const { return snapshot_index_; }
  uint64_t snapshot_term() const { return snapshot_term_; }
  uint64_t first_index() const { return snapshot_index_ + 1; }
  uint64_t last_index() const { return snapshot_index_ + entries_.size(); }
  uint64_t last_term() const;
  uint64_t committed() const { return committed_; }
  uint64_t applied() const { return applied_; }
  uint64_t applying() const { return applying_; }
  uint64_t stable_index() const { return stable_index_; }
  // How many times try_append cut off a conflicting suffix (for coverage probes).
  uint64_t suffixes_truncated() const { return suffixes_truncated_; }

  // The term of the entry at `index`: known for the snapshot point and the entries held;
  // nullopt below the snapshot (compacted) or past the end.
  std::optional<uint64_t> term(uint64_t index) const;
  // The entry at `index`; asserts it is held (snapshot_index < index <= last_index).
  const proto::RaftEntry& entry(uint64_t index) const { return at(index); }
  bool matches(uint64_t index, uint64_t term) const;
  // Raft's "at least as up to date" (§5.4.1): a later last term, or the same and no shorter.
  bool is_up_to_date(uint64_t last_index, uint64_t last_term) const;

  // The leader appends new entries at the end (their indexes and terms already set).
  void append(std::vector<proto::RaftEntry> entries);
  // A follower's append after (previous_index, previous_term): nullopt if that entry does not
  // match; otherwise the index of the last new entry. Entries already held with the same term
  // are kept; the first conflicting entry and everything after it are replaced (never a
  // committed one: that would break Raft's safety, and is asserted).
  std::optional<uint64_t> try_append(uint64_t previous_index, uint64_t previous_term,
                                     const std::vector<proto::RaftEntry>& entries);
  // For a rejected append at `index`: the largest index <= index whose term is <= `term`
  // (the leader then skips a whole term of mismatching entries at once, not one per round trip).
  uint64_t find_conflict_by_term(uint64_t index, uint64_t term) const;

  // Entries [low, high), at most `max_bytes` of data but always at least one. Asserts that the
  // range is held (low > snapshot_index, high <= last_index + 1).
  std::vector<proto::RaftEntry> slice(uint64_t low, uint64_t high, std::size_t max_bytes) const;

  void commit_to(uint64_t index);            // never moves backwards; asserts index <= last
  void applying_to(uint64_t index);          // handed to the state machine; asserts committed
  void applied_to(uint64_t index);           // asserts handed out
  void stable_to(uint64_t index, uint64_t term);  // persisted through index (if still that term)

  // Entries not yet durable, to go into the next Ready.
  std::vector<proto::RaftEntry> unstable_entries() const;
  // Committed entries not yet handed out, at most `max_bytes` (but at least one).
  std::vector<proto::RaftEntry> next_committed_entries(std::size_t max_bytes) const;
  bool has_next_committed_entries() const { return committed_ > applying_; }

  // Drops entries up to `index` (at most the applied index): they are covered by a snapshot.
  void compact(uint64_t index);
  // Replaces the whole log with a snapshot's point (a follower installing a leader's snapshot).
  void restore_snapshot(uint64_t index, uint64_t term);

 private:
  const proto::RaftEntry& at(uint64_t index) const;
  void check_invariants() const;

  uint64_t snapshot_index_ = 0;
  uint64_t snapshot_term_ = 0;
  std::deque<proto::RaftEntry> entries_;
  uint64_t committed_ = 0;
  uint64_t applied_ = 0;
  uint64_t applying_ = 0;
  uint64_t stable_index_ = 0;
  uint64_t suffixes_truncated_ = 0;
};

std::size_t entry_bytes(const proto::RaftEntry& entry);

}  // namespace cairn::raft
