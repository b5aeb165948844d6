// RaftSafetyOracle: watches every replica of every Raft group in a simulated run (or a test
// cluster) and records a violation the moment one of Raft's safety properties (Raft paper,
// figure 3) fails:
//   election safety       at most one leader per term;
//   log matching          two logs holding an entry with the same index and term hold the same
//                         entry, and agree on the entry before it (so, inductively, on the whole
//                         prefix);
//   leader completeness   a leader's log holds every entry committed in an earlier term;
//   state machine safety  no two replicas apply different entries at the same index;
//   acknowledged writes   every entry acknowledged to a client is committed, and stays so.
// It sees replicas through what they hold (their in-memory log and the entries they apply), not
// through their messages, so it judges the protocol's outcome rather than its mechanics.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/proto/raft.pb.h"
#include "core/raft/raft_log.h"

namespace cairn::sim {

class RaftSafetyOracle {
 public:
  // A replica is leader of `term`.
  void observe_leader(uint64_t group, uint64_t replica, uint64_t term, const raft::RaftLog& log);
  // A replica's whole log (call after every change you want judged). Entries at or below its
  // commit index are recorded as committed.
  void observe_log(uint64_t group, uint64_t replica, const raft::RaftLog& log);
  // A replica applied `entry` to its state machine.
  void observe_applied(uint64_t group, uint64_t replica, const proto::RaftEntry& entry);
  // A client was told that the entry (index, term) took effect.
  void observe_acknowledged(uint64_t group, uint64_t index, uint64_t term);

  bool ok() const { return violations_.empty(); }
  const std::vector<std::string>& violations() const { return violations_; }
  uint64_t leaders_seen() const { return leaders_seen_; }
  uint64_t committed_entries() const;

 private:
  struct EntryFingerprint {
    uint64_t content_hash = 0;
    uint64_t previous_term = 0;
  };
  struct GroupState {
    std::map<uint64_t, uint64_t> leader_of_term;                              // term -> replica
    std::map<std::pair<uint64_t, uint64_t>, EntryFingerprint> entries;         // (index, term)
    std::map<uint64_t, uint64_t> committed;                                  // index -> term
    std::map<uint64_t, uint64_t> applied;                                    // index -> content hash
    std::map<uint64_t, uint64_t> acknowledged;                               // index -> term
    // replica -> its commit index when last observed: entries at or below it cannot change, so
    // each observation checks only the entries above it.
    std::map<uint64_t, uint64_t> observed_commit;
  };

  void violation(std::string text);
  void check_entry(GroupState& group, uint64_t replica, const raft::RaftLog& log, uint64_t index);

  std::map<uint64_t, GroupState> groups_;
  std::vector<std::string> violations_;
  uint64_t leaders_seen_ = 0;
  static constexpr std::size_t kMaxViolations = 20;
};

uint64_t raft_entry_hash(const proto::RaftEntry& entry);

}  // namespace cairn::sim
