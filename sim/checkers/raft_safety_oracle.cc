// RaftSafetyOracle: Raft's safety properties checked across all replicas (raft_safety_oracle.h).
#include "sim/checkers/raft_safety_oracle.h"

#include <algorithm>
#include <string>

namespace cairn::sim {

uint64_t raft_entry_hash(const proto::RaftEntry& entry) {
  // FNV-1a over the type and data: the same entry hashes the same in every run.
  uint64_t hash = 14695981039346656037ull ^ static_cast<uint64_t>(entry.type());
  for (unsigned char byte : entry.data()) {
    hash ^= byte;
    hash *= 1099511628211ull;
  }
  return hash;
}

void RaftSafetyOracle::violation(std::string text) {
  // The same violation is seen again at every Ready of the replicas that show it: once is enough.
  if (std::find(violations_.begin(), violations_.end(), text) != violations_.end()) return;
  if (violations_.size() < kMaxViolations) violations_.push_back(std::move(text));
}

uint64_t RaftSafetyOracle::committed_entries() const {
  uint64_t total = 0;
  for (const auto& [group, state] : groups_) total += state.committed.size();
  return total;
}

void RaftSafetyOracle::observe_leader(uint64_t group_id, uint64_t replica, uint64_t term, const raft::RaftLog& log) {
  GroupState& group = groups_[group_id];
  auto [existing, inserted] = group.leader_of_term.emplace(term, replica);
  if (!inserted) {
    if (existing->second != replica) {
      violation("election safety: replicas " + std::to_string(existing->second) + " and " + std::to_string(replica) +
                " were both leader of term " + std::to_string(term) + " (group " + std::to_string(group_id) + ")");
    }
    return;
  }
  ++leaders_seen_;
  // Leader completeness: checked once per term, when the leader is first seen.
  for (const auto& [index, committed_term] : group.committed) {
    if (committed_term >= term || index <= log.snapshot_index()) continue;
    const std::optional<uint64_t> held = log.term(index);
    if (!held.has_value() || *held != committed_term) {
      violation("leader completeness: leader " + std::to_string(replica) + " of term " + std::to_string(term) +
                " lacks committed entry " + std::to_string(index) + " of term " + std::to_string(committed_term) +
                " (group " + std::to_string(group_id) + ")");
      return;
    }
  }
}

void RaftSafetyOracle::check_entry(GroupState& group, uint64_t replica, const raft::RaftLog& log, uint64_t index) {
  const proto::RaftEntry& entry = log.entry(index);
  const EntryFingerprint fingerprint{.content_hash = raft_entry_hash(entry),
                                     .previous_term = log.term(index - 1).value_or(0)};
  auto [known, inserted] = group.entries.emplace(std::make_pair(index, entry.term()), fingerprint);
  if (inserted) return;
  if (known->second.content_hash != fingerprint.content_hash) {
    violation("log matching: replica " + std::to_string(replica) + " holds a different entry at index " +
              std::to_string(index) + " term " + std::to_string(entry.term()));
  } else if (index - 1 > log.snapshot_index() && known->second.previous_term != fingerprint.previous_term) {
    violation("log matching: replica " + std::to_string(replica) + " agrees at index " + std::to_string(index) +
              " term " + std::to_string(entry.term()) + " but not on the entry before it");
  }
}

void RaftSafetyOracle::observe_log(uint64_t group_id, uint64_t replica, const raft::RaftLog& log) {
  GroupState& group = groups_[group_id];
  uint64_t& previous_commit = group.observed_commit[replica];
  const uint64_t first = std::max(previous_commit, log.snapshot_index()) + 1;
  for (uint64_t index = first; index <= log.last_index(); ++index) check_entry(group, replica, log, index);
  for (uint64_t index = first; index <= log.committed(); ++index) {
    const uint64_t term = log.entry(index).term();
    auto [known, inserted] = group.committed.emplace(index, term);
    if (!inserted && known->second != term) {
      violation("committed entry changed: index " + std::to_string(index) + " committed with term " +
                std::to_string(known->second) + ", replica " + std::to_string(replica) + " committed term " +
                std::to_string(term));
    }
  }
  previous_commit = log.committed();
}

void RaftSafetyOracle::observe_applied(uint64_t group_id, uint64_t replica, const proto::RaftEntry& entry) {
  GroupState& group = groups_[group_id];
  const uint64_t hash = raft_entry_hash(entry);
  auto [known, inserted] = group.applied.emplace(entry.index(), hash);
  if (!inserted && known->second != hash) {
    violation("state machine safety: replica " + std::to_string(replica) + " applied a different entry at index " +
              std::to_string(entry.index()));
  }
  auto acknowledged = group.acknowledged.find(entry.index());
  if (acknowledged != group.acknowledged.end() && acknowledged->second != entry.term()) {
    violation("acknowledged write lost: index " + std::to_string(entry.index()) + " was acknowledged in term " +
              std::to_string(acknowledged->second) + " but replica " + std::to_string(replica) +
              " applied an entry of term " + std::to_string(entry.term()));
  }
}

void RaftSafetyOracle::observe_acknowledged(uint64_t group_id, uint64_t index, uint64_t term) {
  GroupState& group = groups_[group_id];
  group.acknowledged[index] = term;
  auto committed = group.committed.find(index);
  if (committed != group.committed.end() && committed->second != term) {
    violation("acknowledged write lost: index " + std::to_string(index) + " acknowledged in term " +
              std::to_string(term) + " but committed in term " + std::to_string(committed->second));
  }
}

}  // namespace cairn::sim
