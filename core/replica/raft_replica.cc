// RaftReplica: the driver of one Raft replica (raft_replica.h).
#include "core/replica/raft_replica.h"

#include <algorithm>

#include "core/runtime/message.h"
#include "core/runtime/network.h"
#include "core/runtime/timeout.h"

namespace cairn::replica {
namespace {

constexpr std::string_view kComponent = "raft";

bool is_overwritten(const proto::RaftEntry& entry, uint64_t proposed_term) { return entry.term() != proposed_term; }

// Whether `next` says nothing new to the disk but a commit index.
bool only_commit_differs(const proto::RaftHardState& next, const proto::RaftHardState& durable) {
  proto::RaftHardState same_commit = next;
  same_commit.set_commit(durable.commit());
  return same_commit.SerializeAsString() == durable.SerializeAsString();
}

}  // namespace

Result<std::unique_ptr<RaftReplica>> RaftReplica::start(Runtime& runtime, RaftReplicaOptions options,
                                                        std::unique_ptr<StateMachine> state_machine) {
  RaftLogStoreOptions log_options;
  log_options.directory = options.directory + "/wal";
  log_options.segment_bytes = options.segment_bytes;
  log_options.salvage_damage = options.salvage_damaged_log;
  CAIRN_ASSIGN_OR_RETURN(auto log_store, RaftLogStore::open_store(runtime, log_options));
  std::unique_ptr<RaftReplica> replica(
      new RaftReplica(runtime, std::move(options), std::move(state_machine), std::move(log_store)));
  CAIRN_RETURN_IF_ERROR(replica->recover());
  replica->fibers_.spawn("raft-driver", [raw = replica.get()] { raw->run(); });
  replica->fibers_.spawn("raft-ticker", [raw = replica.get()] { raw->run_ticker(); });
  return replica;
}

RaftReplica::RaftReplica(Runtime& runtime, RaftReplicaOptions options, std::unique_ptr<StateMachine> state_machine,
                         std::unique_ptr<RaftLogStore> log_store)
    : runtime_(&runtime),
      options_(std::move(options)),
      state_machine_(std::move(state_machine)),
      log_store_(std::move(log_store)),
      inbox_(options_.inbox_capacity),
      metrics_(find_metrics(runtime.metrics(), options_.group)),
      fibers_(runtime.process()) {}

RaftReplica::Metrics RaftReplica::find_metrics(metrics::MetricsRegistry& registry, uint64_t group) {
  const metrics::Labels labels = {{"group", std::to_string(group)}};
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

RaftReplica::~RaftReplica() {
  fibers_.cancel();
  fail_pending(Status::cancelled("the replica stopped"));
  metrics_.is_leader.set(0);  // the gauge outlives the replica; a stopped replica leads nothing
}

// A log holding entries but no membership to start from lost the record that gave it one (the
// bootstrap or compaction marker) to storage damage. Membership entries are changes, so applied
// to an empty base they would yield a wrong configuration: a replica that believed itself the
// only voter would commit alone. The state machine records the membership at its applied index,
// so the log restarts there, keeping the entries that follow it; without one (nothing applied)
// the entries are unusable and the replica waits, blank, for a snapshot from the leader.
Status RaftReplica::rebase_log_without_membership(raft::RaftRecoveredState& recovered,
                                                  const proto::RaftSnapshotMetadata& applied) {
  const bool continues_applied =
      applied.membership().voters_size() > 0 && recovered.entries.front().index() <= applied.index() + 1;
  if (continues_applied) {
    std::erase_if(recovered.entries, [&](const proto::RaftEntry& entry) { return entry.index() <= applied.index(); });
    recovered.snapshot = applied;
  } else {
    recovered.entries.clear();
    recovered.snapshot = proto::RaftSnapshotMetadata{};
  }
  // Recorded, so that the next recovery starts from the same place.
  CAIRN_RETURN_IF_ERROR(log_store_->save_snapshot(recovered.snapshot, /*replaces_log=*/!continues_applied, recovered.hard_state));
  runtime_->logger().log(LogLevel::kWarning, kComponent, "log had lost its membership; restarted from the state machine",
                         {{"group", options_.group}, {"index", recovered.snapshot.index()},
                          {"kept_entries", recovered.entries.size()}});
  return Status{};
}

Status RaftReplica::recover() {
  if (log_store_->salvaged()) {
    runtime_->probe("replica.log.salvaged");
    runtime_->logger().log(LogLevel::kWarning, kComponent, "damaged write-ahead log salvaged; catching up from the leader",
                           {{"group", options_.group}, {"damage", log_store_->salvage_summary()}});
  }
  raft::RaftRecoveredState recovered = log_store_->take_recovered();
  const proto::RaftSnapshotMetadata& applied = state_machine_->applied();
  const bool has_state = recovered.snapshot.index() > 0 || !recovered.entries.empty() ||
                         recovered.snapshot.membership().voters_size() > 0 || applied.index() > 0 ||
                         recovered.hard_state.term() > 0;
  if (!has_state && !options_.bootstrap_voters.empty()) {
    // A new group: its initial membership is the snapshot point at index 0.
    proto::RaftSnapshotMetadata initial;
    for (NodeId voter : options_.bootstrap_voters) initial.mutable_membership()->add_voters(voter);
    std::sort(initial.mutable_membership()->mutable_voters()->begin(), initial.mutable_membership()->mutable_voters()->end());
    CAIRN_RETURN_IF_ERROR(log_store_->save_snapshot(initial, true, recovered.hard_state));
    recovered.snapshot = initial;
  }
  const auto held_term = [&](uint64_t index) -> std::optional<uint64_t> {
    if (index == recovered.snapshot.index()) return recovered.snapshot.term();
    for (const proto::RaftEntry& entry : recovered.entries) {
      if (entry.index() == index) return entry.term();
    }
    return std::nullopt;
  };
  if (applied.index() > recovered.snapshot.index() && held_term(applied.index()) != applied.term()) {
    // The state machine is ahead of the log: a snapshot was installed and the crash came before
    // the log recorded it. The state machine describes itself, so the log restarts from it.
    recovered.snapshot = applied;
    recovered.entries.clear();
    CAIRN_RETURN_IF_ERROR(log_store_->save_snapshot(applied, true, recovered.hard_state));
    runtime_->probe("replica.log.restarted_from_state_machine");
    runtime_->logger().log(LogLevel::kWarning, kComponent, "log restarted from the state machine's snapshot",
                           {{"index", applied.index()}});
  } else if (recovered.snapshot.membership().voters_size() == 0 && !recovered.entries.empty()) {
    runtime_->probe("replica.log.rebased_without_membership");
    CAIRN_RETURN_IF_ERROR(rebase_log_without_membership(recovered, applied));
  }
  // Whatever the state machine applied was committed, even if the hard state lags behind.
  if (recovered.hard_state.commit() < applied.index()) recovered.hard_state.set_commit(applied.index());

  raft::RaftOptions raft_options = options_.raft;
  raft_options.id = runtime_->node_id();
  raft_options.group = options_.group;
  raft_options.random_seed = runtime_->random().next_u64();
  raft_options.fault_points = runtime_;
  raft_ = std::make_unique<raft::Raft>(raft_options, std::move(recovered));
  last_tick_at_ = runtime_->now();
  refresh_status();
  return Status{};
}

// ---------------------------------------------------------------------------------------------
// Inputs.

void RaftReplica::deliver(proto::RaftMessage message) {
  // A message may be dropped here as on the network: Raft retries what matters.
  if (!failure_.ok() || runtime_->buggify("replica.message.dropped_at_inbox") ||
      !inbox_.try_send(std::move(message)).ok()) {
    ++dropped_messages_;
  }
}

void RaftReplica::deliver_chunk(proto::RaftSnapshotChunk chunk) {
  if (!failure_.ok() || !inbox_.try_send(std::move(chunk)).ok()) ++dropped_messages_;
}

template <typename T, typename Request>
Result<T> RaftReplica::submit(Request request, const std::shared_ptr<Promise<T>>& promise, Duration timeout) {
  if (!failure_.ok()) return Status::unavailable("the replica stopped: " + failure_.to_string());
  if (pending_proposals_.size() + pending_reads_.size() >= options_.max_pending_requests) {
    return Status::resource_exhausted("too many requests waiting for the replica");
  }
  if (!inbox_.try_send(std::move(request)).ok()) return Status::resource_exhausted("the replica's inbox is full");
  Future<T> future = promise->future();
  return with_timeout(*runtime_, timeout, [&] { return future.get(); });
}

Result<ProposalOutcome> RaftReplica::propose(std::string command, Duration timeout) {
  auto promise = std::make_shared<Promise<ProposalOutcome>>();
  return submit(ProposeRequest{.data = std::move(command), .membership = false, .promise = promise},
                                         promise, timeout);
}

Result<uint64_t> RaftReplica::change_membership(const proto::RaftMembershipChange& change, Duration timeout) {
  auto promise = std::make_shared<Promise<ProposalOutcome>>();
  auto outcome = submit(
      ProposeRequest{.data = change.SerializeAsString(), .membership = true, .promise = promise}, promise, timeout);
  if (!outcome.ok()) return outcome.status();
  return outcome->index;
}

Result<uint64_t> RaftReplica::read_barrier(raft::ReadMode mode, Duration timeout) {
  auto promise = std::make_shared<Promise<uint64_t>>();
  return submit(ReadRequest{.mode = mode, .promise = promise}, promise, timeout);
}

Status RaftReplica::transfer_leadership(NodeId target, Duration timeout) {
  auto promise = std::make_shared<Promise<bool>>();
  return submit(TransferRequest{.target = target, .promise = promise}, promise, timeout).status();
}

// ---------------------------------------------------------------------------------------------
// The driver.

void RaftReplica::run_ticker() {
  while (failure_.ok()) {
    runtime_->sleep(options_.tick_interval);
    // Only a wake-up: the driver counts the ticks from its clock (advance_clock), so a full
    // inbox loses no time.
    (void)inbox_.try_send(Tick{});
  }
}

void RaftReplica::advance_clock() {
  // Raft's time is this node's monotonic clock, not the ticks that happened to be delivered: a
  // process that was paused (a long GC, a stalled VM) must see the time it lost before it
  // decides anything — above all before it trusts its lease. Found by the simulator: a leader
  // paused for a second, unpaused, and served a lease read from before the election that had
  // replaced it, because it had counted one tick for the whole pause.
  const MonotonicTime now = runtime_->now();
  CAIRN_ASSERT(now >= last_tick_at_, "the monotonic clock went back");
  while (now - last_tick_at_ >= options_.tick_interval) {
    raft_->tick();
    last_tick_at_ += options_.tick_interval;
  }
}

void RaftReplica::run() {
  while (failure_.ok()) {
    Result<Event> event = inbox_.receive();
    if (!event.ok()) return;
    handle(*event);
    // Everything already queued joins this Ready: proposals batch, messages coalesce.
    while (auto more = inbox_.try_receive()) handle(*more);
    for (int rounds = 0; failure_.ok() && raft_->has_ready() && rounds < 16; ++rounds) {
      if (Status processed = process_ready(); !processed.ok()) fail(processed);
    }
  }
}

void RaftReplica::handle(Event& event) {
  advance_clock();
  if (auto* message = std::get_if<proto::RaftMessage>(&event)) {
    if (Status stepped = raft_->step(*message); !stepped.ok()) ++dropped_messages_;
  } else if (auto* chunk = std::get_if<proto::RaftSnapshotChunk>(&event)) {
    handle_chunk(*chunk);
  } else if (auto* proposal = std::get_if<ProposeRequest>(&event)) {
    handle_proposal(*proposal);
  } else if (auto* read = std::get_if<ReadRequest>(&event)) {
    handle_read(*read);
  } else if (auto* transfer = std::get_if<TransferRequest>(&event)) {
    const Status started = raft_->transfer_leadership(transfer->target);
    if (!started.ok() || transfer->target == runtime_->node_id()) {
      transfer->promise->set_result(started.ok() ? Result<bool>(true) : Result<bool>(started));
    } else {
      if (pending_transfer_) pending_transfer_->set_error(Status::cancelled("another transfer started"));
      pending_transfer_ = transfer->promise;
      pending_transfer_target_ = transfer->target;
    }
  } else if (std::holds_alternative<Tick>(event)) {
    // What was applied since the last tick becomes durable in the state machine: one sync per
    // tick instead of one per write (state_machine.h). The log can replay it, so a sync may wait.
    if (!runtime_->buggify("replica.state_machine.sync_postponed")) {
      if (Status synced = state_machine_->sync(); !synced.ok()) fail(synced);
    }
  } else if (auto* check = std::get_if<SnapshotCheck>(&event)) {
    const raft::Progress* progress = raft_->progress(check->follower);
    if (progress != nullptr && progress->state() == raft::ProgressState::kSnapshot &&
        progress->pending_snapshot() == check->index) {
      raft_->report_snapshot(check->follower, false);
    }
  }
}

void RaftReplica::handle_proposal(ProposeRequest& request) {
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

void RaftReplica::handle_read(ReadRequest& request) {
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

void RaftReplica::handle_chunk(proto::RaftSnapshotChunk& chunk) {
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
                           {{"from", chunk.from()}});
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
                           {{"from", complete.from}, {"error", verified.to_string()}});
    return;
  }
  if (!complete.message || complete.message->type() != proto::RAFT_SNAPSHOT ||
      complete.message->snapshot().index() != complete.index) {
    return;
  }
  received_snapshot_ = std::move(received);
  runtime_->probe("replica.snapshot.received");
  if (Status stepped = raft_->step(*complete.message); !stepped.ok()) ++dropped_messages_;
}

// ---------------------------------------------------------------------------------------------
// Ready.

Status RaftReplica::process_ready() {
  raft::Ready ready = raft_->ready();
  if (runtime_->logger().enabled(LogLevel::kDebug)) {
    runtime_->logger().log(LogLevel::kDebug, kComponent, "ready",
                           {{"group", options_.group}, {"term", raft_->term()}, {"entries", ready.entries.size()},
                            {"committed", ready.committed_entries.size()}, {"messages", ready.messages.size()},
                            {"reads", ready.read_states.size()}, {"snapshot", ready.snapshot ? ready.snapshot->index() : 0}});
  }
  // 1. Persist: the snapshot (state machine first: it describes itself), then entries and state.
  if (ready.snapshot) {
    CAIRN_RETURN_IF_ERROR(install_snapshot(*ready.snapshot, ready.hard_state.value_or(raft_->hard_state())));
  }
  // Every batch of entries carries the whole hard state, so if storage damage ever costs a
  // batch in the middle of the log, a later batch still says which term and vote are current.
  std::optional<proto::RaftHardState> hard_state = ready.hard_state;
  if (!hard_state && !ready.entries.empty()) hard_state = raft_->hard_state();
  if (hard_state && ready.entries.empty() && only_commit_differs(*hard_state, log_store_->durable_hard_state())) {
    // Only the commit index moved, which is not worth an fsync: Raft needs term and vote
    // durable, not the commit index (a restarted replica learns it again from the leader, and
    // whatever its state machine applied counts as committed, recover()). The next batch of
    // entries carries the whole hard state anyway. Without this a write cost the leader a
    // second fsync on its critical path, after the commit and before the apply.
    hard_state.reset();
  }
  // 2. A leader's appends and heartbeats leave before its own write is durable, so that its
  // disk and its followers' work at the same time (Raft thesis §10.2.1). That is safe because
  // the leader counts its own log toward a quorum only once durable (Raft::advance). Every
  // other message speaks for what this node holds (votes, acknowledgements), so it waits.
  const bool leading = raft_->role() == raft::Role::kLeader;
  const auto leaves_early = [&](const proto::RaftMessage& message) {
    return leading && (message.type() == proto::RAFT_APPEND || message.type() == proto::RAFT_HEARTBEAT);
  };
  for (const proto::RaftMessage& message : ready.messages) {
    if (leaves_early(message)) send_message(message);
  }
  if (runtime_->buggify("replica.persist.delayed")) runtime_->sleep(milliseconds(1 + runtime_->random().uniform(20)));
  CAIRN_RETURN_IF_ERROR(log_store_->save(hard_state, ready.entries));
  for (const proto::RaftMessage& message : ready.messages) {
    if (leaves_early(message)) continue;
    if (message.type() == proto::RAFT_SNAPSHOT) {
      start_snapshot_stream(message);
    } else {
      send_message(message);
    }
  }
  // 3. Apply.
  if (!ready.committed_entries.empty()) {
    runtime_->probe("replica.apply.starting");
    if (runtime_->buggify("replica.apply.delayed")) runtime_->sleep(milliseconds(1 + runtime_->random().uniform(20)));
  }
  CAIRN_RETURN_IF_ERROR(apply_committed(ready.committed_entries));
  // 4. Reads.
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
                           {{"group", options_.group}, {"role", raft::role_name(ready.soft_state->role)},
                            {"term", raft_->term()}, {"leader", ready.soft_state->leader},
                            {"reason", ready.soft_state->reason}});
  }
  if (ready.soft_state && ready.soft_state->leader != status_.leader) {
    // Reads forwarded to a former leader will never be answered.
    for (auto& [context, promise] : pending_reads_) promise->set_error(Status::unavailable("the leader changed"));
    pending_reads_.clear();
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
  if (options_.observer != nullptr) options_.observer->on_ready(runtime_->node_id(), *raft_);
  return maybe_compact();
}

Status RaftReplica::install_snapshot(const proto::RaftSnapshotMetadata& snapshot, const proto::RaftHardState& hard_state) {
  if (!received_snapshot_ || received_snapshot_->index != snapshot.index()) {
    return Status::internal("Raft installs snapshot " + std::to_string(snapshot.index()) + " but its data is not here");
  }
  CAIRN_RETURN_IF_ERROR(state_machine_->import_snapshot(received_snapshot_->data));
  received_snapshot_.reset();
  if (state_machine_->applied().index() != snapshot.index()) {
    return Status::corruption("the installed snapshot describes index " + std::to_string(state_machine_->applied().index()) +
                              ", not " + std::to_string(snapshot.index()));
  }
  CAIRN_RETURN_IF_ERROR(log_store_->save_snapshot(snapshot, true, hard_state));
  runtime_->probe("replica.snapshot.installed");
  // Proposals at or below the snapshot are settled by it, but their results are not known here.
  for (auto it = pending_proposals_.begin(); it != pending_proposals_.end() && it->first <= snapshot.index();) {
    it->second.promise->set_error(Status::timeout("outcome unknown: the replica installed a snapshot"));
    it = pending_proposals_.erase(it);
  }
  return Status{};
}

void RaftReplica::send_message(const proto::RaftMessage& message) {
  // Moments the nemesis may strike at, just after a promise left this node: what it promises
  // must be durable by now (if a driver sent it early, the crash that follows shows it).
  if (message.type() == proto::RAFT_VOTE_RESPONSE && !message.reject()) runtime_->probe("replica.vote.sent");
  if (message.type() == proto::RAFT_APPEND_RESPONSE && !message.reject()) runtime_->probe("replica.append.acknowledged");
  proto::Envelope envelope;
  envelope.set_destination(message.to());
  envelope.set_service(services::kRaft);
  envelope.set_kind(proto::ONE_WAY);
  pack_payload(message, envelope);
  (void)runtime_->network().send(std::move(envelope));  // loss is Raft's business
}

void RaftReplica::start_snapshot_stream(const proto::RaftMessage& message) {
  const NodeId follower = message.to();
  const uint64_t index = message.snapshot().index();
  // The state machine is exactly at the snapshot's index now (ready.h); export it at once.
  Result<std::vector<std::string>> chunks = Status::internal("unset");
  // Small chunks make long streams: more of them are cut short, reordered or timed out.
  const std::size_t chunk_bytes =
      runtime_->buggify("replica.snapshot.small_chunks") ? std::size_t{4} << 10 : options_.snapshot_chunk_bytes;
  if (state_machine_->applied().index() == index) chunks = state_machine_->export_snapshot(chunk_bytes);
  if (!chunks.ok() || chunks->empty()) {
    runtime_->logger().log(LogLevel::kWarning, kComponent, "snapshot export failed",
                           {{"follower", follower}, {"index", index}});
    (void)inbox_.try_send(SnapshotCheck{.follower = follower, .index = index});
    return;
  }
  auto data = std::make_shared<std::vector<std::string>>(std::move(*chunks));
  runtime_->logger().log(LogLevel::kDebug, kComponent, "snapshot stream started",
                         {{"group", options_.group}, {"follower", follower}, {"index", index}, {"chunks", data->size()}});
  fibers_.spawn("raft-snapshot-sender", [this, message, data, follower, index] {
    const auto total = static_cast<uint32_t>(data->size());
    for (uint32_t i = 0; i < total; ++i) {
      proto::RaftSnapshotChunk chunk;
      chunk.set_group(options_.group);
      chunk.set_from(runtime_->node_id());
      chunk.set_to(follower);
      chunk.set_term(message.term());
      chunk.set_snapshot_index(index);
      chunk.set_chunk(i);
      chunk.set_chunks(total);
      chunk.set_data((*data)[i]);
      if (i + 1 == total) *chunk.mutable_message() = message;
      proto::Envelope envelope;
      envelope.set_destination(follower);
      envelope.set_service(services::kRaft);
      envelope.set_kind(proto::ONE_WAY);
      pack_payload(chunk, envelope);
      (void)runtime_->network().send(std::move(envelope));
      runtime_->sleep(milliseconds(1));  // pace the stream: a mailbox holds a bounded number
      // A stream cut short (the sender's connection broke): the follower voids it, and the
      // leader retries after the timeout.
      if (i + 1 < total && runtime_->buggify("replica.snapshot.stream_abandoned")) break;
    }
    runtime_->sleep(options_.snapshot_timeout);
    (void)inbox_.try_send(SnapshotCheck{.follower = follower, .index = index});
  });
}

Status RaftReplica::apply_committed(const std::vector<proto::RaftEntry>& entries) {
  std::vector<proto::RaftEntry> to_apply;
  raft::Membership membership = raft_->membership();
  for (const proto::RaftEntry& entry : entries) {
    if (entry.type() == proto::RAFT_ENTRY_MEMBERSHIP) {
      // The same function Raft itself applies at advance(): the membership after this entry.
      proto::RaftMembershipChange change;
      if (change.ParseFromString(entry.data())) {
        if (auto changed = raft::apply_membership_change(membership, change); changed.ok()) membership = *changed;
      }
    }
    if (entry.index() > state_machine_->applied().index()) to_apply.push_back(entry);
  }
  if (to_apply.empty()) return Status{};
  CAIRN_ASSIGN_OR_RETURN(std::vector<std::string> results, state_machine_->apply(to_apply, membership.to_proto()));
  for (std::size_t i = 0; i < to_apply.size(); ++i) {
    const proto::RaftEntry& entry = to_apply[i];
    if (options_.observer != nullptr) options_.observer->on_applied(runtime_->node_id(), options_.group, entry);
    auto pending = pending_proposals_.find(entry.index());
    if (pending == pending_proposals_.end()) continue;
    if (is_overwritten(entry, pending->second.term)) {
      pending->second.promise->set_error(Status::unavailable("the proposal was overwritten by another leader"));
    } else {
      pending->second.promise->set_value(ProposalOutcome{.index = entry.index(), .term = entry.term(), .result = std::move(results[i])});
    }
    pending_proposals_.erase(pending);
  }
  return Status{};
}

void RaftReplica::release_reads() {
  const uint64_t applied = state_machine_->applied().index();
  while (!reads_waiting_for_apply_.empty() && reads_waiting_for_apply_.begin()->first <= applied) {
    reads_waiting_for_apply_.begin()->second->set_value(applied);
    reads_waiting_for_apply_.erase(reads_waiting_for_apply_.begin());
  }
}

Status RaftReplica::maybe_compact() {
  const uint64_t applied = raft_->log().applied();
  const uint64_t snapshot = raft_->log().snapshot_index();
  // Compaction may come early, and keep nothing: followers that lag then need a snapshot.
  const uint64_t keep = runtime_->buggify("replica.compaction.keeps_nothing") ? 0 : options_.compaction_keep_entries;
  const uint64_t due_after = runtime_->buggify("replica.compaction.early") ? 1 : options_.compact_after_entries;
  if (applied < snapshot + due_after + keep) return Status{};
  // The entries about to be dropped must be durable in the state machine first: a crash would
  // otherwise bring it back to an index the log no longer continues from.
  CAIRN_RETURN_IF_ERROR(state_machine_->sync());
  CAIRN_ASSIGN_OR_RETURN(proto::RaftSnapshotMetadata metadata, raft_->compact(applied - keep));
  runtime_->logger().log(LogLevel::kDebug, kComponent, "log compacted",
                         {{"group", options_.group}, {"through", metadata.index()}});
  CAIRN_RETURN_IF_ERROR(log_store_->save_snapshot(metadata, false, raft_->hard_state()));
  CAIRN_RETURN_IF_ERROR(log_store_->remove_covered_segments());
  // The moment a crash tests whether the state machine kept what the log just let go of.
  runtime_->probe("replica.log.compacted");
  return Status{};
}

void RaftReplica::log_membership_change() {
  const raft::Membership& now = raft_->membership();
  const NodeId self = runtime_->node_id();
  runtime_->logger().log(LogLevel::kInfo, kComponent, "membership changed",
                         {{"group", options_.group}, {"membership", raft::describe(now)},
                          {"applied_index", state_machine_->applied().index()}});
  if (logged_membership_.contains(self) && !now.contains(self)) {
    runtime_->logger().log(LogLevel::kWarning, kComponent,
                           "this node was removed from the group: it serves none of the group's requests until it "
                           "is added again",
                           {{"group", options_.group}});
  }
}

MembershipView RaftReplica::membership_view() const {
  MembershipView view{.membership = raft_->membership(), .matched = {}, .commit = raft_->log().committed()};
  if (raft_->role() == raft::Role::kLeader) {
    for (raft::ReplicaId member : view.membership.members()) {
      const raft::Progress* progress = raft_->progress(member);
      view.matched[member] = progress == nullptr ? 0 : progress->match();
    }
  }
  return view;
}

void RaftReplica::refresh_status() {
  const NodeId previous_leader = status_.leader;
  // The first refresh (at the start) only records where the replica begins.
  if (!(raft_->membership() == logged_membership_)) {
    if (status_.group != 0) log_membership_change();
    logged_membership_ = raft_->membership();
  }
  status_.group = options_.group;
  status_.role = raft_->role();
  status_.term = raft_->term();
  status_.leader = raft_->leader();
  status_.commit = raft_->log().committed();
  status_.applied = state_machine_->applied().index();
  status_.last_index = raft_->log().last_index();
  status_.snapshot_index = raft_->log().snapshot_index();
  status_.membership = raft_->membership().to_proto();
  update_metrics(previous_leader);
}

void RaftReplica::update_metrics(NodeId previous_leader) {
  // As etcd counts them: a move to a known leader other than the last one seen (none included),
  // so leader A, then none, then A again counts twice; losing the leader alone counts nothing.
  if (status_.leader != 0 && status_.leader != previous_leader) metrics_.leader_changes.add();
  metrics_.term.set(static_cast<double>(status_.term));
  metrics_.commit_index.set(static_cast<double>(status_.commit));
  metrics_.applied_index.set(static_cast<double>(status_.applied));
  metrics_.is_leader.set(status_.role == raft::Role::kLeader ? 1 : 0);
}

void RaftReplica::fail_pending(const Status& status) {
  for (auto& [index, proposal] : pending_proposals_) proposal.promise->set_error(status);
  pending_proposals_.clear();
  for (auto& [context, promise] : pending_reads_) promise->set_error(status);
  pending_reads_.clear();
  for (auto& [index, promise] : reads_waiting_for_apply_) promise->set_error(status);
  reads_waiting_for_apply_.clear();
  if (pending_transfer_) pending_transfer_->set_error(status);
  pending_transfer_.reset();
}

void RaftReplica::fail(const Status& status) {
  if (!failure_.ok()) return;
  failure_ = status;
  runtime_->logger().log(LogLevel::kError, kComponent, "replica stopped", {{"error", status.to_string()}});
  // Proposals in flight may or may not have been applied: their outcome is unknown.
  fail_pending(Status::timeout("outcome unknown: the replica stopped (" + status.to_string() + ")"));
  inbox_.close();
}

}  // namespace cairn::replica
