// RaftTestCluster: a hand-driven cluster of pure Raft state machines (raft_test_cluster.h).
#include "tests/core/raft_test_cluster.h"

#include <algorithm>

#include "core/runtime/assert.h"
#include "core/runtime/random.h"

namespace cairn::raft::testing {
namespace {

const char* message_type_name(proto::RaftMessageType type) {
  switch (type) {
    case proto::RAFT_APPEND: return "APPEND";
    case proto::RAFT_APPEND_RESPONSE: return "APPEND_RESPONSE";
    case proto::RAFT_VOTE: return "VOTE";
    case proto::RAFT_VOTE_RESPONSE: return "VOTE_RESPONSE";
    case proto::RAFT_PRE_VOTE: return "PRE_VOTE";
    case proto::RAFT_PRE_VOTE_RESPONSE: return "PRE_VOTE_RESPONSE";
    case proto::RAFT_HEARTBEAT: return "HEARTBEAT";
    case proto::RAFT_HEARTBEAT_RESPONSE: return "HEARTBEAT_RESPONSE";
    case proto::RAFT_SNAPSHOT: return "SNAPSHOT";
    case proto::RAFT_TIMEOUT_NOW: return "TIMEOUT_NOW";
    case proto::RAFT_READ_INDEX: return "READ_INDEX";
    case proto::RAFT_READ_INDEX_RESPONSE: return "READ_INDEX_RESPONSE";
    default: return "UNKNOWN";
  }
}

std::string describe_entry(const proto::RaftEntry& entry) {
  std::string text = std::to_string(entry.index()) + "/" + std::to_string(entry.term());
  if (entry.type() == proto::RAFT_ENTRY_MEMBERSHIP) {
    proto::RaftMembershipChange change;
    change.ParseFromString(entry.data());
    return text + " (" + describe(change) + ")";
  }
  return entry.data().empty() ? text + " noop" : text + " \"" + entry.data() + "\"";
}

// What recovery records when it finds that entries were lost (raft_log_store.cc): the replica
// catches up from a leader of a later term before it votes again.
void mark_catching_up(TestDisk& disk) {
  disk.hard_state.set_catch_up_term(std::max<uint64_t>(disk.hard_state.term(), 1));
}

}  // namespace

std::string describe_message(const proto::RaftMessage& message) {
  std::string text = std::to_string(message.from()) + "->" + std::to_string(message.to()) + " " +
                     message_type_name(message.type()) + " term=" + std::to_string(message.term());
  switch (message.type()) {
    case proto::RAFT_APPEND: {
      text += " prev=" + std::to_string(message.index()) + "/" + std::to_string(message.log_term()) +
              " commit=" + std::to_string(message.commit());
      if (message.entries_size() > 0) {
        text += " entries=[";
        for (int i = 0; i < message.entries_size(); ++i) text += (i > 0 ? ", " : "") + describe_entry(message.entries(i));
        text += "]";
      }
      break;
    }
    case proto::RAFT_APPEND_RESPONSE:
      text += message.reject() ? " reject index=" + std::to_string(message.index()) + " hint=" +
                                     std::to_string(message.reject_hint()) + "/" + std::to_string(message.log_term())
                               : " index=" + std::to_string(message.index());
      break;
    case proto::RAFT_VOTE:
    case proto::RAFT_PRE_VOTE:
      text += " last=" + std::to_string(message.index()) + "/" + std::to_string(message.log_term());
      if (!message.context().empty()) text += " " + message.context();
      break;
    case proto::RAFT_VOTE_RESPONSE:
    case proto::RAFT_PRE_VOTE_RESPONSE: text += message.reject() ? " rejected" : " granted"; break;
    case proto::RAFT_HEARTBEAT:
      text += " commit=" + std::to_string(message.commit()) + " round=" + std::to_string(message.heartbeat_round());
      if (message.quiesce()) text += " quiesce";
      break;
    case proto::RAFT_HEARTBEAT_RESPONSE: text += " round=" + std::to_string(message.heartbeat_round()); break;
    case proto::RAFT_SNAPSHOT:
      text += " snapshot=" + std::to_string(message.snapshot().index()) + "/" + std::to_string(message.snapshot().term());
      break;
    case proto::RAFT_READ_INDEX:
      text += " context=" + message.context() + (message.lease() ? " lease" : "");
      break;
    case proto::RAFT_READ_INDEX_RESPONSE:
      text += message.reject() ? " rejected context=" + message.context()
                               : " index=" + std::to_string(message.index()) + " context=" + message.context();
      break;
    default: break;
  }
  return text;
}

std::string describe_replica(const Raft& raft) {
  return std::to_string(raft.id()) + ": " + role_name(raft.role()) + " term=" + std::to_string(raft.term()) +
         " vote=" + std::to_string(raft.vote()) + " leader=" + std::to_string(raft.leader()) +
         " commit=" + std::to_string(raft.log().committed()) + " applied=" + std::to_string(raft.log().applied()) +
         " last=" + std::to_string(raft.log().last_index()) + " " + describe(raft.membership()) +
         (raft.quiesced() ? " quiet" : "");
}

RaftTestCluster::RaftTestCluster(const std::vector<ReplicaId>& voters, const std::vector<ReplicaId>& learners,
                                 RaftOptions base, const std::vector<ReplicaId>& blank)
    : base_(base) {
  const Membership initial = Membership::of(ReplicaSet(voters.begin(), voters.end()),
                                            ReplicaSet(learners.begin(), learners.end()));
  auto create = [&](ReplicaId id, const Membership& membership) {
    Replica& replica = replicas_[id];
    *replica.disk.snapshot.mutable_membership() = membership.to_proto();
    restart(id);
  };
  for (ReplicaId id : voters) create(id, initial);
  for (ReplicaId id : learners) create(id, initial);
  for (ReplicaId id : blank) create(id, Membership{});
}

RaftOptions RaftTestCluster::options_for(ReplicaId id) const {
  RaftOptions options = base_;
  options.id = id;
  options.random_seed = derive_seed(derive_seed(base_.random_seed, id), incarnations_);
  return options;
}

Raft& RaftTestCluster::raft(ReplicaId id) {
  Replica& replica = replicas_.at(id);
  CAIRN_ASSERT(replica.raft != nullptr, "replica " + std::to_string(id) + " is down");
  return *replica.raft;
}

bool RaftTestCluster::up(ReplicaId id) const { return replicas_.at(id).raft != nullptr; }

std::vector<ReplicaId> RaftTestCluster::ids() const {
  std::vector<ReplicaId> result;
  for (const auto& [id, replica] : replicas_) result.push_back(id);
  return result;
}

void RaftTestCluster::persist(Replica& replica, const Ready& ready) {
  // As the real driver does: what needs no sync (a commit index alone) is not kept, so a crash
  // shows whether Raft ever says must_sync = false of something it promised.
  if (ready.must_sync || ready.snapshot) replica.disk.hard_state = ready.hard_state.value_or(replica.raft->hard_state());
  if (ready.snapshot) {
    auto data = replica.received_snapshots.find(ready.snapshot->index());
    CAIRN_ASSERT(data != replica.received_snapshots.end(), "a snapshot is installed only with its data");
    replica.disk.snapshot = *ready.snapshot;
    replica.disk.entries.clear();
    replica.disk.state = data->second;
    replica.received_snapshots.erase(replica.received_snapshots.begin(), std::next(data));
    std::erase_if(replica.apply_queue, [&](const proto::RaftEntry& entry) { return entry.index() <= ready.snapshot->index(); });
  }
  if (!ready.entries.empty()) {
    const uint64_t first = ready.entries.front().index();
    std::erase_if(replica.disk.entries, [&](const proto::RaftEntry& entry) { return entry.index() >= first; });
    CAIRN_ASSERT(first == replica.disk.snapshot.index() + replica.disk.entries.size() + 1,
                 "persisted entries must stay contiguous");
    replica.disk.entries.insert(replica.disk.entries.end(), ready.entries.begin(), ready.entries.end());
  }
}

void RaftTestCluster::apply(Replica& replica, ReplicaId id, const std::vector<proto::RaftEntry>& entries) {
  for (const proto::RaftEntry& entry : entries) {
    if (entry.index() <= replica.disk.state.applied_index) continue;  // applied before a crash
    CAIRN_ASSERT(entry.index() == replica.disk.state.applied_index + 1, "entries are applied in order, without gaps");
    if (entry.type() == proto::RAFT_ENTRY_NORMAL && !entry.data().empty()) replica.disk.state.commands.push_back(entry.data());
    replica.disk.state.applied_index = entry.index();
    oracle_.observe_applied(replica.raft->group(), id, entry);
  }
}

void RaftTestCluster::observe(ReplicaId id) {
  const Raft& raft = *replicas_.at(id).raft;
  oracle_.observe_log(raft.group(), id, raft.log());
  if (raft.role() == Role::kLeader) oracle_.observe_leader(raft.group(), id, raft.term(), raft.log());
}

bool RaftTestCluster::process_ready(ReplicaId id) {
  Replica& replica = replicas_.at(id);
  if (replica.raft == nullptr || !replica.raft->has_ready()) return false;
  Ready ready = replica.raft->ready();
  std::vector<proto::RaftMessage> messages = std::move(ready.messages);
  persist(replica, ready);
  messages.insert(messages.end(), ready.messages_after_persist.begin(), ready.messages_after_persist.end());
  for (const proto::RaftMessage& message : messages) {
    InFlightMessage in_flight{.message = message, .snapshot_data = std::nullopt};
    if (message.type() == proto::RAFT_SNAPSHOT) {
      CAIRN_ASSERT(replica.disk.state.applied_index == message.snapshot().index(),
                   "a snapshot message must describe the state machine as it is when sent");
      in_flight.snapshot_data = replica.disk.state;
      replica.snapshot_checks.push_back(SnapshotCheck{.follower = message.to(),
                                                      .index = message.snapshot().index(),
                                                      .due_tick = replica.ticks + kSnapshotTimeoutTicks});
    }
    in_flight_.push_back(std::move(in_flight));
  }
  // Deferred: entries the state machine holds already (applied before a crash) count as applied
  // at once, as a driver replaying its log after a restart reports them; the rest wait.
  uint64_t applied_through = 0;
  for (const proto::RaftEntry& entry : ready.committed_entries) {
    if (!deferred_apply_ || (replica.apply_queue.empty() && entry.index() <= replica.disk.state.applied_index)) {
      applied_through = entry.index();
    } else {
      replica.apply_queue.push_back(entry);
    }
  }
  if (!deferred_apply_) apply(replica, id, ready.committed_entries);
  replica.read_states.insert(replica.read_states.end(), ready.read_states.begin(), ready.read_states.end());
  replica.raft->advance(ready);
  if (applied_through > 0) replica.raft->applied_to(applied_through);
  observe(id);
  return true;
}

void RaftTestCluster::apply_pending(ReplicaId id, std::size_t count) {
  Replica& replica = replicas_.at(id);
  if (replica.raft == nullptr || replica.apply_queue.empty() || count == 0) return;
  count = std::min(count, replica.apply_queue.size());
  const std::vector<proto::RaftEntry> entries(replica.apply_queue.begin(), replica.apply_queue.begin() + static_cast<std::ptrdiff_t>(count));
  replica.apply_queue.erase(replica.apply_queue.begin(), replica.apply_queue.begin() + static_cast<std::ptrdiff_t>(count));
  apply(replica, id, entries);
  replica.raft->applied_to(entries.back().index());
  observe(id);
}

std::optional<std::string> RaftTestCluster::deliver_next() {
  if (in_flight_.empty()) return std::nullopt;
  return deliver_at(0);
}

void RaftTestCluster::drop_at(std::size_t position) {
  CAIRN_ASSERT(position < in_flight_.size(), "no queued message at that position");
  in_flight_.erase(in_flight_.begin() + static_cast<std::ptrdiff_t>(position));
}

void RaftTestCluster::duplicate_at(std::size_t position) {
  CAIRN_ASSERT(position < in_flight_.size(), "no queued message at that position");
  in_flight_.push_back(in_flight_[position]);
}

std::string RaftTestCluster::deliver_at(std::size_t position) {
  CAIRN_ASSERT(position < in_flight_.size(), "no queued message at that position");
  InFlightMessage in_flight = std::move(in_flight_[position]);
  in_flight_.erase(in_flight_.begin() + static_cast<std::ptrdiff_t>(position));
  const proto::RaftMessage& message = in_flight.message;
  std::string description = describe_message(message);
  auto target = replicas_.find(message.to());
  if (target == replicas_.end() || target->second.raft == nullptr || cut_links_.contains({message.from(), message.to()})) {
    return description + " DROPPED";
  }
  if (in_flight.snapshot_data) {
    target->second.received_snapshots[message.snapshot().index()] = *in_flight.snapshot_data;
  }
  const Status stepped = target->second.raft->step(message);
  CAIRN_ASSERT(stepped.ok(), "a well-formed message was refused: " + stepped.to_string() + " (" + description + ")");
  observe(message.to());
  return description;
}

std::vector<std::string> RaftTestCluster::stabilize(int max_rounds) {
  std::vector<std::string> delivered;
  for (int round = 0; round < max_rounds; ++round) {
    for (ReplicaId id : ids()) process_ready(id);
    bool applied = false;
    for (ReplicaId id : ids()) {
      if (!up(id) || replicas_.at(id).apply_queue.empty()) continue;
      apply_pending(id, SIZE_MAX);
      applied = true;
    }
    if (applied) continue;  // applying may put membership changes in force: more to do
    if (in_flight_.empty()) return delivered;
    for (std::size_t pending = in_flight_.size(); pending > 0; --pending) delivered.push_back(*deliver_next());
  }
  std::string last;
  for (std::size_t i = delivered.size() > 12 ? delivered.size() - 12 : 0; i < delivered.size(); ++i) last += "\n  " + delivered[i];
  CAIRN_PANIC("the cluster did not stabilize within " + std::to_string(max_rounds) + " rounds; last deliveries:" + last);
}

void RaftTestCluster::tick(ReplicaId id) {
  if (!up(id)) return;
  Replica& replica = replicas_.at(id);
  replica.raft->tick();
  ++replica.ticks;
  check_snapshots(replica);
}

void RaftTestCluster::check_snapshots(Replica& replica) {
  std::vector<SnapshotCheck> waiting;
  for (const SnapshotCheck& check : replica.snapshot_checks) {
    if (check.due_tick > replica.ticks) {
      waiting.push_back(check);
      continue;
    }
    // The same test as the driver's: still waiting for this very snapshot.
    const Progress* progress = replica.raft->progress(check.follower);
    if (progress != nullptr && progress->state() == ProgressState::kSnapshot && progress->pending_snapshot() == check.index) {
      replica.raft->report_snapshot(check.follower, false);
    }
  }
  replica.snapshot_checks = std::move(waiting);
}

void RaftTestCluster::crash(ReplicaId id) {
  Replica& replica = replicas_.at(id);
  replica.raft.reset();
  replica.received_snapshots.clear();
  replica.read_states.clear();
  replica.ticks = 0;
  replica.snapshot_checks.clear();
  replica.apply_queue.clear();
}

void RaftTestCluster::restart(ReplicaId id) {
  Replica& replica = replicas_.at(id);
  CAIRN_ASSERT(replica.raft == nullptr, "restart of a running replica");
  ++incarnations_;
  RaftRecoveredState recovered{.hard_state = replica.disk.hard_state,
                               .snapshot = replica.disk.snapshot,
                               .entries = replica.disk.entries};
  // As the real driver does: a commit index is not synced on its own (must_sync), and whatever
  // the state machine applied was committed.
  if (recovered.hard_state.commit() < replica.disk.state.applied_index) {
    recovered.hard_state.set_commit(replica.disk.state.applied_index);
  }
  replica.raft = std::make_unique<Raft>(options_for(id), std::move(recovered));
  observe(id);
}

void RaftTestCluster::lose_durable_suffix(ReplicaId id, std::size_t count, bool detected) {
  Replica& replica = replicas_.at(id);
  CAIRN_ASSERT(replica.raft == nullptr, "storage damage is found at a restart: crash the replica first");
  std::vector<proto::RaftEntry>& entries = replica.disk.entries;
  const std::size_t lost = std::min(count, entries.size());
  // What the state machine applied stays (it is stored apart, with its index).
  const uint64_t keep_from = replica.disk.state.applied_index;
  std::size_t kept = entries.size() - lost;
  while (kept < entries.size() && entries[kept].index() <= keep_from) ++kept;
  if (kept == entries.size()) return;
  entries.resize(kept);
  if (detected) mark_catching_up(replica.disk);
}

void RaftTestCluster::lose_log(ReplicaId id) {
  Replica& replica = replicas_.at(id);
  CAIRN_ASSERT(replica.raft == nullptr, "storage damage is found at a restart: crash the replica first");
  replica.disk.entries.clear();
  replica.disk.snapshot = proto::RaftSnapshotMetadata{};
  replica.disk.state = TestStateMachine{};
  replica.disk.hard_state.set_commit(0);
  mark_catching_up(replica.disk);
}

Status RaftTestCluster::compact(ReplicaId id, uint64_t index) {
  Replica& replica = replicas_.at(id);
  auto metadata = raft(id).compact(index);
  if (!metadata.ok()) return metadata.status();
  replica.disk.snapshot = *metadata;
  std::erase_if(replica.disk.entries, [&](const proto::RaftEntry& entry) { return entry.index() <= metadata->index(); });
  return Status{};
}

void RaftTestCluster::isolate(ReplicaId id) {
  for (ReplicaId other : ids()) {
    if (other == id) continue;
    cut(id, other);
    cut(other, id);
  }
}

void RaftTestCluster::partition(const std::set<ReplicaId>& side_a, const std::set<ReplicaId>& side_b) {
  for (ReplicaId a : side_a) {
    for (ReplicaId b : side_b) {
      cut(a, b);
      cut(b, a);
    }
  }
}

ReplicaId RaftTestCluster::leader() const {
  ReplicaId leader = 0;
  uint64_t term = 0;
  for (const auto& [id, replica] : replicas_) {
    if (replica.raft && replica.raft->role() == Role::kLeader && replica.raft->term() >= term) {
      leader = id;
      term = replica.raft->term();
    }
  }
  return leader;
}

}  // namespace cairn::raft::testing
