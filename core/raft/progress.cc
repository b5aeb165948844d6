// Progress: a leader's flow control towards one follower (progress.h).
#include "core/raft/progress.h"

#include <algorithm>

#include "core/runtime/assert.h"

namespace cairn::raft {

const char* progress_state_name(ProgressState state) {
  switch (state) {
    case ProgressState::kProbe: return "probe";
    case ProgressState::kReplicate: return "replicate";
    case ProgressState::kSnapshot: return "snapshot";
  }
  return "?";
}

bool Progress::paused() const {
  switch (state_) {
    case ProgressState::kProbe: return probe_sent_;
    case ProgressState::kReplicate: return inflight_.size() >= max_inflight_;
    case ProgressState::kSnapshot: return true;
  }
  return true;
}

void Progress::become_probe() {
  // After a snapshot the follower holds at least the snapshot's index.
  const uint64_t from = state_ == ProgressState::kSnapshot ? std::max(match_, pending_snapshot_) : match_;
  state_ = ProgressState::kProbe;
  next_ = from + 1;
  pending_snapshot_ = 0;
  probe_sent_ = false;
  inflight_.clear();
}

void Progress::become_replicate() {
  state_ = ProgressState::kReplicate;
  next_ = match_ + 1;
  pending_snapshot_ = 0;
  probe_sent_ = false;
  inflight_.clear();
}

void Progress::become_snapshot(uint64_t snapshot_index) {
  state_ = ProgressState::kSnapshot;
  pending_snapshot_ = snapshot_index;
  probe_sent_ = false;
  inflight_.clear();
}

void Progress::regressed(uint64_t hint) {
  match_ = std::min(match_, hint);
  match_at_last_heartbeat_ = std::min(match_at_last_heartbeat_, match_);
  become_probe();
}

void Progress::snapshot_failed() {
  pending_snapshot_ = 0;
  become_probe();
  probe_sent_ = true;
}

bool Progress::acknowledge(uint64_t index) {
  bool advanced = false;
  if (index > match_) {
    match_ = index;
    advanced = true;
    probe_sent_ = false;
  }
  next_ = std::max(next_, index + 1);
  while (!inflight_.empty() && inflight_.front() <= index) inflight_.pop_front();
  return advanced;
}

void Progress::sent_append(uint64_t last_index, bool carried_entries) {
  if (state_ == ProgressState::kReplicate) {
    if (carried_entries) {
      CAIRN_ASSERT(inflight_.size() < max_inflight_, "in-flight window overflow");
      CAIRN_ASSERT(inflight_.empty() || inflight_.back() < last_index, "in-flight appends must ascend");
      inflight_.push_back(last_index);
      next_ = last_index + 1;
    }
  } else if (state_ == ProgressState::kProbe) {
    probe_sent_ = true;
  }
}

bool Progress::rejected(uint64_t rejected_index, uint64_t hint) {
  if (state_ == ProgressState::kReplicate) {
    // In the pipeline, a rejection at or below match is a stale duplicate.
    if (rejected_index <= match_) return false;
    become_probe();
    next_ = std::max(match_ + 1, std::min(rejected_index, hint + 1));
    return true;
  }
  // Probing: only the answer to the probe just sent (at next - 1) counts.
  if (next_ == 0 || rejected_index != next_ - 1) return false;
  // Refused at what it acknowledged: the follower's disk lost entries it had synced, and its
  // log did not notice (else it says so: lost_entries). Start over below them, or probe and
  // refusal at one index go back and forth for ever (raft_kv_storage_faults, seed 288688039730).
  if (rejected_index > 0 && rejected_index <= match_) regressed(std::min(hint, rejected_index - 1));
  next_ = std::max(match_ + 1, std::min(rejected_index, hint + 1));
  CAIRN_ASSERT(next_ <= rejected_index, "a refused probe moves the next one below it");
  probe_sent_ = false;
  return true;
}

void Progress::heartbeat_answered() {
  probe_sent_ = false;
  const bool stalled = state_ == ProgressState::kReplicate && !inflight_.empty() && match_ == match_at_last_heartbeat_;
  match_at_last_heartbeat_ = match_;
  if (stalled) become_probe();
}

std::string Progress::describe() const {
  return std::string(progress_state_name(state_)) + " match=" + std::to_string(match_) + " next=" +
         std::to_string(next_) + " inflight=" + std::to_string(inflight_.size());
}

}  // namespace cairn::raft
