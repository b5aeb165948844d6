// Raft: the consensus algorithm of one replica of one group, as a pure state machine in the
// style of etcd's raft. Inputs are calls — tick() for the passage of time, step() for a message
// from a peer, propose() for a client command — and every effect comes out as a Ready batch
// (ready.h) that a driver carries out: persist, send, apply. It performs no I/O, reads no clock,
// and draws randomness only from the seed in its options, so the same inputs always give the
// same outputs; that is what lets the simulator and the property tests drive it.
//
// Implemented (Ongaro's dissertation, section numbers in the code):
//   - elections with randomized timeouts in [election_ticks, 2 * election_ticks);
//   - PreVote (§9.6): a replica first asks whether it could win, without raising its term, so a
//     partitioned replica that comes back does not depose a working leader;
//   - CheckQuorum (§6.2): a leader that has not heard from a quorum within an election timeout
//     steps down, and a follower that heard from a leader within the election timeout ignores
//     vote requests (the leader's lease);
//   - log replication with pipelining and a bounded in-flight window per follower (progress.h),
//     proposal batching (everything proposed between two Ready batches travels in one append),
//     and fast backtracking of mismatching logs by term;
//   - the commit rule (§3.6.2): only entries of the leader's own term are committed by counting;
//   - log compaction and snapshots for followers whose entries were compacted away;
//   - ReadIndex reads (§6.4) and lease reads (§6.4.1, only with CheckQuorum, shortened by the
//     configured maximum clock drift);
//   - leadership transfer (§3.10);
//   - membership changes by joint consensus (§4.3) and learners (§4.2.1), see membership.h;
//   - quiescence (CockroachDB's): an idle group stops its heartbeats and election timers, so
//     that thousands of idle groups cost nothing. The leader of a group whose followers all hold
//     the whole log, with nothing pending, quiesces: it sends one last heartbeat marked quiesce
//     and gives up its lease (its ticks stop, so the lease could not be measured). A follower
//     that holds the leader's whole log when that heartbeat arrives goes quiet too. The driver
//     stops ticking a quiet replica; any proposal, read, transfer or message (other than the
//     quiescing heartbeat, a quiet leader's late answers to rounds it sent before, and what a
//     quiet follower would ignore or answer unchanged: see wakes()) wakes it, and the driver
//     wakes a follower whose leader's node it suspects has failed: its election timer runs
//     out, unless heartbeats resume.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/proto/raft.pb.h"
#include "core/raft/membership.h"
#include "core/raft/progress.h"
#include "core/raft/raft_log.h"
#include "core/raft/ready.h"
#include "core/runtime/fault_points.h"
#include "core/runtime/limits.h"
#include "core/runtime/random.h"
#include "core/runtime/status.h"

namespace cairn::raft {

struct RaftOptions {
  ReplicaId id = 0;
  uint64_t group = 0;
  uint64_t random_seed = 0;        // election timeouts are drawn from this seed only
  uint32_t election_ticks = 10;    // election timeout, in ticks
  uint32_t heartbeat_ticks = 1;    // a leader sends heartbeats this often
  bool pre_vote = true;
  bool check_quorum = true;
  // Lease reads are served only while the leader's lease, an election timeout after a quorum
  // last acknowledged it, minus this many ticks of possible clock drift, has not expired.
  uint32_t max_clock_drift_ticks = 2;
  std::size_t max_append_bytes = limits::kAppendBytesDefault;  // data per append (at least one entry); <= limits::kAppendBytesMax
  std::size_t max_inflight_appends = 64;        // unacknowledged appends per follower
  std::size_t max_uncommitted_bytes = 64 << 20; // proposals refused beyond this
  std::size_t max_committed_bytes_per_ready = 4 << 20;
  std::size_t max_pending_reads = 4096;
  // BUGGIFY sites and coverage probes (the driver passes its Runtime); null: none.
  FaultPoints* fault_points = nullptr;
};

// What a replica recovered from its disk.
struct RaftRecoveredState {
  proto::RaftHardState hard_state = {};
  proto::RaftSnapshotMetadata snapshot = {};  // index 0: no snapshot
  std::vector<proto::RaftEntry> entries = {}; // the durable entries after the snapshot
  // The membership as of the last snapshot, then every membership entry after it is replayed.
  // For a new group: the initial membership goes in snapshot.membership with index 0.
};

enum class ReadMode {
  kReadIndex,  // confirm leadership with a quorum round (always safe)
  kLease,      // trust the leader's lease if it holds (needs bounded clock drift), else ReadIndex
};

class Raft {
 public:
  // Asserts that the recovered state is consistent (entries contiguous after the snapshot).
  Raft(const RaftOptions& options, RaftRecoveredState recovered);

  // Time passes by one tick.
  void tick();
  // A message from a peer. Messages for another group or replica, or malformed, are refused
  // with INVALID_ARGUMENT (they come over the network).
  Status step(const proto::RaftMessage& message);
  // Appends a command to the log if this replica is the leader: returns its index.
  // FAILED_PRECONDITION "not the leader" (see leader() for where to go), UNAVAILABLE during a
  // leadership transfer, RESOURCE_EXHAUSTED beyond max_uncommitted_bytes.
  Result<uint64_t> propose(std::string data);
  // Proposes a membership change (one at a time: FAILED_PRECONDITION while another is pending).
  Result<uint64_t> propose_membership_change(const proto::RaftMembershipChange& change);
  // Starts an election now (a new group's bootstrap, or tests).
  void campaign();
  // Hands leadership to `target`, which must be a voter. The leader stops taking proposals until
  // the transfer ends (the target wins, or an election timeout passes).
  Status transfer_leadership(ReplicaId target);
  // Asks for a read index; a ReadState with `context` comes out in a Ready (FAILED_PRECONDITION
  // without a known leader, RESOURCE_EXHAUSTED beyond max_pending_reads). A follower asks its
  // leader.
  Status read_index(std::string context, ReadMode mode);
  // Whether the leader may go quiet now: every follower not in `suspected` holds the whole log,
  // everything is committed in this term, and nothing (proposal, read, transfer, membership
  // change, joint configuration, unsent output) is pending.
  bool can_quiesce(const std::function<bool(ReplicaId)>& suspected) const;
  // The leader goes quiet (can_quiesce() must hold): see the file comment.
  void quiesce();
  // Wakes a quiet replica (nothing if awake): ticks count again, a leader heartbeats at the next
  // heartbeat tick, and a follower's election timer starts over (it campaigns if no heartbeat
  // comes: how a quiet range replaces a leader that failed).
  void wake();
  bool quiesced() const { return quiesced_; }
  // The driver's report on a snapshot it streamed to `follower`.
  void report_snapshot(ReplicaId follower, bool succeeded);
  // The transport could not reach `follower`: stop pipelining to it.
  void report_unreachable(ReplicaId follower);
  // Discards the log up to `index` (at most the applied index): the driver has a durable
  // snapshot of the state machine there. Returns the metadata to store with it.
  Result<proto::RaftSnapshotMetadata> compact(uint64_t index);

  bool has_ready() const;
  Ready ready();
  void advance(const Ready& ready);
  // The state machine has applied the committed entries handed out through `index`. The driver
  // may apply them after advance(), in another fiber, and report later (never between ready()
  // and advance()); Raft puts membership changes in force, snapshots followers and allows
  // compaction only up to what was reported. An index at or below the applied one (a snapshot
  // was installed meanwhile) changes nothing.
  void applied_to(uint64_t index);

  // Introspection (for the driver, the simulator's oracle and tests).
  ReplicaId id() const { return options_.id; }
  uint64_t group() const { return options_.group; }
  Role role() const { return role_; }
  uint64_t term() const { return term_; }
  ReplicaId vote() const { return vote_; }
  ReplicaId leader() const { return leader_; }
  const RaftLog& log() const { return log_; }
  const Membership& membership() const { return membership_; }
  const Progress* progress(ReplicaId replica) const;
  ReplicaId transfer_target() const { return transfer_target_; }
  bool lease_valid() const;
  // The replica lost entries it may have acknowledged and is waiting for a leader of a later
  // term to restore them (RaftHardState.catch_up_term): no votes, no campaigns meanwhile.
  bool catching_up() const { return catch_up_term_ != 0; }
  proto::RaftHardState hard_state() const;

 private:
  struct PendingRead {
    std::string context;
    uint64_t index = 0;
    uint64_t round = 0;       // the heartbeat round that must reach a quorum
    ReplicaId requester = 0;  // a follower that forwarded it (0: local)
  };

  // Fault points (options_.fault_points): a rare but legal path, and a rare branch reached.
  bool buggify(std::string_view site) const;
  void probe(std::string_view name) const;

  // Roles.
  void become_follower(uint64_t term, ReplicaId leader, std::string reason);
  void become_pre_candidate();
  void become_candidate();
  void become_leader();
  void reset(uint64_t term);
  void start_election(bool pre_vote, bool transfer);
  void tick_election();
  void tick_heartbeat();
  bool promotable() const;
  bool in_lease() const;
  // Whether a lease of `lease_ticks` from the quorum's acknowledged heartbeat still holds.
  bool lease_holds_for(uint64_t lease_ticks) const;
  // The lease as it would be without the clock-drift allowance (for a coverage probe).
  bool lease_valid_without_drift_margin() const;
  bool has_unapplied_membership_change() const;
  void reset_randomized_election_timeout();

  // Messages.
  void send(proto::RaftMessage message);
  proto::RaftMessage make_message(proto::RaftMessageType type, ReplicaId to) const;
  Status step_by_term(const proto::RaftMessage& message, bool& handled);
  void step_leader(const proto::RaftMessage& message);
  void step_candidate(const proto::RaftMessage& message);
  void step_follower(const proto::RaftMessage& message);
  void handle_vote_request(const proto::RaftMessage& message);
  void handle_vote_response(const proto::RaftMessage& message);
  void handle_append(const proto::RaftMessage& message);
  void handle_heartbeat(const proto::RaftMessage& message);
  void handle_snapshot(const proto::RaftMessage& message);
  void handle_append_response(const proto::RaftMessage& message);
  void handle_heartbeat_response(const proto::RaftMessage& message);
  void handle_read_index_request(const proto::RaftMessage& message);
  void handle_read_index_response(const proto::RaftMessage& message);
  void handle_timeout_now();
  // Ends catching up once a leader of a later term has told us a commit index, at an entry of
  // its term, that our log holds as the leader's.
  void maybe_caught_up(const proto::RaftMessage& message, uint64_t commit_held);
  void send_timeout_now(ReplicaId to);
  void flush_batched_output();
  // Whether `message` wakes a quiet replica: all do but the quiescing heartbeat itself, a quiet
  // leader's late heartbeat answers from followers that hold its whole log, and at a quiet
  // follower a message of an earlier term or a campaign its leader's lease makes it ignore.
  bool wakes(const proto::RaftMessage& message) const;
  // A leader no longer a voter: hands leadership to a voter holding its whole log, catching one
  // up first if none does.
  void hand_over();
  // Proposes leaving a joint configuration entered with auto-leave, once it is in force.
  void maybe_leave_joint();
  // Moves the queued messages into the Ready: those that may leave before the persist, and the rest.
  void split_messages(Ready& ready);
  Status validate(const proto::RaftMessage& message) const;

  // Replication.
  void send_append(ReplicaId to, bool allow_empty);
  void send_snapshot(ReplicaId to);
  void broadcast_append();
  void send_appends_to_fill_window(ReplicaId to);
  void broadcast_heartbeat();
  void broadcast_commit();
  bool maybe_commit();
  void append_own_entries(std::vector<proto::RaftEntry> entries);
  Progress& progress_of(ReplicaId replica);
  void rebuild_progress();

  // Reads.
  void answer_read(const PendingRead& read);
  void release_reads();
  bool committed_in_current_term() const;
  uint64_t quorum_acknowledged_round() const;
  uint64_t quorum_acknowledged_tick() const;
  Status start_read(std::string context, ReadMode mode, ReplicaId requester);

  // Membership.
  void apply_membership_entry(const proto::RaftEntry& entry);
  Membership membership_at(uint64_t index) const;
  ReplicaId most_up_to_date_voter() const;

  RaftOptions options_;
  Random random_;
  RaftLog log_;
  Membership membership_;
  // Memberships that took effect after the snapshot (index -> membership), to describe a
  // snapshot at any index between it and the applied index.
  std::map<uint64_t, Membership> membership_history_;
  Membership snapshot_membership_;

  Role role_ = Role::kFollower;
  std::string role_reason_;  // why the role (or the leader) last changed: for the operator's log
  uint64_t term_ = 0;
  ReplicaId vote_ = 0;
  ReplicaId leader_ = 0;
  uint64_t catch_up_term_ = 0;
  bool restarted_ = false;        // recovered a term from disk: this instance is a restart
  bool granted_vote_ = false;     // this instance has granted a vote
  uint64_t now_ = 0;  // ticks since this instance started
  uint32_t election_elapsed_ = 0;
  uint32_t heartbeat_elapsed_ = 0;
  uint32_t randomized_election_timeout_ = 0;
  std::map<ReplicaId, bool> votes_;
  std::map<ReplicaId, Progress> progress_;
  ReplicaId transfer_target_ = 0;
  uint64_t pending_membership_index_ = 0;  // the last membership entry proposed (not yet applied)
  std::size_t uncommitted_bytes_ = 0;
  bool append_pending_ = false;  // proposals waiting to be broadcast in the next Ready

  // Heartbeat rounds: ReadIndex and the lease are confirmed by a quorum answering a round.
  uint64_t heartbeat_round_ = 0;
  std::map<uint64_t, uint64_t> round_sent_tick_;        // round -> tick it was sent (recent rounds)
  std::map<ReplicaId, uint64_t> acknowledged_round_;    // follower -> newest round it answered
  std::map<ReplicaId, uint64_t> acknowledged_tick_;     // follower -> send tick + 1 of that round
  bool heartbeat_pending_ = false;  // reads wait for a heartbeat round in the next Ready
  bool lease_revoked_ = false;      // a leadership transfer began: no lease reads in this term
  bool quiesced_ = false;           // quiet: not ticked by the driver (see the file comment)
  uint64_t leader_round_seen_ = 0;  // a follower's newest heartbeat round from its leader this term
  std::vector<PendingRead> pending_reads_;

  // Output waiting for the next Ready.
  std::vector<proto::RaftMessage> messages_;
  std::vector<ReadState> read_states_;
  std::optional<proto::RaftSnapshotMetadata> pending_snapshot_install_;
  proto::RaftHardState persisted_hard_state_;
  SoftState reported_soft_state_;
  bool ready_outstanding_ = false;
  uint64_t ready_last_entry_index_ = 0;
  uint64_t ready_last_entry_term_ = 0;
};

}  // namespace cairn::raft
