// Raft: the consensus state machine of one replica (raft.h).
#include "core/raft/raft.h"

#include <algorithm>
#include <utility>

#include "core/runtime/assert.h"

namespace cairn::raft {
namespace {

// The context of a vote request sent on a leadership transfer's behalf: voters grant it even
// inside a leader's lease, because the leader itself asked for the election.
constexpr std::string_view kTransferContext = "transfer";
// Heartbeat rounds older than this many are forgotten (their send ticks only matter for leases).
constexpr std::size_t kRememberedRounds = 256;

bool is_vote_request(proto::RaftMessageType type) {
  return type == proto::RAFT_VOTE || type == proto::RAFT_PRE_VOTE;
}

bool is_from_leader(proto::RaftMessageType type) {
  return type == proto::RAFT_APPEND || type == proto::RAFT_HEARTBEAT || type == proto::RAFT_SNAPSHOT;
}

}  // namespace

const char* role_name(Role role) {
  switch (role) {
    case Role::kFollower: return "follower";
    case Role::kPreCandidate: return "pre-candidate";
    case Role::kCandidate: return "candidate";
    case Role::kLeader: return "leader";
  }
  return "?";
}

bool Raft::buggify(std::string_view site) const {
  return options_.fault_points != nullptr && options_.fault_points->buggify(site);
}

void Raft::probe(std::string_view name) const {
  if (options_.fault_points != nullptr) options_.fault_points->probe(name);
}

Raft::Raft(const RaftOptions& options, RaftRecoveredState recovered) : options_(options), random_(options.random_seed) {
  CAIRN_ASSERT(options_.id != 0, "replica id 0 is reserved for 'none'");
  CAIRN_ASSERT(options_.election_ticks > options_.heartbeat_ticks && options_.heartbeat_ticks > 0,
               "the election timeout must be longer than the heartbeat interval");
  CAIRN_ASSERT(options_.max_inflight_appends > 0, "the in-flight window needs room for one append");
  CAIRN_ASSERT(options_.max_append_bytes <= limits::kAppendBytesMax, "an append must fit one message");
  auto membership = Membership::from_proto(recovered.snapshot.membership());
  CAIRN_ASSERT(membership.ok(), "recovered membership is invalid: " + membership.status().to_string());
  membership_ = *membership;
  snapshot_membership_ = membership_;
  log_ = RaftLog::restore(recovered.snapshot.index(), recovered.snapshot.term(), std::move(recovered.entries),
                          recovered.hard_state.commit());
  term_ = recovered.hard_state.term();
  vote_ = recovered.hard_state.vote();
  catch_up_term_ = recovered.hard_state.catch_up_term();
  restarted_ = term_ > 0;
  persisted_hard_state_ = recovered.hard_state;
  become_follower(term_, 0, "started");
  reported_soft_state_ = SoftState{.leader = leader_, .role = role_};
}

// ---------------------------------------------------------------------------------------------
// Roles and time.

void Raft::reset(uint64_t term) {
  if (term != term_) {
    term_ = term;
    vote_ = 0;
  }
  leader_ = 0;
  election_elapsed_ = 0;
  heartbeat_elapsed_ = 0;
  reset_randomized_election_timeout();
  votes_.clear();
  transfer_target_ = 0;
  progress_.clear();
  uncommitted_bytes_ = 0;
  append_pending_ = false;
  heartbeat_pending_ = false;
  lease_revoked_ = false;
  leader_round_seen_ = 0;
  acknowledged_round_.clear();
  acknowledged_tick_.clear();
  round_sent_tick_.clear();
  // Reads waiting for this replica's leadership cannot be confirmed any more: refuse them.
  if (!pending_reads_.empty()) probe("raft.read_index.refused_by_lost_leadership");
  for (const PendingRead& read : pending_reads_) answer_read(PendingRead{.context = read.context, .requester = read.requester});
  pending_reads_.clear();
}

void Raft::reset_randomized_election_timeout() {
  randomized_election_timeout_ =
      options_.election_ticks + static_cast<uint32_t>(random_.uniform(options_.election_ticks));
  // The shortest timeout allowed: followers that time out together split their votes.
  if (buggify("raft.election.shortest_timeout")) randomized_election_timeout_ = options_.election_ticks;
}

void Raft::become_follower(uint64_t term, ReplicaId leader, std::string reason) {
  reset(term);
  role_ = Role::kFollower;
  leader_ = leader;
  role_reason_ = std::move(reason);
}

void Raft::become_pre_candidate() {
  CAIRN_ASSERT(role_ != Role::kLeader, "a leader does not pre-campaign");
  // No reset: a pre-candidate keeps its term and vote; it only asks around.
  role_ = Role::kPreCandidate;
  leader_ = 0;
  votes_.clear();
  role_reason_ = "no leader heard from within the election timeout";
}

void Raft::become_candidate() {
  CAIRN_ASSERT(role_ != Role::kLeader, "a leader does not campaign");
  reset(term_ + 1);
  role_ = Role::kCandidate;
  vote_ = options_.id;
  role_reason_ = "campaigning for term " + std::to_string(term_);
}

void Raft::become_leader() {
  CAIRN_ASSERT(role_ == Role::kCandidate, "only a candidate becomes leader");
  reset(term_);
  role_ = Role::kLeader;
  leader_ = options_.id;
  role_reason_ = "won the election of term " + std::to_string(term_);
  probe("raft.election.won");
  rebuild_progress();
  // No membership change until every entry of earlier terms is applied: one may be pending.
  pending_membership_index_ = log_.last_index();
  // §3.6.2: a leader commits entries of earlier terms only through an entry of its own term.
  proto::RaftEntry noop;
  noop.set_term(term_);
  noop.set_index(log_.last_index() + 1);
  append_own_entries({noop});
}

bool Raft::promotable() const { return membership_.voters().contains(options_.id) || membership_.outgoing_voters().contains(options_.id); }

bool Raft::has_unapplied_membership_change() const {
  for (uint64_t index = log_.applied() + 1; index <= log_.committed(); ++index) {
    if (log_.entry(index).type() == proto::RAFT_ENTRY_MEMBERSHIP) return true;
  }
  return false;
}

bool Raft::in_lease() const {
  return options_.check_quorum && leader_ != 0 && election_elapsed_ < options_.election_ticks;
}

void Raft::tick() {
  CAIRN_ASSERT(!ready_outstanding_, "tick() between ready() and advance()");
  // A quiet replica's time stands still: its lease is gone and its election timer waits for a
  // wake-up (see quiesce()).
  if (quiesced_) return;
  ++now_;
  if (role_ == Role::kLeader) {
    tick_heartbeat();
  } else {
    tick_election();
  }
}

void Raft::tick_election() {
  ++election_elapsed_;
  if (promotable() && election_elapsed_ >= randomized_election_timeout_) {
    election_elapsed_ = 0;
    start_election(options_.pre_vote, false);
  }
}

void Raft::tick_heartbeat() {
  ++heartbeat_elapsed_;
  ++election_elapsed_;
  if (election_elapsed_ >= options_.election_ticks) {
    election_elapsed_ = 0;
    if (options_.check_quorum) {
      const bool quorum = membership_.has_active_quorum([&](ReplicaId replica) {
        if (replica == options_.id) return true;
        auto found = progress_.find(replica);
        return found != progress_.end() && found->second.recently_active();
      });
      for (auto& [replica, progress] : progress_) progress.set_recently_active(replica == options_.id);
      if (!quorum) {  // §6.2: a leader cut off from its quorum steps down
        probe("raft.leader.stepped_down_without_quorum");
        become_follower(term_, 0, "lost contact with a quorum of voters for an election timeout (check-quorum)");
        return;
      }
    }
    transfer_target_ = 0;  // a transfer that did not finish within an election timeout is abandoned
    // A leader handing over (no longer a voter) tries again, perhaps with another voter.
    if (!promotable()) hand_over();
    if (role_ != Role::kLeader) return;
  }
  if (heartbeat_elapsed_ >= options_.heartbeat_ticks) {
    heartbeat_elapsed_ = 0;
    // A late heartbeat: leases and check-quorum see followers fall silent.
    if (buggify("raft.heartbeat.skipped")) return;
    broadcast_heartbeat();
  }
}

void Raft::campaign() {
  CAIRN_ASSERT(!ready_outstanding_, "campaign() between ready() and advance()");
  wake();
  if (role_ != Role::kLeader) start_election(options_.pre_vote, false);
}

void Raft::start_election(bool pre_vote, bool transfer) {
  if (!promotable() || catching_up()) return;
  // A committed membership change that is not applied yet may make this replica a non-voter or
  // change the quorum it must win: campaign only once it is in force (as etcd does).
  if (!transfer && has_unapplied_membership_change()) return;
  if (pre_vote) {
    become_pre_candidate();
  } else {
    become_candidate();
    probe("raft.election.started");
  }
  const uint64_t election_term = pre_vote ? term_ + 1 : term_;
  votes_[options_.id] = true;
  const VoteResult result = membership_.vote_result(votes_);
  if (result == VoteResult::kWon) {
    if (pre_vote) {
      start_election(false, transfer);
    } else {
      become_leader();
    }
    return;
  }
  for (ReplicaId voter : membership_.members()) {
    if (voter == options_.id || !membership_.is_voter(voter)) continue;
    proto::RaftMessage request = make_message(pre_vote ? proto::RAFT_PRE_VOTE : proto::RAFT_VOTE, voter);
    request.set_term(election_term);
    request.set_index(log_.last_index());
    request.set_log_term(log_.last_term());
    if (transfer) request.set_context(std::string(kTransferContext));
    send(std::move(request));
  }
}

// ---------------------------------------------------------------------------------------------
// Messages in.

Status Raft::validate(const proto::RaftMessage& message) const {
  if (message.group() != options_.group) return Status::invalid_argument("raft message for another group");
  if (message.to() != options_.id) return Status::invalid_argument("raft message for another replica");
  if (message.from() == 0 || message.from() == options_.id) return Status::invalid_argument("raft message from an invalid sender");
  if (message.type() <= proto::RAFT_MESSAGE_UNSPECIFIED || message.type() > proto::RAFT_READ_INDEX_RESPONSE) {
    return Status::invalid_argument("unknown raft message type");
  }
  if (message.term() == 0) return Status::invalid_argument("raft message without a term");
  uint64_t expected_index = message.index() + 1;
  uint64_t previous_term = message.log_term();
  for (const proto::RaftEntry& entry : message.entries()) {
    if (message.type() != proto::RAFT_APPEND) return Status::invalid_argument("entries in a non-append message");
    if (entry.index() != expected_index || entry.term() < previous_term || entry.term() > message.term()) {
      return Status::invalid_argument("append entries are not contiguous");
    }
    if (entry.type() != proto::RAFT_ENTRY_NORMAL && entry.type() != proto::RAFT_ENTRY_MEMBERSHIP) {
      return Status::invalid_argument("unknown entry type");
    }
    ++expected_index;
    previous_term = entry.term();
  }
  return Status{};
}

Status Raft::step(const proto::RaftMessage& message) {
  CAIRN_ASSERT(!ready_outstanding_, "step() between ready() and advance()");
  CAIRN_RETURN_IF_ERROR(validate(message));
  if (wakes(message)) wake();
  bool handled = false;
  CAIRN_RETURN_IF_ERROR(step_by_term(message, handled));
  if (handled) return Status{};
  if (is_vote_request(message.type())) {
    handle_vote_request(message);
    return Status{};
  }
  switch (role_) {
    case Role::kLeader: step_leader(message); break;
    case Role::kPreCandidate:
    case Role::kCandidate: step_candidate(message); break;
    case Role::kFollower: step_follower(message); break;
  }
  return Status{};
}

Status Raft::step_by_term(const proto::RaftMessage& message, bool& handled) {
  const proto::RaftMessageType type = message.type();
  if (message.term() > term_) {
    if (is_vote_request(type) && message.context() != kTransferContext && in_lease()) {
      // §6.2/§9.6: we heard from a leader within an election timeout; a disruptive candidate
      // must not depose it (and a lease read must stay safe).
      handled = true;
      return Status{};
    }
    const bool keeps_term = type == proto::RAFT_PRE_VOTE || (type == proto::RAFT_PRE_VOTE_RESPONSE && !message.reject());
    if (!keeps_term) {
      become_follower(message.term(), is_from_leader(type) ? message.from() : 0,
                      "node " + std::to_string(message.from()) + " is at the later term " + std::to_string(message.term()));
    }
    return Status{};
  }
  if (message.term() < term_) {
    handled = true;
    if ((options_.check_quorum || options_.pre_vote) &&
        (type == proto::RAFT_APPEND || type == proto::RAFT_HEARTBEAT)) {
      // A stale leader (for example one that was partitioned) learns of the newer term and
      // steps down; without this it could keep disrupting a pre-voting, lease-holding cluster.
      send(make_message(proto::RAFT_APPEND_RESPONSE, message.from()));
    } else if (type == proto::RAFT_PRE_VOTE) {
      proto::RaftMessage response = make_message(proto::RAFT_PRE_VOTE_RESPONSE, message.from());
      response.set_reject(true);
      send(std::move(response));
    }
  }
  return Status{};
}

void Raft::handle_vote_request(const proto::RaftMessage& message) {
  const bool pre_vote = message.type() == proto::RAFT_PRE_VOTE;
  // A replica catching up may have lost entries it acknowledged: its vote could elect a leader
  // without them. It votes again once a leader has restored them.
  const bool can_vote = !catching_up() && (vote_ == message.from() || (vote_ == 0 && leader_ == 0) ||
                                          (pre_vote && message.term() > term_));
  proto::RaftMessage response =
      make_message(pre_vote ? proto::RAFT_PRE_VOTE_RESPONSE : proto::RAFT_VOTE_RESPONSE, message.from());
  // Withholding a vote is always allowed (as if the request were lost): split votes, retries.
  if (can_vote && log_.is_up_to_date(message.index(), message.log_term()) && !buggify("raft.vote.withheld")) {
    // A granted pre-vote answers in the term asked about, so the pre-candidate counts it.
    response.set_term(message.term());
    if (!pre_vote) {
      election_elapsed_ = 0;
      vote_ = message.from();
      probe("raft.vote.granted");
      if (restarted_ && !granted_vote_) probe("raft.vote.granted_after_restart");
      granted_vote_ = true;
    }
  } else {
    // A replica that never learned a term (one catching up after damage at its very start) has
    // no term to refuse a pre-vote in (a vote request would have moved it to the candidate's
    // term already), and a refusal in the asked term would move the pre-candidate to that term.
    // Silence refuses as well: the pre-candidate's election times out.
    if (term_ == 0) return;
    response.set_reject(true);
  }
  send(std::move(response));
}

void Raft::step_candidate(const proto::RaftMessage& message) {
  const proto::RaftMessageType expected =
      role_ == Role::kPreCandidate ? proto::RAFT_PRE_VOTE_RESPONSE : proto::RAFT_VOTE_RESPONSE;
  if (message.type() == expected) {
    handle_vote_response(message);
  } else if (is_from_leader(message.type())) {
    if (message.type() == proto::RAFT_SNAPSHOT) probe("raft.snapshot.installed_during_election");
    become_follower(message.term(), message.from(), "node " + std::to_string(message.from()) + " won term " +
                                                        std::to_string(message.term()));
    step_follower(message);
  }
}

void Raft::handle_vote_response(const proto::RaftMessage& message) {
  votes_[message.from()] = !message.reject();
  switch (membership_.vote_result(votes_)) {
    case VoteResult::kWon:
      if (role_ == Role::kPreCandidate) {
        start_election(false, false);
      } else {
        become_leader();
      }
      break;
    case VoteResult::kLost: become_follower(term_, 0, "lost the election of term " + std::to_string(term_)); break;
    case VoteResult::kPending: break;
  }
}

void Raft::step_follower(const proto::RaftMessage& message) {
  switch (message.type()) {
    case proto::RAFT_APPEND:
    case proto::RAFT_HEARTBEAT:
    case proto::RAFT_SNAPSHOT:
      election_elapsed_ = 0;
      if (leader_ != message.from()) {
        leader_ = message.from();
        leader_round_seen_ = 0;
        role_reason_ = "heard from the leader of term " + std::to_string(term_);
      }
      if (message.type() == proto::RAFT_APPEND) handle_append(message);
      if (message.type() == proto::RAFT_HEARTBEAT) handle_heartbeat(message);
      if (message.type() == proto::RAFT_SNAPSHOT) handle_snapshot(message);
      break;
    case proto::RAFT_TIMEOUT_NOW: handle_timeout_now(); break;
    case proto::RAFT_READ_INDEX: {
      proto::RaftMessage refusal = make_message(proto::RAFT_READ_INDEX_RESPONSE, message.from());
      refusal.set_reject(true);
      refusal.set_context(message.context());
      send(std::move(refusal));
      break;
    }
    case proto::RAFT_READ_INDEX_RESPONSE: handle_read_index_response(message); break;
    default: break;  // stale responses from an earlier role
  }
}

void Raft::handle_append(const proto::RaftMessage& message) {
  proto::RaftMessage response = make_message(proto::RAFT_APPEND_RESPONSE, message.from());
  if (membership_.empty() && log_.last_index() == 0) {
    // A blank replica (one that joins an existing group) knows no configuration, and the log
    // does not hold the group's initial one: it refuses even the empty prefix, which tells the
    // leader to send a snapshot, membership included. It holds nothing, so whatever the leader
    // counts as held here is gone (its storage was damaged or wiped). Marked so, the refusal
    // moves the leader's match back; unmarked, a leader never probes below its match, and kept
    // probing at an entry this replica had lost instead of sending the snapshot. Marked always,
    // not only while catching up, so that a replica wiped without detection rejoins too; the
    // cost is a refusal delayed past the snapshot's acknowledgement, which makes the leader
    // resend from the start once.
    response.set_reject(true);
    response.set_index(message.index());
    response.set_reject_hint(0);
    response.set_lost_entries(true);
    send(std::move(response));
    return;
  }
  if (message.index() < log_.committed()) {
    // Everything up to our commit index matches the leader's log already.
    response.set_index(log_.committed());
    send(std::move(response));
    return;
  }
  std::vector<proto::RaftEntry> entries(message.entries().begin(), message.entries().end());
  const uint64_t truncated_before = log_.suffixes_truncated();
  const std::optional<uint64_t> last_new = log_.try_append(message.index(), message.log_term(), entries);
  if (log_.suffixes_truncated() != truncated_before) probe("raft.log.suffix_truncated");
  if (last_new.has_value()) {
    log_.commit_to(std::min(message.commit(), *last_new));
    // Entries up to last_new are now the leader's own; its commit index counts if we hold it.
    if (message.commit() <= *last_new) maybe_caught_up(message, message.commit());
    response.set_index(*last_new);
  } else {
    uint64_t hint = log_.find_conflict_by_term(std::min(message.index(), log_.last_index()), message.log_term());
    // Everything up to the commit index matches the leader: a hint that low is slow but right.
    if (buggify("raft.append.reject_hint_at_commit")) hint = std::min(hint, log_.committed());
    response.set_reject(true);
    response.set_index(message.index());
    response.set_reject_hint(hint);
    response.set_log_term(log_.term(hint).value_or(0));
    response.set_lost_entries(catching_up());
  }
  send(std::move(response));
}

void Raft::handle_heartbeat(const proto::RaftMessage& message) {
  log_.commit_to(std::min(message.commit(), log_.last_index()));
  // A heartbeat's commit is at most what the leader knows we match (in its term: fresh).
  if (message.commit() <= log_.last_index()) maybe_caught_up(message, message.commit());
  // A quiescing heartbeat older than a round already seen from this leader was overtaken: the
  // leader woke since (and may hold a lease this replica must honour), so it is only a heartbeat.
  const bool overtaken = message.heartbeat_round() < leader_round_seen_;
  leader_round_seen_ = std::max(leader_round_seen_, message.heartbeat_round());
  if (message.quiesce() && !overtaken && message.commit() == log_.last_index() &&
      log_.committed() == log_.last_index() && !catching_up()) {
    // The leader went quiet holding exactly our log: nothing to answer, nothing to wait for.
    probe("raft.follower.quiesced");
    quiesced_ = true;
    return;
  }
  // The leader went quiet, but we lack some of its log: answer, which wakes it to send it.
  if (message.quiesce()) wake();
  proto::RaftMessage response = make_message(proto::RAFT_HEARTBEAT_RESPONSE, message.from());
  response.set_heartbeat_round(message.heartbeat_round());
  send(std::move(response));
}

void Raft::handle_snapshot(const proto::RaftMessage& message) {
  const proto::RaftSnapshotMetadata& snapshot = message.snapshot();
  proto::RaftMessage response = make_message(proto::RAFT_APPEND_RESPONSE, message.from());
  if (snapshot.index() <= log_.committed()) {
    response.set_index(log_.committed());
  } else if (log_.matches(snapshot.index(), snapshot.term())) {
    // We hold the snapshot's last entry: our log already contains what it covers.
    log_.commit_to(snapshot.index());
    maybe_caught_up(message, snapshot.index());
    response.set_index(snapshot.index());
  } else {
    auto membership = Membership::from_proto(snapshot.membership());
    if (!membership.ok()) return;  // a malformed snapshot is dropped; the leader will retry
    log_.restore_snapshot(snapshot.index(), snapshot.term());
    membership_ = *membership;
    snapshot_membership_ = membership_;
    membership_history_.clear();
    pending_snapshot_install_ = snapshot;
    maybe_caught_up(message, snapshot.index());
    response.set_index(snapshot.index());
  }
  send(std::move(response));
}

void Raft::maybe_caught_up(const proto::RaftMessage& message, uint64_t commit_held) {
  // A leader elected after the loss was elected without us, so (as with a crashed replica) it
  // holds every committed entry; once it has committed an entry of its own term, everything
  // committed earlier — whatever our lost acknowledgements helped commit — is at or below it.
  if (catch_up_term_ == 0 || message.term() <= catch_up_term_ || commit_held == 0) return;
  if (log_.term(commit_held) == message.term()) {
    catch_up_term_ = 0;
    probe("raft.catch_up.ended");
  }
}

void Raft::handle_timeout_now() {
  // §3.10: the leader chose us; campaign at once, without a pre-vote (the leader is alive and
  // every follower would refuse one).
  if (promotable()) start_election(false, true);
}

void Raft::step_leader(const proto::RaftMessage& message) {
  switch (message.type()) {
    case proto::RAFT_APPEND_RESPONSE: handle_append_response(message); break;
    case proto::RAFT_HEARTBEAT_RESPONSE: handle_heartbeat_response(message); break;
    case proto::RAFT_READ_INDEX: handle_read_index_request(message); break;
    default: break;
  }
}

void Raft::handle_append_response(const proto::RaftMessage& message) {
  auto found = progress_.find(message.from());
  if (found == progress_.end()) return;  // no longer a member
  Progress& progress = found->second;
  progress.set_recently_active(true);
  if (message.reject()) {
    if (message.index() == 0) {
      // Even the empty prefix was refused: a blank replica, which needs a snapshot.
      if (progress.state() != ProgressState::kSnapshot && log_.applied() > 0) send_snapshot(message.from());
      return;
    }
    uint64_t hint = message.reject_hint();
    if (message.log_term() > 0) hint = log_.find_conflict_by_term(hint, message.log_term());
    if (message.lost_entries() && hint < progress.match()) {
      progress.regressed(hint);  // what we counted as held there is gone
      send_append(message.from(), false);
      return;
    }
    if (progress.rejected(message.index(), hint)) send_append(message.from(), false);
    return;
  }
  const bool was_paused = progress.paused();
  if (!progress.acknowledge(message.index())) {
    if (was_paused && !progress.paused()) send_append(message.from(), false);
    return;
  }
  const ReplicaId follower = message.from();
  if (progress.state() == ProgressState::kProbe) {
    progress.become_replicate();
  } else if (progress.state() == ProgressState::kSnapshot && progress.match() >= progress.pending_snapshot()) {
    progress.become_probe();
    progress.become_replicate();
  }
  // Followers learn a new commit index from the next append or heartbeat anyway.
  if (maybe_commit() && !buggify("raft.commit.broadcast_deferred")) broadcast_commit();
  send_appends_to_fill_window(follower);
  // A follower that has caught up still needs to hear the commit index.
  if (progress.sent_commit() < std::min(log_.committed(), progress.match())) send_append(follower, true);
  if (follower == transfer_target_ && progress.match() == log_.last_index()) send_timeout_now(follower);
}

void Raft::handle_heartbeat_response(const proto::RaftMessage& message) {
  auto found = progress_.find(message.from());
  if (found == progress_.end()) return;
  Progress& progress = found->second;
  progress.set_recently_active(true);
  progress.heartbeat_answered();
  // A probing follower that lags gets a probe even when the log has nothing new for it: on an
  // idle group nothing else would ever find where its log ends (a new learner would wait for
  // the next client write).
  if (progress.match() < log_.last_index()) {
    send_append(message.from(), /*allow_empty=*/progress.state() == ProgressState::kProbe);
  }
  uint64_t& acknowledged = acknowledged_round_[message.from()];
  if (message.heartbeat_round() > acknowledged) {
    acknowledged = message.heartbeat_round();
    auto sent = round_sent_tick_.find(acknowledged);
    if (sent != round_sent_tick_.end()) acknowledged_tick_[message.from()] = sent->second + 1;
  }
  release_reads();
}

// ---------------------------------------------------------------------------------------------
// Messages out and replication.

proto::RaftMessage Raft::make_message(proto::RaftMessageType type, ReplicaId to) const {
  proto::RaftMessage message;
  message.set_group(options_.group);
  message.set_type(type);
  message.set_from(options_.id);
  message.set_to(to);
  message.set_term(term_);
  return message;
}

void Raft::send(proto::RaftMessage message) {
  CAIRN_ASSERT(message.to() != options_.id, "a replica never messages itself");
  messages_.push_back(std::move(message));
}

Progress& Raft::progress_of(ReplicaId replica) {
  auto found = progress_.find(replica);
  CAIRN_ASSERT(found != progress_.end(), "no progress for replica " + std::to_string(replica));
  return found->second;
}

const Progress* Raft::progress(ReplicaId replica) const {
  auto found = progress_.find(replica);
  return found == progress_.end() ? nullptr : &found->second;
}

void Raft::rebuild_progress() {
  std::map<ReplicaId, Progress> rebuilt;
  for (ReplicaId replica : membership_.members()) {
    auto existing = progress_.find(replica);
    if (existing != progress_.end()) {
      rebuilt.emplace(replica, existing->second);
    } else {
      Progress progress(log_.last_index() + 1, options_.max_inflight_appends);
      if (replica == options_.id) progress.acknowledge(log_.stable_index());
      rebuilt.emplace(replica, progress);
    }
  }
  // A leader that is not (or no longer) a member still tracks itself: its log is the source.
  if (!rebuilt.contains(options_.id)) {
    Progress self(log_.last_index() + 1, options_.max_inflight_appends);
    self.acknowledge(log_.stable_index());
    rebuilt.emplace(options_.id, self);
  }
  progress_ = std::move(rebuilt);
}

void Raft::send_append(ReplicaId to, bool allow_empty) {
  Progress& progress = progress_of(to);
  if (progress.paused()) return;
  const uint64_t previous_index = progress.next() - 1;
  const std::optional<uint64_t> previous_term = log_.term(previous_index);
  if (!previous_term.has_value()) {
    send_snapshot(to);  // the entries it needs were compacted away
    return;
  }
  // A follower that lags behind our applied index may be sent a snapshot instead of entries.
  if (progress.state() == ProgressState::kProbe && log_.applied() > 0 && progress.next() <= log_.applied() &&
      buggify("raft.append.snapshot_instead_of_entries")) {
    send_snapshot(to);
    return;
  }
  std::vector<proto::RaftEntry> entries;
  if (progress.next() <= log_.last_index()) {
    // One entry per append at the least (RaftLog::slice): the smallest legal batch.
    const std::size_t max_bytes = buggify("raft.append.one_entry") ? 0 : options_.max_append_bytes;
    entries = log_.slice(progress.next(), log_.last_index() + 1, max_bytes);
  }
  if (entries.empty() && !allow_empty) return;
  proto::RaftMessage message = make_message(proto::RAFT_APPEND, to);
  message.set_index(previous_index);
  message.set_log_term(*previous_term);
  message.set_commit(log_.committed());
  const uint64_t last_sent = entries.empty() ? previous_index : entries.back().index();
  for (proto::RaftEntry& entry : entries) *message.add_entries() = std::move(entry);
  progress.sent_append(last_sent, message.entries_size() > 0);
  progress.commit_sent(std::min(log_.committed(), last_sent));
  send(std::move(message));
}

void Raft::send_snapshot(ReplicaId to) {
  // The snapshot describes the state machine as of the applied index (ready.h): that is the
  // state the driver holds when it sends this message.
  proto::RaftMessage message = make_message(proto::RAFT_SNAPSHOT, to);
  proto::RaftSnapshotMetadata& snapshot = *message.mutable_snapshot();
  snapshot.set_index(log_.applied());
  snapshot.set_term(log_.term(log_.applied()).value());
  *snapshot.mutable_membership() = membership_.to_proto();
  progress_of(to).become_snapshot(log_.applied());
  send(std::move(message));
}

void Raft::send_appends_to_fill_window(ReplicaId to) {
  Progress& progress = progress_of(to);
  send_append(to, false);
  if (buggify("raft.append.window_left_unfilled")) return;
  // Pipelining: in the replicate state, keep sending while the window has room.
  while (progress.state() == ProgressState::kReplicate && progress.next() <= log_.last_index() && !progress.paused()) {
    const uint64_t before = progress.next();
    send_append(to, false);
    if (progress.next() == before) break;
  }
}

void Raft::broadcast_append() {
  for (ReplicaId replica : membership_.members()) {
    if (replica != options_.id && progress_.contains(replica)) send_appends_to_fill_window(replica);
  }
}

void Raft::broadcast_commit() {
  for (ReplicaId replica : membership_.members()) {
    if (replica == options_.id || !progress_.contains(replica)) continue;
    const Progress& progress = progress_of(replica);
    send_append(replica, progress.sent_commit() < std::min(log_.committed(), progress.match()));
  }
}

void Raft::broadcast_heartbeat() {
  ++heartbeat_round_;
  round_sent_tick_[heartbeat_round_] = now_;
  while (round_sent_tick_.size() > kRememberedRounds) round_sent_tick_.erase(round_sent_tick_.begin());
  for (ReplicaId replica : membership_.members()) {
    if (replica == options_.id) continue;
    Progress& progress = progress_of(replica);
    proto::RaftMessage heartbeat = make_message(proto::RAFT_HEARTBEAT, replica);
    // The commit index is only a hint to followers: a heartbeat may leave it out.
    heartbeat.set_commit(buggify("raft.heartbeat.commit_left_out") ? 0 : std::min(progress.match(), log_.committed()));
    progress.commit_sent(heartbeat.commit());
    heartbeat.set_heartbeat_round(heartbeat_round_);
    send(std::move(heartbeat));
  }
  release_reads();  // a group of one confirms its own round at once
}

bool Raft::can_quiesce(const std::function<bool(ReplicaId)>& suspected) const {
  if (role_ != Role::kLeader || quiesced_ || ready_outstanding_) return false;
  if (transfer_target_ != 0 || !pending_reads_.empty() || !read_states_.empty() || !messages_.empty()) return false;
  if (append_pending_ || heartbeat_pending_ || pending_snapshot_install_) return false;
  if (membership_.joint() || pending_membership_index_ > log_.applied()) return false;
  const uint64_t last = log_.last_index();
  if (!committed_in_current_term() || log_.committed() != last || log_.applied() != last) return false;
  for (ReplicaId replica : membership_.members()) {
    if (replica == options_.id || suspected(replica)) continue;
    auto found = progress_.find(replica);
    if (found == progress_.end() || found->second.match() != last) return false;
  }
  return true;
}

void Raft::quiesce() {
  CAIRN_ASSERT(role_ == Role::kLeader && !quiesced_, "only an awake leader quiesces");
  CAIRN_ASSERT(log_.committed() == log_.last_index(), "a quiet leader has committed its whole log");
  probe("raft.leader.quiesced");
  // A round of its own, so that a follower can tell a late quiescing heartbeat from the rounds
  // that follow a wake-up. Only followers holding the whole log are told: one on a suspected
  // node that lags gets nothing, and is caught up when it is trusted again (or campaigns).
  const uint64_t round = ++heartbeat_round_;
  for (ReplicaId replica : membership_.members()) {
    if (replica == options_.id || progress_of(replica).match() != log_.last_index()) continue;
    proto::RaftMessage heartbeat = make_message(proto::RAFT_HEARTBEAT, replica);
    heartbeat.set_commit(log_.committed());
    heartbeat.set_heartbeat_round(round);
    heartbeat.set_quiesce(true);
    send(std::move(heartbeat));
  }
  // The lease was measured in ticks, which stop now: after a wake-up, acknowledgements of rounds
  // sent before it (even ones that arrive late) would look recent. A quiet leader has no lease,
  // and earns one with a round sent after it wakes.
  acknowledged_tick_.clear();
  round_sent_tick_.clear();
  quiesced_ = true;
  // A leader that is a quorum alone (the only voter) keeps its lease: nobody else can be elected.
  CAIRN_ASSERT(!lease_valid() || quorum_acknowledged_tick() == now_ + 1,
               "a quiet leader holds no lease, unless it is a quorum alone");
}

bool Raft::wakes(const proto::RaftMessage& message) const {
  if (message.type() == proto::RAFT_HEARTBEAT && message.quiesce()) return false;
  if (quiesced_ && role_ != Role::kLeader) {
    // A woken follower's election timer runs again, and its leader, quiet, sends nothing to stop
    // it: a wake-up the leader does not share ends in an election. So a quiet follower stays quiet
    // for what changes nothing here: a message of an earlier term (answered or dropped as it is),
    // and another node's campaign that its leader's lease makes it ignore. (Seed 867993944799 of
    // raft_kv_quiet_ranges: one follower's false suspicion of the leader woke the others with its
    // pre-vote, and they deposed the live, quiet leader as the run ended.) The leader's own
    // campaign wakes it: the leader restarted, and this follower is part of the quorum it needs
    // (seed 506453381587).
    if (message.term() < term_) return false;
    if (is_vote_request(message.type()) && message.term() > term_ && message.from() != leader_ &&
        message.context() != kTransferContext && in_lease()) {
      return false;
    }
  }
  // The answers to rounds sent before going quiet arrive after it: from a follower that holds the
  // whole log they change nothing (and with a round trip longer than the heartbeat interval,
  // waking for them would undo every quiesce). An answer to the quiescing round itself (the
  // newest) says the follower could not go quiet: that one wakes.
  if (quiesced_ && role_ == Role::kLeader && message.type() == proto::RAFT_HEARTBEAT_RESPONSE &&
      message.term() == term_ && message.heartbeat_round() < heartbeat_round_) {
    auto found = progress_.find(message.from());
    return found == progress_.end() || found->second.match() < log_.last_index();
  }
  return true;
}

void Raft::wake() {
  CAIRN_ASSERT(!ready_outstanding_, "wake() between ready() and advance()");
  if (!quiesced_) return;
  quiesced_ = false;
  probe("raft.woken");
  if (role_ == Role::kLeader) {
    // Check-quorum starts over: followers prove themselves active again from now on.
    election_elapsed_ = 0;
    for (auto& [replica, progress] : progress_) progress.set_recently_active(replica == options_.id);
    return;
  }
  // A follower honours its leader's lease for a whole timeout from now, as if it had just heard
  // from it, and campaigns after a randomized one unless heartbeats resume: a leader that is only
  // suspected (a lost ping) keeps its lease, one that failed is replaced within two timeouts.
  election_elapsed_ = 0;
}

void Raft::send_timeout_now(ReplicaId to) {
  probe("raft.transfer.timeout_now_sent");
  lease_revoked_ = true;  // the target may win while our lease has not expired
  send(make_message(proto::RAFT_TIMEOUT_NOW, to));
}

bool Raft::maybe_commit() {
  const uint64_t quorum_index =
      membership_.committed_index([&](ReplicaId replica) {
        auto found = progress_.find(replica);
        return found == progress_.end() ? uint64_t{0} : found->second.match();
      });
  const uint64_t old_commit = log_.committed();
  // §3.6.2: counting replicas commits only entries of the current term. A quorum holding an entry
  // of an earlier term is figure 8's moment: that entry may still be overwritten.
  if (quorum_index > old_commit && log_.term(quorum_index) != term_) probe("raft.commit.earlier_term_withheld");
  if (quorum_index <= old_commit || log_.term(quorum_index) != term_) return false;
  // Entries of earlier terms before it are committed with it, indirectly (figure 8).
  if (log_.term(old_commit + 1) != term_) probe("raft.commit.earlier_term_indirectly");
  for (uint64_t index = old_commit + 1; index <= quorum_index; ++index) {
    const std::size_t bytes = entry_bytes(log_.entry(index));
    uncommitted_bytes_ -= std::min(uncommitted_bytes_, bytes);
  }
  log_.commit_to(quorum_index);
  // Reads that arrived before our first commit in this term can now be given an index.
  for (PendingRead& read : pending_reads_) {
    if (read.index == 0) read.index = log_.committed();
  }
  release_reads();
  return true;
}

void Raft::append_own_entries(std::vector<proto::RaftEntry> entries) {
  for (const proto::RaftEntry& entry : entries) uncommitted_bytes_ += entry_bytes(entry);
  log_.append(std::move(entries));
  append_pending_ = true;
}

Result<uint64_t> Raft::propose(std::string data) {
  CAIRN_ASSERT(!ready_outstanding_, "propose() between ready() and advance()");
  wake();
  if (role_ != Role::kLeader) return Status::failed_precondition("not the leader");
  if (transfer_target_ != 0) return Status::unavailable("leadership is being transferred");
  if (uncommitted_bytes_ + data.size() > options_.max_uncommitted_bytes) {
    return Status::resource_exhausted("too many uncommitted proposals");
  }
  proto::RaftEntry entry;
  entry.set_term(term_);
  entry.set_index(log_.last_index() + 1);
  entry.set_data(std::move(data));
  const uint64_t index = entry.index();
  append_own_entries({std::move(entry)});
  probe("raft.proposal.appended");
  return index;
}

Result<uint64_t> Raft::propose_membership_change(const proto::RaftMembershipChange& change) {
  CAIRN_ASSERT(!ready_outstanding_, "propose_membership_change() between ready() and advance()");
  wake();
  if (role_ != Role::kLeader) return Status::failed_precondition("not the leader");
  if (transfer_target_ != 0) return Status::unavailable("leadership is being transferred");
  if (pending_membership_index_ > log_.applied()) {
    return Status::failed_precondition("another membership change is still being applied");
  }
  CAIRN_RETURN_IF_ERROR(apply_membership_change(membership_, change).status());
  proto::RaftEntry entry;
  entry.set_term(term_);
  entry.set_index(log_.last_index() + 1);
  entry.set_type(proto::RAFT_ENTRY_MEMBERSHIP);
  entry.set_data(change.SerializeAsString());
  pending_membership_index_ = entry.index();
  append_own_entries({std::move(entry)});
  return pending_membership_index_;
}

Status Raft::transfer_leadership(ReplicaId target) {
  CAIRN_ASSERT(!ready_outstanding_, "transfer_leadership() between ready() and advance()");
  wake();
  if (role_ != Role::kLeader) return Status::failed_precondition("not the leader");
  if (target == options_.id) return Status{};
  if (!membership_.voters().contains(target)) return Status::invalid_argument("the target is not a voter");
  if (transfer_target_ == target) return Status{};
  transfer_target_ = target;
  election_elapsed_ = 0;  // the transfer is abandoned after one election timeout
  lease_revoked_ = true;
  Progress& progress = progress_of(target);
  if (progress.match() == log_.last_index()) {
    send_timeout_now(target);
  } else {
    // Catch the target up from what it is known to hold: appends in flight may have been lost.
    if (progress.state() == ProgressState::kReplicate) progress.become_probe();
    send_append(target, false);
  }
  return Status{};
}

void Raft::report_snapshot(ReplicaId follower, bool succeeded) {
  CAIRN_ASSERT(!ready_outstanding_, "report_snapshot() between ready() and advance()");
  auto found = progress_.find(follower);
  if (role_ != Role::kLeader || found == progress_.end() || found->second.state() != ProgressState::kSnapshot) return;
  Progress& progress = found->second;
  if (succeeded) {
    progress.become_probe();  // from the snapshot's index; the follower's answer confirms it
  } else {
    progress.snapshot_failed();
  }
}

void Raft::report_unreachable(ReplicaId follower) {
  CAIRN_ASSERT(!ready_outstanding_, "report_unreachable() between ready() and advance()");
  auto found = progress_.find(follower);
  if (role_ == Role::kLeader && found != progress_.end() && found->second.state() == ProgressState::kReplicate) {
    found->second.become_probe();
  }
}

// ---------------------------------------------------------------------------------------------
// Reads.

bool Raft::committed_in_current_term() const { return log_.term(log_.committed()) == term_; }

uint64_t Raft::quorum_acknowledged_round() const {
  return membership_.committed_index([&](ReplicaId replica) {
    if (replica == options_.id) return heartbeat_round_;
    auto found = acknowledged_round_.find(replica);
    return found == acknowledged_round_.end() ? uint64_t{0} : found->second;
  });
}

uint64_t Raft::quorum_acknowledged_tick() const {
  return membership_.committed_index([&](ReplicaId replica) {
    if (replica == options_.id) return now_ + 1;
    auto found = acknowledged_tick_.find(replica);
    return found == acknowledged_tick_.end() ? uint64_t{0} : found->second;
  });
}

bool Raft::lease_valid() const {
  // Followers ignore candidates for election_ticks after hearing from us (in their clock, which
  // may run fast by up to the drift): measured from when we *sent* the acknowledged heartbeat.
  const uint64_t lease_ticks = options_.election_ticks > options_.max_clock_drift_ticks
                                   ? options_.election_ticks - options_.max_clock_drift_ticks
                                   : 0;
  return lease_holds_for(lease_ticks);
}

bool Raft::lease_valid_without_drift_margin() const { return lease_holds_for(options_.election_ticks); }

bool Raft::lease_holds_for(uint64_t lease_ticks) const {
  if (role_ != Role::kLeader || !options_.check_quorum || lease_revoked_ || !committed_in_current_term()) return false;
  const uint64_t acknowledged = quorum_acknowledged_tick();
  if (acknowledged == 0) return false;
  return now_ + 1 < acknowledged + lease_ticks;
}

Status Raft::read_index(std::string context, ReadMode mode) {
  CAIRN_ASSERT(!ready_outstanding_, "read_index() between ready() and advance()");
  wake();
  if (role_ == Role::kLeader) return start_read(std::move(context), mode, 0);
  if (leader_ == 0) return Status::failed_precondition("no leader known");
  proto::RaftMessage request = make_message(proto::RAFT_READ_INDEX, leader_);
  request.set_context(std::move(context));
  request.set_lease(mode == ReadMode::kLease);
  send(std::move(request));
  return Status{};
}

void Raft::handle_read_index_request(const proto::RaftMessage& message) {
  const Status started =
      start_read(message.context(), message.lease() ? ReadMode::kLease : ReadMode::kReadIndex, message.from());
  if (!started.ok()) answer_read(PendingRead{.context = message.context(), .requester = message.from()});
}

Status Raft::start_read(std::string context, ReadMode mode, ReplicaId requester) {
  if (pending_reads_.size() >= options_.max_pending_reads) return Status::resource_exhausted("too many pending reads");
  if (mode == ReadMode::kLease) {
    // A lease read may always fall back to a ReadIndex round.
    if (lease_valid() && !buggify("raft.lease.declined")) {
      answer_read(PendingRead{.context = std::move(context), .index = log_.committed(), .requester = requester});
      return Status{};
    }
    if (lease_valid_without_drift_margin()) probe("raft.lease.refused_within_drift_margin");
  }
  // Without a commit in this term our commit index may lag the true one: wait for the no-op.
  const uint64_t index = committed_in_current_term() ? log_.committed() : 0;
  // A read may wait for a later heartbeat round than the next one: slower, never wrong.
  const uint64_t round = heartbeat_round_ + (buggify("raft.read_index.later_round") ? 2 : 1);
  pending_reads_.push_back(
      PendingRead{.context = std::move(context), .index = index, .round = round, .requester = requester});
  heartbeat_pending_ = true;
  return Status{};
}

void Raft::answer_read(const PendingRead& read) {
  if (read.requester == 0) {
    read_states_.push_back(ReadState{.index = read.index, .context = read.context});
    return;
  }
  proto::RaftMessage response = make_message(proto::RAFT_READ_INDEX_RESPONSE, read.requester);
  response.set_context(read.context);
  response.set_index(read.index);
  response.set_reject(read.index == 0);
  send(std::move(response));
}

void Raft::handle_read_index_response(const proto::RaftMessage& message) {
  read_states_.push_back(ReadState{.index = message.reject() ? 0 : message.index(), .context = message.context()});
}

void Raft::release_reads() {
  if (pending_reads_.empty()) return;
  const uint64_t confirmed_round = quorum_acknowledged_round();
  std::size_t released = 0;
  while (released < pending_reads_.size() && pending_reads_[released].index != 0 &&
         pending_reads_[released].round <= confirmed_round) {
    answer_read(pending_reads_[released]);
    ++released;
  }
  pending_reads_.erase(pending_reads_.begin(), pending_reads_.begin() + static_cast<std::ptrdiff_t>(released));
}

// ---------------------------------------------------------------------------------------------
// Membership and compaction.

void Raft::apply_membership_entry(const proto::RaftEntry& entry) {
  proto::RaftMembershipChange change;
  if (!change.ParseFromString(entry.data())) return;  // every replica skips it alike
  auto changed = apply_membership_change(membership_, change);
  if (!changed.ok()) return;  // invalid against the membership it meets: skipped everywhere
  probe(changed->joint() ? "raft.membership.joint_entered"
                         : membership_.joint() ? "raft.membership.joint_left" : "raft.membership.simple_change");
  membership_ = *changed;
  membership_history_[entry.index()] = membership_;
  if (role_ != Role::kLeader) return;
  // A replica this change removes hears the commit index once more, so that it applies its own
  // removal and says so, rather than wait for a leader that no longer talks to it.
  for (const auto& [replica, progress] : progress_) {
    if (replica != options_.id && !membership_.contains(replica)) {
      probe("raft.membership.removed_member_told");
      send_append(replica, /*allow_empty=*/true);
    }
  }
  const std::map<ReplicaId, Progress> progress_before = progress_;
  rebuild_progress();
  // A replica that just joined is probed at once, traffic or not, so that it starts catching up
  // now rather than at the next heartbeat's answer.
  for (ReplicaId replica : membership_.members()) {
    if (replica != options_.id && !progress_before.contains(replica)) {
      probe("raft.membership.new_member_probed");
      send_append(replica, /*allow_empty=*/true);
    }
  }
  if (transfer_target_ != 0 && !membership_.voters().contains(transfer_target_)) transfer_target_ = 0;
  if (!promotable()) {
    probe("raft.leader.removed_itself");
    hand_over();
  }
}

void Raft::hand_over() {
  CAIRN_ASSERT(role_ == Role::kLeader && !promotable(), "only a leader that is no longer a voter hands over");
  // §4.2.2: a leader that is no longer a voter steps down once the change is in force. It hands
  // over to a voter that holds its whole log, so the group need not wait out an election
  // timeout (the followers' lease would make them ignore anyone else until then) — and so that
  // no entry it appended is left only where no voter can get it: entries held by learners alone
  // make the learners refuse every candidate's vote, and the learners cannot campaign (a fresh
  // seed of raft_kv_swarm stalled so). Until a voter has caught up, it keeps leading, refusing
  // proposals, and catches one up as a leadership transfer does.
  if (const ReplicaId successor = most_up_to_date_voter(); successor != 0) {
    send_timeout_now(successor);
    become_follower(term_, 0, "no longer a voter of the configuration");
    return;
  }
  probe("raft.leader.handover_waits_for_catch_up");
  ReplicaId best = 0;
  for (ReplicaId voter : membership_.voters()) {
    auto found = progress_.find(voter);
    if (found == progress_.end()) continue;
    if (best == 0 || found->second.match() > progress_.at(best).match()) best = voter;
  }
  if (best != 0) (void)transfer_leadership(best);
}

ReplicaId Raft::most_up_to_date_voter() const {
  CAIRN_ASSERT(role_ == Role::kLeader, "only a leader knows how far voters are");
  for (ReplicaId voter : membership_.voters()) {
    auto found = progress_.find(voter);
    if (voter != options_.id && found != progress_.end() && found->second.match() == log_.last_index()) return voter;
  }
  return 0;
}

Membership Raft::membership_at(uint64_t index) const {
  auto found = membership_history_.upper_bound(index);
  if (found == membership_history_.begin()) return snapshot_membership_;
  return std::prev(found)->second;
}

Result<proto::RaftSnapshotMetadata> Raft::compact(uint64_t index) {
  CAIRN_ASSERT(!ready_outstanding_, "compact() between ready() and advance()");
  if (index > log_.applied()) return Status::failed_precondition("cannot compact past the applied index");
  if (index > log_.snapshot_index()) {
    const Membership at_index = membership_at(index);
    log_.compact(index);
    snapshot_membership_ = at_index;
    membership_history_.erase(membership_history_.begin(), membership_history_.upper_bound(index));
  }
  proto::RaftSnapshotMetadata metadata;
  metadata.set_index(log_.snapshot_index());
  metadata.set_term(log_.snapshot_term());
  *metadata.mutable_membership() = snapshot_membership_.to_proto();
  return metadata;
}

// ---------------------------------------------------------------------------------------------
// Ready and advance.

proto::RaftHardState Raft::hard_state() const {
  proto::RaftHardState state;
  state.set_term(term_);
  state.set_vote(vote_);
  state.set_commit(log_.committed());
  state.set_catch_up_term(catch_up_term_);
  return state;
}

void Raft::flush_batched_output() {
  if (append_pending_ && role_ == Role::kLeader) broadcast_append();
  append_pending_ = false;
  if (heartbeat_pending_ && role_ == Role::kLeader) broadcast_heartbeat();
  heartbeat_pending_ = false;
}

bool Raft::has_ready() const {
  if (ready_outstanding_) return false;
  const proto::RaftHardState current = hard_state();
  const bool hard_state_changed = current.term() != persisted_hard_state_.term() ||
                                  current.vote() != persisted_hard_state_.vote() ||
                                  current.commit() != persisted_hard_state_.commit() ||
                                  current.catch_up_term() != persisted_hard_state_.catch_up_term();
  return append_pending_ || heartbeat_pending_ || !messages_.empty() || !read_states_.empty() ||
         hard_state_changed || pending_snapshot_install_.has_value() || log_.stable_index() < log_.last_index() ||
         log_.has_next_committed_entries() || !(SoftState{.leader = leader_, .role = role_} == reported_soft_state_);
}

void Raft::split_messages(Ready& ready) {
  // A leader's appends and heartbeats speak only for what it sends, never for its own disk
  // (ready.h); everything else — votes, acknowledgements, snapshots — waits for the persist.
  const bool leading = role_ == Role::kLeader;
  for (proto::RaftMessage& message : messages_) {
    const bool promises_nothing =
        leading && (message.type() == proto::RAFT_APPEND || message.type() == proto::RAFT_HEARTBEAT);
    (promises_nothing ? ready.messages : ready.messages_after_persist).push_back(std::move(message));
  }
  messages_.clear();
  for (const proto::RaftMessage& message : ready.messages) {
    CAIRN_ASSERT(message.term() == term_, "a message that leaves before the persist speaks for the current term");
  }
}

Ready Raft::ready() {
  CAIRN_ASSERT(!ready_outstanding_, "ready() called twice without advance()");
  flush_batched_output();
  Ready ready;
  const SoftState soft{.leader = leader_, .role = role_, .reason = role_reason_};
  if (!(soft == reported_soft_state_)) ready.soft_state = soft;
  const proto::RaftHardState current = hard_state();
  const bool promise_changed = current.term() != persisted_hard_state_.term() ||
                               current.vote() != persisted_hard_state_.vote() ||
                               current.catch_up_term() != persisted_hard_state_.catch_up_term();
  if (promise_changed || current.commit() != persisted_hard_state_.commit()) ready.hard_state = current;
  ready.snapshot = pending_snapshot_install_;
  ready.entries = log_.unstable_entries();
  ready.must_sync = promise_changed || !ready.entries.empty();
  split_messages(ready);
  ready.committed_entries = log_.next_committed_entries(options_.max_committed_bytes_per_ready);
  ready.read_states = std::move(read_states_);
  read_states_.clear();
  ready_outstanding_ = true;
  return ready;
}

void Raft::advance(const Ready& ready) {
  CAIRN_ASSERT(ready_outstanding_, "advance() without ready()");
  ready_outstanding_ = false;
  if (ready.soft_state) reported_soft_state_ = *ready.soft_state;
  if (ready.hard_state) persisted_hard_state_ = *ready.hard_state;
  if (ready.snapshot && pending_snapshot_install_ && pending_snapshot_install_->index() == ready.snapshot->index()) {
    pending_snapshot_install_.reset();
  }
  if (!ready.entries.empty()) log_.stable_to(ready.entries.back().index(), ready.entries.back().term());
  // Entries at or below a snapshot installed meanwhile were handed out by the snapshot.
  if (!ready.committed_entries.empty() && ready.committed_entries.back().index() > log_.applying()) {
    log_.applying_to(ready.committed_entries.back().index());
  }
  if (role_ != Role::kLeader) return;
  // The leader's own entries count toward a quorum only once they are durable.
  if (progress_of(options_.id).acknowledge(log_.stable_index()) && maybe_commit()) broadcast_commit();
  maybe_leave_joint();
}

void Raft::applied_to(uint64_t index) {
  CAIRN_ASSERT(!ready_outstanding_, "applied_to() between ready() and advance()");
  CAIRN_ASSERT(index <= log_.applying(), "applied_to(" + std::to_string(index) + ") beyond the entries handed out");
  if (index <= log_.applied()) return;
  for (uint64_t next = log_.applied() + 1; next <= index; ++next) {
    const proto::RaftEntry& entry = log_.entry(next);
    if (entry.type() != proto::RAFT_ENTRY_MEMBERSHIP) continue;
    log_.applied_to(next);
    apply_membership_entry(entry);
  }
  log_.applied_to(index);
  if (role_ != Role::kLeader) return;
  // A configuration now in force may complete a quorum the old one lacked.
  if (maybe_commit()) broadcast_commit();
  maybe_leave_joint();
}

void Raft::maybe_leave_joint() {
  CAIRN_ASSERT(role_ == Role::kLeader, "only a leader proposes leaving a joint configuration");
  // §4.3: a joint configuration entered with auto-leave is left as soon as it is in force.
  if (membership_.joint() && membership_.auto_leave() && pending_membership_index_ <= log_.applied() &&
      transfer_target_ == 0 && !buggify("raft.membership.auto_leave_deferred")) {
    (void)propose_membership_change(proto::RaftMembershipChange{});
  }
}

}  // namespace cairn::raft
