// One range's replica on a node (range_replica.h).
#include "core/node/range_replica.h"

#include <algorithm>

#include "core/runtime/timeout.h"

namespace cairn::node {
namespace {

constexpr std::string_view kComponent = "raft";

}  // namespace

RangeReplica::RangeReplica(Runtime& runtime, RangeId range, const RangeReplicaOptions& options,
                           std::shared_ptr<node::StateMachine> state_machine, std::unique_ptr<raft::Raft> raft,
                           StoreInbox& inbox)
    : runtime_(&runtime),
      range_(range),
      options_(options),
      state_machine_(std::move(state_machine)),
      raft_(std::move(raft)),
      inbox_(&inbox),
      metrics_(find_metrics(runtime.metrics(), range)) {
  CAIRN_ASSERT(range_ != 0 && state_machine_ != nullptr && raft_ != nullptr);
  CAIRN_ASSERT(options_.snapshot_chunk_bytes > 0 && options_.snapshot_chunk_bytes <= limits::kSnapshotChunkTargetBytesMax,
               "a snapshot chunk must fit one message");
  durable_applied_ = state_machine_->applied().index();
  refresh_status();
}

RangeReplica::~RangeReplica() {
  fail_pending(Status::cancelled("the replica stopped"));
  metrics_.is_leader.set(0);  // the gauge outlives the replica; a stopped replica leads nothing
}

RangeReplica::Metrics RangeReplica::find_metrics(metrics::MetricsRegistry& registry, RangeId range) {
  const metrics::Labels labels = {{"group", std::to_string(range)}};
  return Metrics{
      .proposals = registry.counter("cairn_raft_proposals_total",
                                    "Proposals (commands and membership changes) this replica appended as leader.",
                                    labels),
      .leader_changes = registry.counter("cairn_raft_leader_changes_total",
                                         "Times this replica learned of a leader other than the one it knew.", labels),
      .term = registry.gauge("cairn_raft_term", "This replica's current Raft term.", labels),
      .commit_index = registry.gauge("cairn_raft_commit_index", "The highest log index this replica knows committed.",
                                     labels),
      .applied_index = registry.gauge("cairn_raft_applied_index",
                                      "The highest log index this replica's state machine applied.", labels),
      .is_leader = registry.gauge("cairn_raft_is_leader", "1 while this replica is the group's leader, else 0.",
                                  labels)};
}

// ---------------------------------------------------------------------------------------------
// Client side.

template <typename T, typename Request>
Result<T> RangeReplica::submit(Request request, const std::shared_ptr<Promise<T>>& promise, Duration timeout) {
  if (!failure_.ok()) return Status::unavailable("the replica stopped: " + failure_.to_string());
  if (pending_proposals_.size() + pending_reads_.size() >= options_.max_pending_requests) {
    return Status::resource_exhausted("too many requests waiting for the replica");
  }
  if (!inbox_->try_send(std::move(request)).ok()) return Status::resource_exhausted("the node's inbox is full");
  Future<T> future = promise->future();
  return with_timeout(*runtime_, timeout, [&] { return future.get(); });
}

Result<ProposalOutcome> RangeReplica::propose(std::string command, Duration timeout) {
  auto promise = std::make_shared<Promise<ProposalOutcome>>();
  return submit(ProposeRequest{.range = range_, .data = std::move(command), .membership = false, .promise = promise},
                promise, timeout);
}

Result<uint64_t> RangeReplica::change_membership(const proto::RaftMembershipChange& change, Duration timeout) {
  auto promise = std::make_shared<Promise<ProposalOutcome>>();
  auto outcome = submit(
      ProposeRequest{.range = range_, .data = change.SerializeAsString(), .membership = true, .promise = promise},
      promise, timeout);
  if (!outcome.ok()) return outcome.status();
  return outcome->index;
}

Result<uint64_t> RangeReplica::read_barrier(raft::ReadMode mode, Duration timeout) {
  auto promise = std::make_shared<Promise<uint64_t>>();
  return submit(ReadRequest{.range = range_, .mode = mode, .promise = promise}, promise, timeout);
}

Status RangeReplica::transfer_leadership(NodeId target, Duration timeout) {
  auto promise = std::make_shared<Promise<bool>>();
  return submit(TransferRequest{.range = range_, .target = target, .promise = promise}, promise, timeout).status();
}

MembershipView RangeReplica::membership_view() const {
  MembershipView view{.membership = raft_->membership(), .matched = {}, .commit = raft_->log().committed()};
  if (raft_->role() == raft::Role::kLeader) {
    for (raft::ReplicaId member : view.membership.members()) {
      const raft::Progress* progress = raft_->progress(member);
      view.matched[member] = progress == nullptr ? 0 : progress->match();
    }
  }
  return view;
}

// ---------------------------------------------------------------------------------------------
// Loop side: inputs.

void RangeReplica::step(const proto::RaftMessage& message) {
  // A message Raft refuses (a stale term, a malformed one) is dropped as the network might.
  (void)raft_->step(message);
}

bool RangeReplica::tick(uint32_t quiesce_after_ticks, const std::function<bool(NodeId)>& suspected) {
  CAIRN_ASSERT(!raft_->quiesced(), "a quiet replica is not ticked");
  // Judged before the tick, whose own heartbeats would count as work: the last round sent
  // everything there was.
  const bool nothing_waits = pending_proposals_.empty() && pending_reads_.empty() && reads_waiting_for_apply_.empty() &&
                             incoming_snapshots_.empty() && !received_snapshot_ && pending_transfer_ == nullptr;
  const bool idle = quiesce_after_ticks > 0 && nothing_waits && raft_->can_quiesce(suspected);
  idle_ticks_ = idle ? idle_ticks_ + 1 : 0;
  if (idle && idle_ticks_ >= quiesce_after_ticks) {
    raft_->quiesce();
    idle_ticks_ = 0;
    return true;
  }
  raft_->tick();
  return raft_->quiesced();
}

void RangeReplica::handle_proposal(ProposeRequest& request) {
  if (runtime_->buggify("replica.proposal.refused_as_busy")) {
    request.promise->set_error(Status::resource_exhausted("the replica is busy (buggify)"));
    return;
  }
  Result<uint64_t> index = Status::internal("unreachable");
  if (request.membership) {
    proto::RaftMembershipChange change;
    if (!change.ParseFromString(request.data)) {
      request.promise->set_error(Status::invalid_argument("malformed membership change"));
      return;
    }
    index = raft_->propose_membership_change(change);
  } else {
    index = raft_->propose(std::move(request.data));
  }
  if (!index.ok()) {
    request.promise->set_error(index.status());
    return;
  }
  pending_proposals_[*index] = PendingProposal{.term = raft_->term(), .promise = request.promise};
  metrics_.proposals.add();
}

void RangeReplica::handle_read(ReadRequest& request) {
  if (runtime_->buggify("replica.read.refused_as_unavailable")) {
    request.promise->set_error(Status::unavailable("the read could not be confirmed (buggify)"));
    return;
  }
  const std::string context = std::to_string(++next_read_context_);
  const Status started = raft_->read_index(context, request.mode);
  if (!started.ok()) {
    request.promise->set_error(started.code() == StatusCode::kFailedPrecondition
                                   ? Status::unavailable("no leader to confirm the read")
                                   : started);
    return;
  }
  pending_reads_[context] = request.promise;
}

void RangeReplica::handle_transfer(TransferRequest& request) {
  const Status started = raft_->transfer_leadership(request.target);
  if (!started.ok() || request.target == runtime_->node_id()) {
    request.promise->set_result(started.ok() ? Result<bool>(true) : Result<bool>(started));
    return;
  }
  if (pending_transfer_) pending_transfer_->set_error(Status::cancelled("another transfer started"));
  pending_transfer_ = request.promise;
  pending_transfer_target_ = request.target;
}

void RangeReplica::check_snapshot(NodeId follower, uint64_t index) {
  const raft::Progress* progress = raft_->progress(follower);
  if (progress != nullptr && progress->state() == raft::ProgressState::kSnapshot &&
      progress->pending_snapshot() <= index) {
    raft_->report_snapshot(follower, false);
    ++failed_snapshot_streams_[follower];
  } else if (progress == nullptr || progress->state() != raft::ProgressState::kSnapshot) {
    failed_snapshot_streams_.erase(follower);  // it was installed, or the follower is gone
  }
}

uint32_t RangeReplica::snapshot_chunk_copies(NodeId follower) const {
  auto found = failed_snapshot_streams_.find(follower);
  const uint32_t copies = found == failed_snapshot_streams_.end() ? 1 : std::min(1 + found->second, kSnapshotChunkCopiesMax);
  CAIRN_ASSERT(copies >= 1 && copies <= kSnapshotChunkCopiesMax, "each chunk is sent once to three times");
  return copies;
}

void RangeReplica::receive_chunk(proto::RaftSnapshotChunk& chunk) {
  if (chunk.chunks() == 0 || chunk.chunk() >= chunk.chunks() || chunk.to() != runtime_->node_id()) return;
  IncomingSnapshot& stream = incoming_snapshots_[chunk.from()];
  const auto stream_of = [](uint64_t term, uint64_t index) { return std::pair{term, index}; };
  if (stream_of(chunk.term(), chunk.snapshot_index()) < stream_of(stream.term, stream.index)) return;  // a stale one
  if (stream.term != chunk.term() || stream.index != chunk.snapshot_index() || stream.chunks != chunk.chunks()) {
    stream = IncomingSnapshot{.from = chunk.from(), .term = chunk.term(), .index = chunk.snapshot_index(),
                              .chunks = chunk.chunks(), .bytes = 0, .parts = {}, .message = std::nullopt};
  }
  if (stream.parts.contains(chunk.chunk())) return;  // a duplicate
  stream.bytes += chunk.data().size();
  if (stream.bytes > options_.max_snapshot_bytes) {
    incoming_snapshots_.erase(chunk.from());
    runtime_->logger().log(LogLevel::kWarning, kComponent, "snapshot larger than the limit refused",
                           {{"group", range_}, {"from", chunk.from()}});
    return;
  }
  stream.parts.emplace(chunk.chunk(), std::move(*chunk.mutable_data()));
  if (chunk.has_message()) stream.message = chunk.message();
  if (stream.parts.size() < stream.chunks) return;
  // Every chunk is here (the map holds chunks 0..chunks-1, in order); the stream ends either way.
  IncomingSnapshot complete = std::move(stream);
  incoming_snapshots_.erase(chunk.from());
  ReceivedSnapshot received{.index = complete.index, .data = {}};
  received.data.reserve(complete.parts.size());
  for (auto& [number, data] : complete.parts) received.data.push_back(std::move(data));
  if (Status verified = state_machine_->verify_snapshot(received.data); !verified.ok()) {
    runtime_->logger().log(LogLevel::kWarning, kComponent, "received snapshot failed verification",
                           {{"group", range_}, {"from", complete.from}, {"error", verified.to_string()}});
    return;
  }
  if (!complete.message || complete.message->type() != proto::RAFT_SNAPSHOT ||
      complete.message->snapshot().index() != complete.index) {
    return;
  }
  received_snapshot_ = std::move(received);
  runtime_->probe("replica.snapshot.received");
  step(*complete.message);
}

// ---------------------------------------------------------------------------------------------
// Loop side: a ready batch and what the applier reports.

Result<std::vector<std::string>> RangeReplica::take_received_snapshot(uint64_t index) {
  if (!received_snapshot_ || received_snapshot_->index != index) {
    return Status::internal("Raft installs snapshot " + std::to_string(index) + " but its data is not here");
  }
  std::vector<std::string> data = std::move(received_snapshot_->data);
  received_snapshot_.reset();
  return data;
}

void RangeReplica::on_snapshot_installed(const proto::RaftSnapshotMetadata& snapshot) {
  runtime_->probe("replica.snapshot.installed");
  // Proposals at or below the snapshot are settled by it, but their results are not known here.
  for (auto it = pending_proposals_.begin(); it != pending_proposals_.end() && it->first <= snapshot.index();) {
    it->second.promise->set_error(Status::timeout("outcome unknown: the replica installed a snapshot"));
    it = pending_proposals_.erase(it);
  }
  auto membership = raft::Membership::from_proto(snapshot.membership());
  CAIRN_ASSERT(membership.ok(), "an installed snapshot's membership was checked by Raft");
  queued_membership_ = *membership;
  durable_applied_ = std::max(durable_applied_, snapshot.index());
}

proto::RaftMembership RangeReplica::membership_after(const std::vector<proto::RaftEntry>& entries) {
  if (!queued_membership_) queued_membership_ = raft_->membership();
  for (const proto::RaftEntry& entry : entries) {
    if (entry.type() != proto::RAFT_ENTRY_MEMBERSHIP) continue;
    // The same function Raft itself applies at applied_to(): the membership after this entry.
    proto::RaftMembershipChange change;
    if (!change.ParseFromString(entry.data())) continue;
    if (auto changed = raft::apply_membership_change(*queued_membership_, change); changed.ok()) {
      queued_membership_ = *changed;
    }
  }
  return queued_membership_->to_proto();
}

void RangeReplica::finish_ready(const raft::Ready& ready) {
  for (const raft::ReadState& read : ready.read_states) {
    auto found = pending_reads_.find(read.context);
    if (found == pending_reads_.end()) continue;
    std::shared_ptr<Promise<uint64_t>> promise = std::move(found->second);
    pending_reads_.erase(found);
    if (read.index == 0) {
      promise->set_error(Status::unavailable("leadership could not be confirmed"));
    } else {
      reads_waiting_for_apply_.emplace(read.index, std::move(promise));
    }
  }
  raft_->advance(ready);
  release_reads();
  if (ready.soft_state) {
    runtime_->logger().log(LogLevel::kInfo, kComponent, "role changed",
                           {{"group", range_}, {"role", raft::role_name(ready.soft_state->role)},
                            {"term", raft_->term()}, {"leader", ready.soft_state->leader},
                            {"reason", ready.soft_state->reason}});
    if (ready.soft_state->leader != status_.leader) {
      // Reads forwarded to a former leader will never be answered.
      for (auto& [context, promise] : pending_reads_) promise->set_error(Status::unavailable("the leader changed"));
      pending_reads_.clear();
    }
  }
  if (pending_transfer_ && raft_->transfer_target() == 0) {
    if (raft_->leader() == pending_transfer_target_) {
      pending_transfer_->set_value(true);
    } else {
      pending_transfer_->set_error(Status::unavailable("the leadership transfer did not complete"));
    }
    pending_transfer_.reset();
  }
  refresh_status();
  if (options_.observer != nullptr) options_.observer->on_raft_state(runtime_->node_id(), *raft_);
}

void RangeReplica::on_applied(const ApplierReport& report) {
  CAIRN_ASSERT(report.kind == ApplierReport::Kind::kApplied && report.entries.size() == report.results.size());
  for (std::size_t i = 0; i < report.entries.size(); ++i) {
    const proto::RaftEntry& entry = report.entries[i];
    auto pending = pending_proposals_.find(entry.index());
    if (pending == pending_proposals_.end()) continue;
    if (entry.term() != pending->second.term) {
      pending->second.promise->set_error(Status::unavailable("the proposal was overwritten by another leader"));
    } else {
      pending->second.promise->set_value(
          ProposalOutcome{.index = entry.index(), .term = entry.term(), .result = report.results[i]});
    }
    pending_proposals_.erase(pending);
  }
  // Raft hears how far the state machine got (a snapshot installed since may have passed it).
  const uint64_t applied = state_machine_->applied().index();
  if (applied > raft_->log().applied() && applied <= raft_->log().applying()) raft_->applied_to(applied);
  release_reads();
  refresh_status();
  if (options_.observer != nullptr) options_.observer->on_raft_state(runtime_->node_id(), *raft_);
}

uint64_t RangeReplica::compaction_point() const {
  const uint64_t applied = std::min(raft_->log().applied(), durable_applied_);
  const uint64_t snapshot = raft_->log().snapshot_index();
  // Compaction may come early, and keep nothing: followers that lag then need a snapshot.
  const uint64_t keep = runtime_->buggify("replica.compaction.keeps_nothing") ? 0 : options_.compaction_keep_entries;
  const uint64_t due_after = runtime_->buggify("replica.compaction.early") ? 1 : options_.compact_after_entries;
  if (applied < snapshot + due_after + keep) return 0;
  return applied - keep;
}

void RangeReplica::release_reads() {
  const uint64_t applied = state_machine_->applied().index();
  while (!reads_waiting_for_apply_.empty() && reads_waiting_for_apply_.begin()->first <= applied) {
    reads_waiting_for_apply_.begin()->second->set_value(applied);
    reads_waiting_for_apply_.erase(reads_waiting_for_apply_.begin());
  }
}

// ---------------------------------------------------------------------------------------------
// Status and failure.

void RangeReplica::log_membership_change() {
  const raft::Membership& now = raft_->membership();
  const NodeId self = runtime_->node_id();
  runtime_->logger().log(LogLevel::kInfo, kComponent, "membership changed",
                         {{"group", range_}, {"membership", raft::describe(now)},
                          {"applied_index", state_machine_->applied().index()}});
  if (logged_membership_.contains(self) && !now.contains(self)) {
    runtime_->logger().log(LogLevel::kWarning, kComponent,
                           "this node was removed from the group: it serves none of the group's requests until it "
                           "is added again",
                           {{"group", range_}});
  }
}

void RangeReplica::refresh_status() {
  const NodeId previous_leader = status_.leader;
  // The first refresh (at the start) only records where the replica begins.
  if (!(raft_->membership() == logged_membership_)) {
    if (status_.group != 0) log_membership_change();
    logged_membership_ = raft_->membership();
    if (options_.on_membership_change) options_.on_membership_change();
  }
  status_.group = range_;
  status_.role = raft_->role();
  status_.term = raft_->term();
  status_.leader = raft_->leader();
  status_.commit = raft_->log().committed();
  status_.applied = state_machine_->applied().index();
  status_.last_index = raft_->log().last_index();
  status_.snapshot_index = raft_->log().snapshot_index();
  status_.membership = raft_->membership().to_proto();
  // As etcd counts them: a move to a known leader other than the last one seen (none included).
  if (status_.leader != 0 && status_.leader != previous_leader) metrics_.leader_changes.add();
  metrics_.term.set(static_cast<double>(status_.term));
  metrics_.commit_index.set(static_cast<double>(status_.commit));
  metrics_.applied_index.set(static_cast<double>(status_.applied));
  metrics_.is_leader.set(status_.role == raft::Role::kLeader ? 1 : 0);
}

void RangeReplica::fail_pending(const Status& status) {
  for (auto& [index, proposal] : pending_proposals_) proposal.promise->set_error(status);
  pending_proposals_.clear();
  for (auto& [context, promise] : pending_reads_) promise->set_error(status);
  pending_reads_.clear();
  for (auto& [index, promise] : reads_waiting_for_apply_) promise->set_error(status);
  reads_waiting_for_apply_.clear();
  if (pending_transfer_) pending_transfer_->set_error(status);
  pending_transfer_.reset();
}

void RangeReplica::fail(const Status& status) {
  if (!failure_.ok()) return;
  failure_ = status;
  // Proposals in flight may or may not have been applied: their outcome is unknown.
  fail_pending(Status::timeout("outcome unknown: the replica stopped (" + status.to_string() + ")"));
}

}  // namespace cairn::node
