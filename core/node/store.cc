// A node's Store: one log, one engine, one loop for every range it hosts (store.h).
#include "core/node/store.h"

#include <algorithm>
#include <utility>

#include "core/runtime/message.h"
#include "core/runtime/network.h"

namespace cairn::node {
namespace {

constexpr std::string_view kComponent = "raft";
// Events handled before the loop gathers ready batches: enough to batch concurrent proposals
// into one write, few enough that a flood of messages cannot starve the persist.
constexpr int kEventsPerRoundMax = 4096;
// Rounds of ready batches after one drain of the inbox (a ready batch can lead to another).
constexpr int kReadyRoundsMax = 16;

}  // namespace

Result<std::unique_ptr<Store>> Store::open_store(Runtime& runtime, StoreOptions options, StateMachineFactory factory) {
  CAIRN_ASSERT(factory != nullptr);
  StoreLogOptions log_options;
  log_options.directory = options.directory + "/wal";
  log_options.segment_bytes = options.segment_bytes;
  log_options.salvage_damage = options.salvage_damaged_log;
  CAIRN_ASSIGN_OR_RETURN(std::unique_ptr<StoreLog> log, StoreLog::open_log(runtime, log_options));
  options.engine.path = options.directory + "/data.db";
  CAIRN_ASSIGN_OR_RETURN(std::shared_ptr<storage::KvEngine> engine, storage::KvEngine::open_engine(runtime, options.engine));
  if (log->salvaged()) {
    runtime.probe("replica.log.salvaged");
    runtime.logger().log(LogLevel::kWarning, kComponent, "damaged write-ahead log salvaged; catching up from the leaders",
                         {{"damage", log->salvage_summary()}});
  }
  std::unique_ptr<Store> store(
      new Store(runtime, std::move(options), std::move(factory), std::move(log), std::move(engine)));
  CAIRN_ASSIGN_OR_RETURN(store->binding_, runtime.network().bind(services::kRaft, [raw = store.get()](proto::Envelope&& envelope) {
    raw->on_network_message(std::move(envelope));
  }));
  store->last_tick_at_ = runtime.now();
  store->fibers_.spawn("store-loop", [raw = store.get()] { raw->run_loop(); });
  store->fibers_.spawn("store-applier", [raw = store.get()] { raw->applier_.run(); });
  store->fibers_.spawn("store-ticker", [raw = store.get()] { raw->run_ticker(); });
  return store;
}

Store::Store(Runtime& runtime, StoreOptions options, StateMachineFactory factory, std::unique_ptr<StoreLog> log,
             std::shared_ptr<storage::KvEngine> engine)
    : runtime_(&runtime),
      options_(std::move(options)),
      factory_(std::move(factory)),
      log_(std::move(log)),
      engine_(std::move(engine)),
      inbox_(options_.inbox_capacity),
      applier_(runtime, [this] { return engine_->sync(); }, inbox_, options_.replica.observer),
      fibers_(runtime.process()) {
  CAIRN_ASSERT(options_.tick_interval > Duration{0} && options_.inbox_capacity > 0);
  options_.replica.on_membership_change = [this] { member_nodes_.reset(); };
}

Store::~Store() {
  binding_.reset();  // no more deliveries into a Store being destroyed
  fibers_.cancel();
  for (auto& [range, replica] : replicas_) replica->fail(Status::cancelled("the store stopped"));
}

std::shared_ptr<RangeReplica> Store::find(RangeId range) const {
  auto found = replicas_.find(range);
  return found == replicas_.end() ? nullptr : found->second;
}

std::vector<RangeId> Store::ranges() const {
  std::vector<RangeId> ids;
  ids.reserve(replicas_.size());
  for (const auto& [range, replica] : replicas_) ids.push_back(range);
  return ids;
}

const std::set<NodeId>& Store::member_nodes() {
  // Asked every ping round and changed only by membership changes: computed once per change,
  // since reading thousands of ranges' configurations cost more than all else an idle node does.
  if (member_nodes_) return *member_nodes_;
  std::set<NodeId> members;
  for (const auto& [range, replica] : replicas_) {
    const raft::ReplicaSet range_members = replica->raft().membership().members();
    members.insert(range_members.begin(), range_members.end());
  }
  member_nodes_ = std::move(members);
  return *member_nodes_;
}

// ---------------------------------------------------------------------------------------------
// Ranges.

Status Store::add_range(RangeId range, const std::vector<NodeId>& bootstrap_voters) {
  if (range == 0) return Status::invalid_argument("range ids start at 1");
  if (replicas_.contains(range)) return Status::already_exists("range " + std::to_string(range) + " is hosted here");
  CAIRN_RETURN_IF_ERROR(failure_);
  CAIRN_ASSIGN_OR_RETURN(std::shared_ptr<node::StateMachine> machine, factory_(range, engine_));
  CAIRN_ASSIGN_OR_RETURN(raft::RaftRecoveredState recovered, recover_range(range, *machine, bootstrap_voters));
  raft::RaftOptions raft_options = options_.raft;
  raft_options.id = runtime_->node_id();
  raft_options.group = range;
  raft_options.random_seed = runtime_->random().next_u64();
  raft_options.fault_points = runtime_;
  auto raft = std::make_unique<raft::Raft>(raft_options, std::move(recovered));
  replicas_[range] =
      std::make_shared<RangeReplica>(*runtime_, range, options_.replica, std::move(machine), std::move(raft), inbox_);
  // A range starts awake: it may have to elect a leader, or catch up.
  awake_.insert(range);
  member_nodes_.reset();
  active_.insert(range);
  return Status{};
}

// A log holding entries but no membership to start from lost the record that gave it one (the
// bootstrap or compaction marker) to storage damage. Membership entries are changes, so applied
// to an empty base they would yield a wrong configuration: a replica that believed itself the
// only voter would commit alone. The state machine records the membership at its applied index,
// so the log restarts there, keeping the entries that follow it; without one (nothing applied)
// the entries are unusable and the replica waits, blank, for a snapshot from the leader.
Status Store::rebase_log_without_membership(RangeId range, raft::RaftRecoveredState& recovered,
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
  CAIRN_RETURN_IF_ERROR(log_->save_snapshot(range, recovered.snapshot, /*replaces_log=*/!continues_applied,
                                            recovered.hard_state));
  runtime_->logger().log(LogLevel::kWarning, kComponent, "log had lost its membership; restarted from the state machine",
                         {{"group", range}, {"index", recovered.snapshot.index()},
                          {"kept_entries", recovered.entries.size()}});
  return Status{};
}

Result<raft::RaftRecoveredState> Store::recover_range(RangeId range, const node::StateMachine& machine,
                                                      const std::vector<NodeId>& bootstrap_voters) {
  raft::RaftRecoveredState recovered = log_->take_recovered(range);
  const proto::RaftSnapshotMetadata& applied = machine.applied();
  const bool has_state = recovered.snapshot.index() > 0 || !recovered.entries.empty() ||
                         recovered.snapshot.membership().voters_size() > 0 || applied.index() > 0 ||
                         recovered.hard_state.term() > 0;
  if (!has_state && !bootstrap_voters.empty()) {
    // A new range: its initial membership is the snapshot point at index 0.
    proto::RaftSnapshotMetadata initial;
    for (NodeId voter : bootstrap_voters) initial.mutable_membership()->add_voters(voter);
    std::sort(initial.mutable_membership()->mutable_voters()->begin(), initial.mutable_membership()->mutable_voters()->end());
    CAIRN_RETURN_IF_ERROR(log_->save_snapshot(range, initial, true, recovered.hard_state));
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
    CAIRN_RETURN_IF_ERROR(log_->save_snapshot(range, applied, true, recovered.hard_state));
    runtime_->probe("replica.log.restarted_from_state_machine");
    runtime_->logger().log(LogLevel::kWarning, kComponent, "log restarted from the state machine's snapshot",
                           {{"group", range}, {"index", applied.index()}});
  } else if (recovered.snapshot.membership().voters_size() == 0 && !recovered.entries.empty()) {
    runtime_->probe("replica.log.rebased_without_membership");
    CAIRN_RETURN_IF_ERROR(rebase_log_without_membership(range, recovered, applied));
  }
  // Whatever the state machine applied was committed, even if the hard state lags behind.
  if (recovered.hard_state.commit() < applied.index()) recovered.hard_state.set_commit(applied.index());
  return recovered;
}

// ---------------------------------------------------------------------------------------------
// Inputs.

void Store::on_network_message(proto::Envelope&& envelope) {
  // A message may be dropped here as on the network: Raft retries what matters.
  const bool raft_message = envelope.message_type() == proto::RaftMessage::descriptor()->full_name();
  const bool chunk = envelope.message_type() == proto::RaftSnapshotChunk::descriptor()->full_name();
  if (!failure_.ok() || (!raft_message && !chunk) || runtime_->buggify("replica.message.dropped_at_inbox")) {
    ++dropped_messages_;
    return;
  }
  Status queued = Status::invalid_argument("malformed");
  if (raft_message) {
    proto::RaftMessage message;
    if (unpack_payload(envelope, message).ok()) queued = inbox_.try_send(std::move(message));
  } else {
    proto::RaftSnapshotChunk snapshot_chunk;
    if (unpack_payload(envelope, snapshot_chunk).ok()) queued = inbox_.try_send(std::move(snapshot_chunk));
  }
  if (!queued.ok()) ++dropped_messages_;
}

void Store::run_ticker() {
  while (failure_.ok()) {
    runtime_->sleep(options_.tick_interval);
    (void)inbox_.try_send(TickEvent{});
  }
}

void Store::advance_clock() {
  // Raft's time is this node's monotonic clock, not the ticks that happened to be delivered: a
  // process that was paused must see the time it lost before it decides anything — above all
  // before it trusts a lease.
  const MonotonicTime now = runtime_->now();
  CAIRN_ASSERT(now >= last_tick_at_, "the monotonic clock went back");
  while (now - last_tick_at_ >= options_.tick_interval) {
    tick_awake_ranges();
    last_tick_at_ += options_.tick_interval;
  }
}

void Store::tick_awake_ranges() {
  const auto suspected = [this](NodeId node) { return suspected_nodes_.contains(node); };
  for (auto it = awake_.begin(); it != awake_.end();) {
    auto found = replicas_.find(*it);
    if (found == replicas_.end()) {
      it = awake_.erase(it);
      continue;
    }
    active_.insert(*it);
    const bool quiet = found->second->raft().quiesced() || found->second->tick(options_.quiesce_after_ticks, suspected);
    it = quiet ? awake_.erase(it) : std::next(it);
  }
}

RangeReplica* Store::route(RangeId range) {
  auto found = replicas_.find(range);
  if (found != replicas_.end()) {
    active_.insert(range);
    return found->second.get();
  }
  ++dropped_messages_;
  return nullptr;
}

void Store::wake_active() {
  for (RangeId range : active_) {
    auto found = replicas_.find(range);
    if (found == replicas_.end()) continue;
    raft::Raft& raft = found->second->raft();
    if (raft.quiesced() && raft.role() != raft::Role::kLeader && suspected_nodes_.contains(raft.leader())) {
      runtime_->probe("store.quiet_follower_woken_for_suspected_leader");
      raft.wake();
    }
    if (!raft.quiesced()) awake_.insert(range);
  }
}

void Store::set_peer_suspected(NodeId node, bool suspected) {
  CAIRN_ASSERT(node != 0, "a peer has a node id");
  queue_liveness(PeerLiveness{.node = node, .suspected = suspected});
}

void Store::set_peer_restarted(NodeId node) {
  CAIRN_ASSERT(node != 0, "a peer has a node id");
  queue_liveness(PeerLiveness{.node = node, .suspected = suspected_nodes_.contains(node), .restarted = true});
}

void Store::queue_liveness(PeerLiveness liveness) {
  // Not through the inbox: a sender blocked on a full inbox would outlive a Store destroyed
  // under it, and a verdict dropped could leave a quiet range waiting for a dead leader. The
  // ticker wakes the loop within a tick; verdicts come at most one per peer and ping interval.
  if (liveness_verdicts_.size() >= kLivenessVerdictsMax) {
    ++liveness_verdicts_dropped_;
    return;
  }
  liveness_verdicts_.push_back(liveness);
}

void Store::handle_liveness(const PeerLiveness& liveness) {
  const bool changed =
      liveness.suspected ? suspected_nodes_.insert(liveness.node).second : suspected_nodes_.erase(liveness.node) > 0;
  if (!changed && !liveness.restarted) return;
  // Gone (suspected, or restarted: its leaderships went with its memory): its quiet followers
  // campaign. Back (trusted again, or restarted): its quiet leaders wake to catch it up.
  const bool gone = liveness.suspected || liveness.restarted;
  const bool back = !liveness.suspected || liveness.restarted;
  for (auto& [range, replica] : replicas_) {
    raft::Raft& raft = replica->raft();
    if (!raft.quiesced() || !raft.membership().members().contains(liveness.node)) continue;
    if (gone && raft.leader() == liveness.node) {
      // Its election timer runs again: with the leader gone, no heartbeat resets it.
      runtime_->probe("store.quiet_follower_woken_for_suspected_leader");
      raft.wake();
    } else if (back && raft.role() == raft::Role::kLeader) {
      raft.wake();  // the follower that came back may lag
    } else {
      continue;
    }
    active_.insert(range);
  }
}

void Store::handle(StoreEvent& event) {
  if (auto* message = std::get_if<proto::RaftMessage>(&event)) {
    if (RangeReplica* replica = route(message->group())) replica->step(*message);
  } else if (auto* chunk = std::get_if<proto::RaftSnapshotChunk>(&event)) {
    if (RangeReplica* replica = route(chunk->group())) replica->receive_chunk(*chunk);
  } else if (auto* proposal = std::get_if<ProposeRequest>(&event)) {
    if (RangeReplica* replica = route(proposal->range)) {
      replica->handle_proposal(*proposal);
    } else {
      proposal->promise->set_error(Status::not_found("range " + std::to_string(proposal->range) + " is not here"));
    }
  } else if (auto* read = std::get_if<ReadRequest>(&event)) {
    if (RangeReplica* replica = route(read->range)) {
      replica->handle_read(*read);
    } else {
      read->promise->set_error(Status::not_found("range " + std::to_string(read->range) + " is not here"));
    }
  } else if (auto* transfer = std::get_if<TransferRequest>(&event)) {
    if (RangeReplica* replica = route(transfer->range)) {
      replica->handle_transfer(*transfer);
    } else {
      transfer->promise->set_error(Status::not_found("range " + std::to_string(transfer->range) + " is not here"));
    }
  } else if (std::holds_alternative<TickEvent>(event)) {
    // What was applied becomes durable in the engine every engine_sync_interval: one sync for
    // every range, not one per write. The logs can replay it, so a sync may wait.
    const MonotonicTime now = runtime_->now();
    if (unsynced_applies_ && now - last_engine_sync_ >= options_.engine_sync_interval) {
      applier_.submit(ApplyJob{.kind = ApplyJob::Kind::kSync});
      unsynced_applies_ = false;
      last_engine_sync_ = now;
    }
  } else if (auto* check = std::get_if<SnapshotCheck>(&event)) {
    if (RangeReplica* replica = route(check->range)) replica->check_snapshot(check->follower, check->index);
  }
  // ApplierWake: the reports are taken after every drain.
}

void Store::take_applier_reports() {
  for (ApplierReport& report : applier_.take_reports()) {
    RangeReplica* replica = nullptr;
    if (report.kind != ApplierReport::Kind::kDurable) {
      auto found = replicas_.find(report.range);
      if (found == replicas_.end()) continue;  // the range left meanwhile
      replica = found->second.get();
      active_.insert(report.range);
    }
    switch (report.kind) {
      case ApplierReport::Kind::kApplied: replica->on_applied(report); break;
      case ApplierReport::Kind::kExported:
        if (!report.chunks.ok() || report.chunks->empty()) {
          runtime_->logger().log(LogLevel::kWarning, kComponent, "snapshot export failed",
                                 {{"group", report.range}, {"follower", report.snapshot_message.to()}});
          replica->check_snapshot(report.snapshot_message.to(), report.snapshot_message.snapshot().index());
        } else {
          const uint32_t copies = replica->snapshot_chunk_copies(report.snapshot_message.to());
          start_snapshot_stream(report.range, std::move(report.snapshot_message), std::move(*report.chunks), copies);
        }
        break;
      case ApplierReport::Kind::kDurable:
        for (const auto& [range, applied] : report.durable_applied) {
          if (auto found = replicas_.find(range); found != replicas_.end()) {
            found->second->on_durable(applied);
            active_.insert(range);  // its log may be compacted now
          }
        }
        break;
    }
  }
  if (!applier_.failed().ok()) fail(applier_.failed());
}

// ---------------------------------------------------------------------------------------------
// The loop.

void Store::run_loop() {
  while (failure_.ok()) {
    Result<StoreEvent> event = inbox_.receive();
    if (!event.ok()) return;
    advance_clock();
    for (const PeerLiveness& liveness : std::exchange(liveness_verdicts_, {})) handle_liveness(liveness);
    handle(*event);
    // Everything already queued joins this round: proposals batch, messages coalesce.
    for (int handled = 1; handled < kEventsPerRoundMax; ++handled) {
      std::optional<StoreEvent> more = inbox_.try_receive();
      if (!more) break;
      handle(*more);
    }
    take_applier_reports();
    wake_active();
    for (int round = 0; failure_.ok() && round < kReadyRoundsMax; ++round) {
      Result<bool> processed = process_readies();
      if (!processed.ok()) fail(processed.status());
      if (!processed.ok() || !*processed) break;
    }
    if (failure_.ok()) {
      if (Status compacted = compact_logs(); !compacted.ok()) fail(compacted);
    }
    // A range whose ready waits for the next round stays active; the rest wait for input.
    std::erase_if(active_, [this](RangeId range) {
      auto found = replicas_.find(range);
      return found == replicas_.end() || !found->second->raft().has_ready();
    });
  }
}

Result<bool> Store::process_readies() {
  // The applier is behind by more than its budget: it catches up before more is handed to it.
  if (applier_.queued_bytes() > options_.apply_queue_bytes_max) {
    runtime_->probe("store.apply_queue.full");
    applier_.wait_idle();
    take_applier_reports();
    CAIRN_RETURN_IF_ERROR(failure_);
  }
  std::vector<RangeReady> readies;
  for (RangeId range : active_) {
    auto found = replicas_.find(range);
    if (found == replicas_.end()) continue;
    RangeReplica& replica = *found->second;
    if (replica.raft().has_ready()) readies.push_back(RangeReady{.replica = &replica, .ready = replica.raft().ready()});
  }
  if (readies.empty()) return false;
  // 1. A leader's appends and heartbeats leave first, so that its disk and its followers work at
  // the same time; Raft puts only messages that promise nothing about this disk here (ready.h).
  for (const RangeReady& range_ready : readies) {
    for (const proto::RaftMessage& message : range_ready.ready.messages) send_message(message);
  }
  // 2. Persist: snapshots installed first (the state machine describes itself), then every
  // range's entries and hard state in one write and one sync.
  CAIRN_RETURN_IF_ERROR(install_snapshots(readies));
  CAIRN_RETURN_IF_ERROR(persist(readies));
  // 3. Everything that speaks for this node's disk leaves once it is durable; snapshots to send
  // are exported by the applier, after the entries they cover are applied.
  for (RangeReady& range_ready : readies) {
    for (proto::RaftMessage& message : range_ready.ready.messages_after_persist) {
      if (message.type() != proto::RAFT_SNAPSHOT) {
        send_message(message);
        continue;
      }
      const RangeId range = range_ready.replica->id();
      applier_.submit(ApplyJob{.kind = ApplyJob::Kind::kExport,
                               .range = range,
                               .state_machine = range_ready.replica->shared_state_machine(),
                               .snapshot_message = std::move(message),
                               .chunk_bytes = runtime_->buggify("replica.snapshot.small_chunks")
                                                  ? std::size_t{4} << 10
                                                  : options_.replica.snapshot_chunk_bytes});
    }
  }
  // 4. Apply, in the applier; 5. reads and advance.
  hand_to_applier(readies);
  for (RangeReady& range_ready : readies) range_ready.replica->finish_ready(range_ready.ready);
  return true;
}

Status Store::install_snapshots(std::vector<RangeReady>& readies) {
  for (RangeReady& range_ready : readies) {
    if (!range_ready.ready.snapshot) continue;
    RangeReplica& replica = *range_ready.replica;
    const proto::RaftSnapshotMetadata& snapshot = *range_ready.ready.snapshot;
    // Entries handed out earlier must not apply over the snapshot: the applier finishes first.
    // (Its reports wait for the next round: Raft takes no input between ready() and advance().)
    applier_.wait_idle();
    CAIRN_RETURN_IF_ERROR(applier_.failed());
    CAIRN_ASSIGN_OR_RETURN(std::vector<std::string> data, replica.take_received_snapshot(snapshot.index()));
    CAIRN_RETURN_IF_ERROR(replica.state_machine().import_snapshot(data));
    if (replica.state_machine().applied().index() != snapshot.index()) {
      return Status::corruption("the installed snapshot describes index " +
                                std::to_string(replica.state_machine().applied().index()) + ", not " +
                                std::to_string(snapshot.index()));
    }
    const proto::RaftHardState hard_state = range_ready.ready.hard_state.value_or(replica.raft().hard_state());
    CAIRN_RETURN_IF_ERROR(log_->save_snapshot(replica.id(), snapshot, true, hard_state));
    replica.on_snapshot_installed(snapshot);
  }
  return Status{};
}

Status Store::persist(std::vector<RangeReady>& readies) {
  // Every batch of entries carries the whole hard state, so if storage damage ever costs a batch
  // in the middle of the log, a later batch still says which term and vote are current. A range
  // whose batch needs no sync (only the commit index moved) writes nothing.
  std::vector<RangeLogWrite> writes;
  std::vector<const RangeReplica*> writers;
  for (RangeReady& range_ready : readies) {
    const raft::Ready& ready = range_ready.ready;
    if (!ready.must_sync) continue;
    writers.push_back(range_ready.replica);
    writes.push_back(RangeLogWrite{.range = range_ready.replica->id(),
                                   .hard_state = ready.hard_state.value_or(range_ready.replica->raft().hard_state()),
                                   .entries = ready.entries});
  }
  if (writes.empty()) return Status{};
  if (runtime_->buggify("replica.persist.delayed")) runtime_->sleep(milliseconds(1 + runtime_->random().uniform(20)));
  CAIRN_RETURN_IF_ERROR(log_->save(writes));
  for (std::size_t i = 0; i < writes.size(); ++i) {
    CAIRN_ASSERT(writes[i].entries.empty() || log_->durable_hard_state(writes[i].range).term() == writers[i]->term(),
                 "entries persisted without the term they belong to");
  }
  return Status{};
}

void Store::hand_to_applier(std::vector<RangeReady>& readies) {
  for (RangeReady& range_ready : readies) {
    std::vector<proto::RaftEntry>& entries = range_ready.ready.committed_entries;
    if (entries.empty()) continue;
    RangeReplica& replica = *range_ready.replica;
    proto::RaftMembership membership_after = replica.membership_after(entries);
    // The entries move to the applier; advance() needs only the last one's index and term, to
    // learn how far they were handed out, so that much stays in the ready.
    proto::RaftEntry last;
    last.set_index(entries.back().index());
    last.set_term(entries.back().term());
    applier_.submit(ApplyJob{.kind = ApplyJob::Kind::kApply,
                             .range = replica.id(),
                             .state_machine = replica.shared_state_machine(),
                             .entries = std::move(entries),
                             .membership_after = std::move(membership_after)});
    entries = {std::move(last)};
    unsynced_applies_ = true;
  }
}

Status Store::compact_logs() {
  bool compacted = false;
  for (RangeId range : active_) {
    auto found = replicas_.find(range);
    if (found == replicas_.end()) continue;
    RangeReplica* replica = found->second.get();
    const uint64_t point = replica->compaction_point();
    if (point == 0 || point <= replica->raft().log().snapshot_index()) continue;
    CAIRN_ASSIGN_OR_RETURN(proto::RaftSnapshotMetadata metadata, replica->raft().compact(point));
    CAIRN_RETURN_IF_ERROR(log_->save_snapshot(range, metadata, false, replica->raft().hard_state()));
    runtime_->logger().log(LogLevel::kDebug, kComponent, "log compacted", {{"group", range}, {"through", metadata.index()}});
    // The moment a crash tests whether the state machine kept what the log just let go of.
    runtime_->probe("replica.log.compacted");
    compacted = true;
  }
  return compacted ? log_->purge() : Status{};
}

// ---------------------------------------------------------------------------------------------
// Outputs.

void Store::send_message(const proto::RaftMessage& message) {
  // Moments the nemesis may strike at, just after a promise left this node: what it promises
  // must be durable by now (if the loop sent it early, the crash that follows shows it).
  if (message.type() == proto::RAFT_VOTE_RESPONSE && !message.reject()) runtime_->probe("replica.vote.sent");
  if (message.type() == proto::RAFT_APPEND_RESPONSE && !message.reject()) runtime_->probe("replica.append.acknowledged");
  proto::Envelope envelope;
  envelope.set_destination(message.to());
  envelope.set_service(services::kRaft);
  envelope.set_kind(proto::ONE_WAY);
  pack_payload(message, envelope);
  (void)runtime_->network().send(std::move(envelope));  // loss is Raft's business
}

void Store::start_snapshot_stream(RangeId range, proto::RaftMessage message, std::vector<std::string> chunks,
                                  uint32_t copies) {
  CAIRN_ASSERT(copies >= 1, "each chunk is sent at least once");
  if (copies > 1) runtime_->probe("store.snapshot.chunks_sent_again");
  const NodeId follower = message.to();
  const uint64_t index = message.snapshot().index();
  auto data = std::make_shared<std::vector<std::string>>(std::move(chunks));
  runtime_->logger().log(LogLevel::kDebug, kComponent, "snapshot stream started",
                         {{"group", range}, {"follower", follower}, {"index", index}, {"chunks", data->size()}});
  fibers_.spawn("store-snapshot-sender", [this, range, message = std::move(message), data, follower, index, copies] {
    const auto total = static_cast<uint32_t>(data->size());
    for (uint32_t i = 0; i < total; ++i) {
      proto::RaftSnapshotChunk chunk;
      chunk.set_group(range);
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
      for (uint32_t copy = 1; copy < copies; ++copy) (void)runtime_->network().send(proto::Envelope(envelope));
      (void)runtime_->network().send(std::move(envelope));
      runtime_->sleep(milliseconds(copies));  // pace the stream: a mailbox holds a bounded number
      // A stream cut short (the sender's connection broke): the follower voids it, and the
      // leader retries after the timeout.
      if (i + 1 < total && runtime_->buggify("replica.snapshot.stream_abandoned")) break;
    }
    runtime_->sleep(options_.replica.snapshot_timeout);
    (void)inbox_.try_send(SnapshotCheck{.range = range, .follower = follower, .index = index});
  });
}

void Store::fail(const Status& status) {
  if (!failure_.ok()) return;
  failure_ = status;
  runtime_->logger().log(LogLevel::kError, kComponent, "store stopped", {{"error", status.to_string()}});
  for (auto& [range, replica] : replicas_) replica->fail(status);
  inbox_.close();
}

}  // namespace cairn::node
