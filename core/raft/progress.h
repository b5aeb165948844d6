// Progress: what a leader knows about one follower's log, and the flow control that decides
// what to send it next (the design of etcd's raft tracker).
//
//   probe      the leader does not know where the follower's log matches: it sends one append
//              at a time and waits for the answer (or the next heartbeat response) before the
//              next, stepping `next` back on each rejection;
//   replicate  the logs match up to `match`: appends are pipelined, up to `max_inflight`
//              messages unacknowledged at once (the bounded in-flight window);
//   snapshot   the follower needs entries the leader has compacted away: a snapshot is being
//              sent, and nothing else until it is reported done or failed.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>

namespace cairn::raft {

enum class ProgressState { kProbe, kReplicate, kSnapshot };

const char* progress_state_name(ProgressState state);

class Progress {
 public:
  Progress(uint64_t next, std::size_t max_inflight) : next_(next), max_inflight_(max_inflight) {}

  ProgressState state() const { return state_; }
  uint64_t match() const { return match_; }
  uint64_t next() const { return next_; }
  uint64_t pending_snapshot() const { return pending_snapshot_; }
  std::size_t inflight() const { return inflight_.size(); }
  bool recently_active() const { return recently_active_; }
  void set_recently_active(bool active) { recently_active_ = active; }

  // Whether the leader should hold back appends: a probe already outstanding, a full window,
  // or a snapshot in progress.
  bool paused() const;

  void become_probe();
  void become_replicate();
  void become_snapshot(uint64_t snapshot_index);
  // The snapshot never arrived: probe again from match, after the next heartbeat answer.
  void snapshot_failed();

  // An append response acknowledged `index`: returns whether `match` advanced. Frees the window
  // up to `index`.
  bool acknowledge(uint64_t index);
  // An append covering up to `last_index` was sent.
  void sent_append(uint64_t last_index, bool carried_entries);
  // A rejection of the append after `rejected`: moves `next` back to `hint` + 1 (at most one
  // below the rejected index, never below match + 1). Returns false if the rejection is stale.
  bool rejected(uint64_t rejected, uint64_t hint);
  // The follower lost entries it had acknowledged (storage damage): its log now matches at most
  // up to `hint`. Match moves back and the leader probes again from there.
  void regressed(uint64_t hint);
  // A heartbeat response: a probing leader may send again. A pipeline that acknowledged nothing
  // over a whole heartbeat interval while appends were outstanding has lost them (the network
  // drops messages): it falls back to probing, which resends from match + 1.
  void heartbeat_answered();
  // The newest commit index sent to this follower: a follower behind it needs no empty append.
  uint64_t sent_commit() const { return sent_commit_; }
  void commit_sent(uint64_t commit) { sent_commit_ = std::max(sent_commit_, commit); }

  std::string describe() const;

 private:
  ProgressState state_ = ProgressState::kProbe;
  uint64_t match_ = 0;
  uint64_t next_ = 1;
  uint64_t pending_snapshot_ = 0;
  bool probe_sent_ = false;
  bool recently_active_ = false;
  uint64_t sent_commit_ = 0;
  uint64_t match_at_last_heartbeat_ = 0;
  std::size_t max_inflight_;
  std::deque<uint64_t> inflight_;  // last index of each unacknowledged append, ascending
};

}  // namespace cairn::raft
