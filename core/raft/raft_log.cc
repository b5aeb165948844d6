// RaftLog: the in-memory replicated log (raft_log.h).
#include "core/raft/raft_log.h"

#include <algorithm>
#include <string>

#include "core/runtime/assert.h"
#include "core/runtime/limits.h"

namespace cairn::raft {

// What an entry adds to an append message, counted generously so that an append within its
// byte limit fits a message (core/runtime/limits.h).
std::size_t entry_bytes(const proto::RaftEntry& entry) { return entry.data().size() + limits::kEntryOverheadBytesMax; }

RaftLog RaftLog::restore(uint64_t snapshot_index, uint64_t snapshot_term, std::vector<proto::RaftEntry> entries,
                         uint64_t committed) {
  RaftLog log;
  log.snapshot_index_ = snapshot_index;
  log.snapshot_term_ = snapshot_term;
  for (proto::RaftEntry& entry : entries) log.entries_.push_back(std::move(entry));
  log.stable_index_ = log.last_index();
  log.applied_ = snapshot_index;
  log.applying_ = snapshot_index;
  // A commit index on disk may run ahead of the entries that survived (it is only a hint).
  log.committed_ = std::clamp(committed, snapshot_index, log.last_index());
  log.check_invariants();
  return log;
}

uint64_t RaftLog::last_term() const { return entries_.empty() ? snapshot_term_ : entries_.back().term(); }

const proto::RaftEntry& RaftLog::at(uint64_t index) const {
  CAIRN_ASSERT(index > snapshot_index_ && index <= last_index(), "log index " + std::to_string(index) + " not held");
  return entries_[index - snapshot_index_ - 1];
}

std::optional<uint64_t> RaftLog::term(uint64_t index) const {
  if (index == snapshot_index_) return snapshot_term_;
  if (index < snapshot_index_ || index > last_index()) return std::nullopt;
  return at(index).term();
}

bool RaftLog::matches(uint64_t index, uint64_t term) const {
  const std::optional<uint64_t> held = this->term(index);
  return held.has_value() && *held == term;
}

bool RaftLog::is_up_to_date(uint64_t other_last_index, uint64_t other_last_term) const {
  return other_last_term > last_term() || (other_last_term == last_term() && other_last_index >= last_index());
}

void RaftLog::append(std::vector<proto::RaftEntry> entries) {
  for (proto::RaftEntry& entry : entries) {
    CAIRN_ASSERT(entry.index() == last_index() + 1, "appended entries must follow the log");
    CAIRN_ASSERT(entry.term() >= last_term(), "terms in the log never decrease");
    entries_.push_back(std::move(entry));
  }
}

std::optional<uint64_t> RaftLog::try_append(uint64_t previous_index, uint64_t previous_term,
                                            const std::vector<proto::RaftEntry>& entries) {
  if (!matches(previous_index, previous_term)) return std::nullopt;
  const uint64_t last_new = previous_index + entries.size();
  for (const proto::RaftEntry& entry : entries) {
    if (entry.index() <= snapshot_index_) continue;  // covered by our snapshot: committed, equal
    const std::optional<uint64_t> held = term(entry.index());
    if (held.has_value() && *held == entry.term()) continue;
    if (held.has_value()) {
      CAIRN_ASSERT(entry.index() > committed_, "a leader tried to overwrite committed entry " +
                                                   std::to_string(entry.index()));
      entries_.resize(entry.index() - snapshot_index_ - 1);
      stable_index_ = std::min(stable_index_, entry.index() - 1);
      ++suffixes_truncated_;
    }
    CAIRN_ASSERT(entry.index() == last_index() + 1, "appended entries must be contiguous");
    entries_.push_back(entry);
  }
  check_invariants();
  return last_new;
}

uint64_t RaftLog::find_conflict_by_term(uint64_t index, uint64_t term_limit) const {
  uint64_t candidate = std::min(index, last_index());
  while (candidate > snapshot_index_) {
    if (at(candidate).term() <= term_limit) return candidate;
    --candidate;
  }
  return candidate;
}

std::vector<proto::RaftEntry> RaftLog::slice(uint64_t low, uint64_t high, std::size_t max_bytes) const {
  CAIRN_ASSERT(low > snapshot_index_ && low <= high && high <= last_index() + 1, "slice out of the log");
  std::vector<proto::RaftEntry> result;
  std::size_t bytes = 0;
  for (uint64_t index = low; index < high; ++index) {
    const proto::RaftEntry& entry = at(index);
    bytes += entry_bytes(entry);
    if (!result.empty() && bytes > max_bytes) break;
    result.push_back(entry);
  }
  return result;
}

void RaftLog::commit_to(uint64_t index) {
  if (index <= committed_) return;
  CAIRN_ASSERT(index <= last_index(), "commit index " + std::to_string(index) + " beyond the log");
  committed_ = index;
}

void RaftLog::applying_to(uint64_t index) {
  CAIRN_ASSERT(index >= applying_ && index <= committed_, "entries are handed out in order, committed only");
  applying_ = index;
}

void RaftLog::applied_to(uint64_t index) {
  CAIRN_ASSERT(index >= applied_ && index <= applying_, "only entries handed out can be applied, in order");
  applied_ = index;
}

void RaftLog::stable_to(uint64_t index, uint64_t stable_term) {
  // The entry may have been replaced since the Ready that persisted it was made.
  if (index > stable_index_ && matches(index, stable_term)) stable_index_ = index;
}

std::vector<proto::RaftEntry> RaftLog::unstable_entries() const {
  if (stable_index_ >= last_index()) return {};
  return slice(std::max(stable_index_, snapshot_index_) + 1, last_index() + 1, SIZE_MAX);
}

std::vector<proto::RaftEntry> RaftLog::next_committed_entries(std::size_t max_bytes) const {
  if (!has_next_committed_entries()) return {};
  return slice(applying_ + 1, committed_ + 1, max_bytes);
}

void RaftLog::compact(uint64_t index) {
  if (index <= snapshot_index_) return;
  CAIRN_ASSERT(index <= applied_, "only applied entries can be compacted");
  snapshot_term_ = at(index).term();
  entries_.erase(entries_.begin(), entries_.begin() + static_cast<std::ptrdiff_t>(index - snapshot_index_));
  snapshot_index_ = index;
  check_invariants();
}

void RaftLog::restore_snapshot(uint64_t index, uint64_t snapshot_term) {
  CAIRN_ASSERT(index > committed_, "a snapshot older than the commit index is never installed");
  entries_.clear();
  snapshot_index_ = index;
  snapshot_term_ = snapshot_term;
  committed_ = index;
  applying_ = index;
  applied_ = index;
  stable_index_ = index;
  check_invariants();
}

void RaftLog::check_invariants() const {
  CAIRN_ASSERT(snapshot_index_ <= applied_ && applied_ <= applying_ && applying_ <= committed_ && committed_ <= last_index(),
               "log indexes out of order: snapshot " + std::to_string(snapshot_index_) + " applied " +
                   std::to_string(applied_) + " applying " + std::to_string(applying_) + " committed " +
                   std::to_string(committed_) + " last " +
                   std::to_string(last_index()));
  CAIRN_ASSERT(stable_index_ >= snapshot_index_ && stable_index_ <= last_index(), "stable index out of the log");
}

}  // namespace cairn::raft
