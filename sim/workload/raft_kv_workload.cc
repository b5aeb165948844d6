// RaftKvWorkload: Raft-replicated key-value servers and recording clients (raft_kv_workload.h).
#include "sim/workload/raft_kv_workload.h"

#include <algorithm>
#include <cmath>

#include "core/kv/kv_client.h"
#include "core/runtime/event.h"
#include "sim/checkers/linearizability_checker.h"
#include "sim/checkers/linearizability_report.h"
#include "sim/fault_plan.h"
#include "sim/sim_node.h"

namespace cairn::sim {
namespace {

using linearizability::Function;
using linearizability::Operation;
using linearizability::Outcome;

template <typename T>
T or_default(T value, T fallback) {
  return value == T{} ? fallback : value;
}

// Only a refusal before anything happened is a definite failure; every other error (a deadline,
// a server that stopped mid-request) may hide a write that took effect.
Outcome outcome_of(const Status& status) {
  return status.code() == StatusCode::kInvalidArgument ? Outcome::kFail : Outcome::kUnknown;
}

}  // namespace

std::map<std::string, uint64_t> RaftKvOutcomes::counters() const {
  return {{"writes_ok", writes_ok}, {"writes_failed", writes_failed}, {"reads_ok", reads_ok},
          {"stale_reads", stale_reads}, {"unknown", unknown}, {"leaders", leaders},
          {"committed_entries", committed_entries}, {"membership_changes", membership_changes},
          {"leadership_transfers", leadership_transfers}};
}

RaftKvWorkload::RaftKvWorkload(Simulator& simulator, const proto::RaftKvWorkload& config, std::vector<NodeId> servers,
                               int64_t faults_end)
    : simulator_(&simulator), config_(config), servers_(std::move(servers)), faults_end_(faults_end) {
  draw_knobs();
}

void RaftKvWorkload::draw_knobs() {
  const proto::RaftTuning& tuning = config_.raft();
  const proto::RaftKnobRanges& ranges = config_.knob_ranges();
  Random random = simulator_->stream("knobs");
  // Every knob draws, set or not, so that adding a range does not shift the others' draws.
  auto knob = [&](const char* name, const proto::Range& range, uint64_t fixed) {
    const double drawn = draw(random, range);
    knobs_[name] = range.max() > 0 ? static_cast<uint64_t>(std::llround(drawn)) : fixed;
  };
  knob("election_ticks", ranges.election_ticks(), or_default<uint32_t>(tuning.election_ticks(), 10));
  knob("heartbeat_ticks", ranges.heartbeat_ticks(), or_default<uint32_t>(tuning.heartbeat_ticks(), 2));
  knob("max_clock_drift_ticks", ranges.max_clock_drift_ticks(), or_default<uint32_t>(tuning.max_clock_drift_ticks(), 2));
  knob("max_inflight_appends", ranges.max_inflight_appends(), or_default<uint32_t>(tuning.max_inflight_appends(), 64));
  knob("max_append_bytes", ranges.max_append_bytes(), or_default<uint64_t>(tuning.max_append_bytes(), limits::kAppendBytesDefault));
  knob("compact_after_entries", ranges.compact_after_entries(), or_default<uint64_t>(tuning.compact_after_entries(), 4096));
  knob("compaction_keep_entries", ranges.compaction_keep_entries(),
       or_default<uint64_t>(tuning.compaction_keep_entries(), 512));
  knob("snapshot_chunk_bytes", ranges.snapshot_chunk_bytes(), limits::kSnapshotChunkTargetBytesDefault);
  knob("max_unsynced_indexes", ranges.max_unsynced_indexes(), 1000);
  knob("wal_segment_bytes", ranges.wal_segment_bytes(), 256 << 10);  // small: compaction removes some in short runs
  knob("client_attempt_timeout_ms", ranges.client_attempt_timeout_ms(), 500);
  knob("engine_sync_interval_ms", ranges.engine_sync_interval_ms(), 100);
  // What keeps a drawn configuration safe and live: heartbeats well inside the election timeout
  // (a follower must hear several before it gives up), a lease margin below the timeout.
  uint64_t& election = knobs_["election_ticks"];
  election = std::max<uint64_t>(election, 3);
  knobs_["heartbeat_ticks"] = std::clamp<uint64_t>(knobs_["heartbeat_ticks"], 1, std::max<uint64_t>(1, election / 3));
  knobs_["max_clock_drift_ticks"] = std::clamp<uint64_t>(knobs_["max_clock_drift_ticks"], 1, election - 1);
}

kv::KvNodeOptions RaftKvWorkload::node_options(bool bootstrap) const {
  const proto::RaftTuning& tuning = config_.raft();
  kv::KvNodeOptions options;
  options.groups.clear();
  for (uint64_t group = 1; group <= or_default<uint32_t>(config_.groups(), 1); ++group) options.groups.push_back(group);
  options.voters = initial_voters();
  options.bootstrap = bootstrap;
  const auto knob = [&](const char* name) { return knobs_.at(name); };
  node::StoreOptions& store = options.store;
  store.tick_interval = Duration{static_cast<int64_t>(or_default(tuning.tick_ms(), 10.0) * 1e6)};
  store.raft.election_ticks = static_cast<uint32_t>(knob("election_ticks"));
  store.raft.heartbeat_ticks = static_cast<uint32_t>(knob("heartbeat_ticks"));
  store.raft.max_clock_drift_ticks = static_cast<uint32_t>(knob("max_clock_drift_ticks"));
  store.raft.max_inflight_appends = knob("max_inflight_appends");
  store.raft.max_append_bytes = knob("max_append_bytes");
  store.replica.compact_after_entries = knob("compact_after_entries");
  store.replica.compaction_keep_entries = knob("compaction_keep_entries");
  store.replica.snapshot_chunk_bytes = knob("snapshot_chunk_bytes");
  store.segment_bytes = knob("wal_segment_bytes");
  options.state_machine.max_unsynced_indexes = knob("max_unsynced_indexes");
  store.engine_sync_interval = milliseconds(static_cast<int64_t>(knob("engine_sync_interval_ms")));
  if (tuning.never_quiesce()) store.quiesce_after_ticks = 0;
  store.replica.snapshot_timeout = seconds(2);
  store.replica.observer = const_cast<RaftKvWorkload*>(this);
  options.max_clock_offset = milliseconds(or_default<uint32_t>(tuning.max_clock_offset_ms(), 60'000));
  options.service.request_timeout = milliseconds(static_cast<int64_t>(or_default(config_.request_timeout_ms(), 1000.0)));
  return options;
}

BootFunction RaftKvWorkload::server_boot_function() {
  return [this](Runtime& runtime, const BootContext& context) { run_server(runtime, context); };
}

void RaftKvWorkload::run_server(Runtime& runtime, const BootContext& context) {
  // Only the first start of the cluster creates the groups; a server that restarts without
  // state joins as a blank replica.
  // A spare server (beyond initial_voters) joins blank, waiting to be added.
  const std::vector<NodeId> voters = initial_voters();
  const bool first_voter = std::find(voters.begin(), voters.end(), runtime.node_id()) != voters.end();
  kv::KvNodeOptions options = node_options(context.incarnation == 1 && first_voter);
  // Simulated nodes register too, so the registry's writes meet every fault; the simulated
  // network routes by node id, so the addresses are names only.
  proto::NodeDescriptor descriptor;
  descriptor.set_node(runtime.node_id());
  descriptor.set_peer_address("sim-node-" + std::to_string(runtime.node_id()) + ":7001");
  descriptor.set_client_address(descriptor.peer_address());
  options.self_descriptor = descriptor;
  Duration backoff = milliseconds(10);
  while (true) {
    auto node = kv::KvNode::start(runtime, options);
    if (node.ok()) {
      Event forever;
      forever.wait();
    }
    runtime.logger().log(LogLevel::kError, "kv", "node start failed; retrying", {{"error", node.status().to_string()}});
    runtime.sleep(backoff);
    backoff = std::min(backoff * 2, seconds(1));
  }
}

void RaftKvWorkload::add_clients(const std::string& region, const proto::DiskModel& disk) {
  for (uint32_t i = 0; i < config_.clients(); ++i) {
    const NodeId id = kFirstClientId + i;
    add_program_node(*simulator_, id, region, disk, [this](Runtime& runtime) { run_client(runtime); });
    client_ids_.push_back(id);
  }
  if (config_.membership_changes_per_minute() > 0 || config_.leadership_transfers_per_minute() > 0 ||
      config_.operations_walkthrough()) {
    add_program_node(*simulator_, kAdministratorId, region, disk, [this](Runtime& runtime) { run_administrator(runtime); });
  }
}

void RaftKvWorkload::start() {
  for (NodeId id : client_ids_) simulator_->find_node(id)->start();
  if (SimNode* administrator = simulator_->find_node(kAdministratorId)) administrator->start();
}

void RaftKvWorkload::stop() {
  for (NodeId id : client_ids_) simulator_->find_node(id)->shut_down();
  if (SimNode* administrator = simulator_->find_node(kAdministratorId)) administrator->shut_down();
}

std::vector<NodeId> RaftKvWorkload::initial_voters() const {
  const std::size_t count = config_.initial_voters() == 0 ? servers_.size() : config_.initial_voters();
  CAIRN_ASSERT(count <= servers_.size(), "initial_voters is validated against the servers");
  return std::vector<NodeId>(servers_.begin(), servers_.begin() + static_cast<std::ptrdiff_t>(count));
}

void RaftKvWorkload::run_administrator(Runtime& runtime) {
  if (config_.operations_walkthrough()) {
    run_operations_walkthrough(runtime);
    return;
  }
  Random& random = runtime.random();
  const double churn_rate = config_.membership_changes_per_minute();
  const double transfer_rate = config_.leadership_transfers_per_minute();
  const Duration mean_interval = Duration{static_cast<int64_t>(60e9 / (churn_rate + transfer_rate))};
  while (true) {
    runtime.sleep(random.exponential(mean_interval));
    if (simulator_->now() >= faults_end_) return;
    const uint64_t group = 1 + random.uniform(or_default<uint32_t>(config_.groups(), 1));
    if (random.chance(churn_rate / (churn_rate + transfer_rate))) {
      churn_membership(runtime, group);
    } else {
      transfer_leadership(runtime, group);
    }
  }
}

std::unique_ptr<kv::KvClient> RaftKvWorkload::administrator_client(Runtime& runtime, uint64_t group) {
  kv::KvClientOptions options;
  options.servers = servers_;
  options.group = group;
  options.client_id = runtime.node_id();
  options.reply_service = services::kFirstEphemeralService + 100 + static_cast<ServiceId>(group);
  auto created = kv::KvClient::create(runtime, options);
  CAIRN_ASSERT(created.ok(), created.status().to_string());
  return std::move(created).value();
}

void RaftKvWorkload::transfer_leadership(Runtime& runtime, uint64_t group) {
  std::unique_ptr<kv::KvClient> admin = administrator_client(runtime, group);
  const NodeId target = servers_[runtime.random().uniform(servers_.size())];
  // Whatever the outcome (the target may not be a voter now): the transfer is the exercise.
  if (admin->transfer_leadership(target, seconds(2)).ok()) ++leadership_transfers_;
}

namespace {

// One step of a churn cycle: a change, and the membership that shows it took effect.
struct ChurnStep {
  proto::RaftMembershipChange change;
  std::vector<std::pair<NodeId, bool>> goal;  // replica -> whether it must be a voter (else a learner)
};

ChurnStep churn_step(std::vector<std::pair<NodeId, proto::RaftMembershipChangeKind>> changes, bool joint) {
  ChurnStep step;
  for (const auto& [replica, kind] : changes) {
    proto::RaftReplicaChange* change = step.change.add_changes();
    change->set_replica(replica);
    change->set_kind(kind);
    if (kind != proto::RAFT_REMOVE) step.goal.emplace_back(replica, kind == proto::RAFT_ADD_VOTER);
  }
  if (joint) step.change.set_transition(proto::RAFT_TRANSITION_JOINT_IMPLICIT);
  return step;
}

// The cycles: (0) remove a voter, re-add it as a learner, promote it; (1) demote a voter through
// a joint configuration, promote it; (2) demote two voters in one joint change, promote both in
// another; (3) replace a voter: demote one, then in one joint change promote it and demote
// another, then promote that one.
std::vector<ChurnStep> churn_cycle(Random& random, const std::vector<NodeId>& servers) {
  const NodeId a = servers[random.uniform(servers.size())];
  NodeId b = a;
  while (servers.size() > 1 && b == a) b = servers[random.uniform(servers.size())];
  const uint64_t kind = random.uniform(servers.size() >= 5 ? 4 : servers.size() >= 2 ? 2 : 1);
  using proto::RAFT_ADD_LEARNER;
  using proto::RAFT_ADD_VOTER;
  switch (kind) {
    case 0:
      return {churn_step({{a, proto::RAFT_REMOVE}}, false), churn_step({{a, RAFT_ADD_LEARNER}}, false),
              churn_step({{a, RAFT_ADD_VOTER}}, false)};
    case 1: return {churn_step({{a, RAFT_ADD_LEARNER}}, true), churn_step({{a, RAFT_ADD_VOTER}}, false)};
    case 2:
      return {churn_step({{a, RAFT_ADD_LEARNER}, {b, RAFT_ADD_LEARNER}}, true),
              churn_step({{a, RAFT_ADD_VOTER}, {b, RAFT_ADD_VOTER}}, true)};
    default:
      return {churn_step({{a, RAFT_ADD_LEARNER}}, false),
              churn_step({{a, RAFT_ADD_VOTER}, {b, RAFT_ADD_LEARNER}}, true), churn_step({{b, RAFT_ADD_VOTER}}, false)};
  }
}

}  // namespace

bool RaftKvWorkload::membership_reached(uint64_t group, const std::vector<std::pair<NodeId, bool>>& goal) const {
  auto found = group_views_.find(group);
  if (found == group_views_.end() || found->second.membership.joint()) return false;
  const raft::Membership& membership = found->second.membership;
  return std::all_of(goal.begin(), goal.end(), [&](const std::pair<NodeId, bool>& want) {
    return want.second ? membership.voters().contains(want.first) : membership.learners().contains(want.first);
  });
}

void RaftKvWorkload::churn_membership(Runtime& runtime, uint64_t group) {
  std::unique_ptr<kv::KvClient> admin = administrator_client(runtime, group);
  const std::vector<ChurnStep> steps = churn_cycle(runtime.random(), servers_);
  for (std::size_t step = 0; step < steps.size(); ++step) {
    // The first step may give up after one try; the later ones are retried until they are seen
    // in force, and they run whether or not the first took effect: a timed-out change may still
    // commit long after it was given up (swarm seed 3921 ended with two voters of five when a
    // cycle stopped there and the next one demoted two more). The later steps leave every replica
    // they touch a voter, so each cycle ends where it began, which the quiesce phase expects.
    while (true) {
      auto changed = admin->change_membership(steps[step].change, seconds(2));
      // A promotion refused because the learner is behind is tried again, like a failure.
      if (changed.ok() && !changed->has_not_caught_up()) {
        ++membership_changes_;
        break;
      }
      ++membership_change_failures_;
      runtime.sleep(milliseconds(step == 0 ? 1000 : 100));
      if (step == 0 || membership_reached(group, steps[step].goal)) break;
    }
    runtime.sleep(milliseconds(200));
  }
}

uint64_t RaftKvWorkload::group_of(const std::string& key) const {
  const uint32_t groups = or_default<uint32_t>(config_.groups(), 1);
  return 1 + hash_text(key) % groups;
}

void RaftKvWorkload::run_client(Runtime& runtime) {
  std::map<uint64_t, std::unique_ptr<kv::KvClient>> clients;
  for (uint64_t group = 1; group <= or_default<uint32_t>(config_.groups(), 1); ++group) {
    kv::KvClientOptions options;
    options.servers = servers_;
    options.group = group;
    options.client_id = runtime.node_id();
    options.reply_service = services::kFirstEphemeralService + static_cast<ServiceId>(group);
    options.attempt_timeout = milliseconds(static_cast<int64_t>(knobs_.at("client_attempt_timeout_ms")));
    auto created = kv::KvClient::create(runtime, options);
    CAIRN_ASSERT(created.ok(), created.status().to_string());
    clients[group] = std::move(created).value();
  }
  Random& random = runtime.random();
  const Duration deadline = milliseconds(static_cast<int64_t>(or_default(config_.request_timeout_ms(), 1000.0)));
  const uint32_t keys = or_default<uint32_t>(config_.keys(), 4);
  const uint32_t value_bytes = std::min<uint32_t>(or_default<uint32_t>(config_.value_bytes(), 16), 4096);
  std::map<std::string, linearizability::Value> last_seen;
  uint64_t operation_number = 0;
  while (true) {
    runtime.sleep(draw_milliseconds(random, config_.think_time_ms()));
    // An idle cluster in the quiesce phase: replication must finish without client traffic.
    if (config_.clients_stop_at_quiesce() && simulator_->now() >= faults_end_) return;
    const std::string key = "k" + std::to_string(random.uniform(keys));
    kv::KvClient& client = *clients.at(group_of(key));
    const double roll = random.uniform_double();
    double threshold = config_.read_fraction();
    const bool read = roll < threshold;
    const bool lease_read = !read && roll < (threshold += config_.lease_read_fraction());
    const bool stale_read = !read && !lease_read && roll < (threshold += config_.stale_read_fraction());
    const bool cas = !read && !lease_read && !stale_read && roll < (threshold += config_.cas_fraction());
    const bool remove = !read && !lease_read && !stale_read && !cas && roll < (threshold += config_.delete_fraction());

    if (stale_read && !config_.check_stale_reads()) {
      // Not linearizable by design: it must only return something that was written.
      auto value = client.get(key, proto::READ_STALE, deadline);
      ++stale_reads_;
      if (value.ok() && value->has_value() && !written_values_.contains(**value) &&
          stale_read_problems_.size() < 5) {
        stale_read_problems_.push_back("a stale read of " + key + " returned \"" + **value + "\", never written");
      }
      continue;
    }

    Operation operation;
    operation.process = runtime.node_id();
    operation.key = key;
    operation.invoke_time = simulator_->now();
    operation.outcome = Outcome::kUnknown;
    std::string value = "c" + std::to_string(runtime.node_id()) + "-" + std::to_string(++operation_number);
    while (value.size() < value_bytes) value.push_back('.');
    if (read || lease_read || stale_read) {
      operation.function = Function::kRead;
    } else if (cas) {
      operation.function = Function::kCas;
      operation.expected = last_seen[key];
      operation.value = value;
    } else if (remove) {
      operation.function = Function::kDelete;
    } else {
      operation.function = Function::kWrite;
      operation.value = value;
      written_values_.insert(value);
    }
    if (cas) written_values_.insert(value);
    const std::size_t index = history_.size();
    history_.push_back(operation);
    Trace& trace = simulator_->trace();
    const auto consistency_name = [&] { return stale_read ? " stale" : lease_read ? " lease" : read ? " linearizable" : ""; };
    trace.record(simulator_->now(), TraceEvent::kClientInvoke, runtime.node_id(), index,
                 static_cast<uint64_t>(operation.function),
                 0, trace.logging() ? std::string(linearizability::function_name(operation.function)) + " " + key +
                                          (operation.function == Function::kRead ? "" : " " + value) + consistency_name()
                                    : std::string());

    Outcome outcome = Outcome::kUnknown;
    linearizability::Value observed = operation.value;
    if (operation.function == Function::kRead) {
      const proto::ReadConsistency consistency =
          stale_read ? proto::READ_STALE : lease_read ? proto::READ_LEASE : proto::READ_LINEARIZABLE;
      auto result = client.get(key, consistency, deadline);
      if (result.ok()) {
        outcome = Outcome::kOk;
        observed = *result;
        last_seen[key] = *result;
      } else {
        outcome = outcome_of(result.status());
      }
    } else {
      Result<proto::KvWriteReply> reply = Status::internal("unset");
      if (operation.function == Function::kCas) {
        proto::KvCompareAndSet request;
        request.set_key(key);
        if (operation.expected) {
          request.set_expected(*operation.expected);
        } else {
          request.set_expect_absent(true);
        }
        request.set_value(value);
        reply = client.compare_and_set(request, deadline);
      } else if (operation.function == Function::kDelete) {
        reply = client.remove(key, deadline);
      } else {
        reply = client.put(key, value, deadline);
      }
      if (reply.ok()) {
        outcome = reply->result().succeeded() ? Outcome::kOk : Outcome::kFail;
        if (outcome == Outcome::kOk) {
          oracle_.observe_acknowledged(group_of(key), reply->index(), reply->term());
          write_order_.acknowledged_request[index] = {group_of(key), client.client_id(), client.last_request_id()};
          last_seen[key] = operation.function == Function::kDelete ? linearizability::Value{} : operation.value;
        } else {
          last_seen[key] = reply->result().found() ? linearizability::Value(reply->result().current())
                                                   : linearizability::Value{};
        }
      } else {
        outcome = outcome_of(reply.status());
      }
    }
    Operation& done = history_[index];
    done.complete_time = simulator_->now();
    done.outcome = outcome;
    if (done.function == Function::kRead) done.value = observed;
    trace.record(simulator_->now(), TraceEvent::kClientComplete, runtime.node_id(), index, static_cast<uint64_t>(outcome),
                 hash_text(observed.value_or("")),
                 trace.logging() ? std::string(linearizability::outcome_name(outcome)) +
                                       (done.function == Function::kRead ? " " + linearizability::describe_value(observed) : "")
                                 : std::string());
  }
}

// ---------------------------------------------------------------------------------------------
// Observing replicas.

void RaftKvWorkload::on_raft_state(NodeId node, const raft::Raft& raft) {
  oracle_.observe_log(raft.group(), node, raft.log());
  GroupView& view = group_views_[raft.group()];
  view.replicas[node] = ReplicaView{.role = raft.role(),
                                    .term = raft.term(),
                                    .committed = raft.log().committed(),
                                    .applied = raft.log().applied(),
                                    .incarnation = simulator_->find_node(node)->incarnation()};
  if (raft.role() != raft::Role::kLeader) return;
  oracle_.observe_leader(raft.group(), node, raft.term(), raft.log());
  if (raft.term() >= view.leader_term) {
    view.leader = node;
    view.leader_term = raft.term();
    if (!(view.membership == raft.membership())) view.membership = raft.membership();
  }
}

void RaftKvWorkload::on_applied(NodeId node, uint64_t group, const proto::RaftEntry& entry) {
  oracle_.observe_applied(group, node, entry);
  record_write_order(group, entry);
}

void RaftKvWorkload::record_write_order(uint64_t group, const proto::RaftEntry& entry) {
  if (entry.type() != proto::RAFT_ENTRY_NORMAL || entry.data().empty()) return;
  proto::KvCommand command;
  if (!command.ParseFromString(entry.data())) return;
  // The first application of a request, or a value, is where it was written (a retried request
  // that deduplication skipped reappears later in the log).
  if (command.request_id() != 0) {
    write_order_.request_index.emplace(WriteOrder::Request{group, command.client_id(), command.request_id()}, entry.index());
  }
  switch (command.operation_case()) {
    case proto::KvCommand::kPut: write_order_.value_index.emplace(command.put().value(), entry.index()); break;
    case proto::KvCommand::kDelete: write_order_.delete_indexes[command.delete_().key()].insert(entry.index()); break;
    case proto::KvCommand::kCompareAndSet: {
      const proto::KvCompareAndSet& cas = command.compare_and_set();
      if (cas.delete_on_match()) {
        write_order_.delete_indexes[cas.key()].insert(entry.index());
      } else {
        write_order_.value_index.emplace(cas.value(), entry.index());
      }
      break;
    }
    case proto::KvCommand::kRegisterNode:  // the node registry: no client key
    case proto::KvCommand::OPERATION_NOT_SET: break;
  }
}

// ---------------------------------------------------------------------------------------------
// Who leads (ClusterView).

NodeId RaftKvWorkload::leader_of(uint64_t group) const {
  auto found = group_views_.find(group);
  if (found == group_views_.end()) return 0;
  const GroupView& view = found->second;
  // The leader of the highest term, if the process that said so still runs and has not said
  // otherwise since.
  SimNode* node = simulator_->find_node(view.leader);
  auto replica = view.replicas.find(view.leader);
  if (node == nullptr || !node->up() || replica == view.replicas.end() || replica->second.role != raft::Role::kLeader ||
      replica->second.term != view.leader_term || replica->second.incarnation != node->incarnation()) {
    return 0;
  }
  return view.leader;
}

std::vector<uint64_t> RaftKvWorkload::groups_with_leader() const {
  std::vector<uint64_t> groups;
  for (const auto& [group, view] : group_views_) {
    if (leader_of(group) != 0) groups.push_back(group);
  }
  return groups;
}

std::vector<NodeId> RaftKvWorkload::followers_of(uint64_t group) const {
  std::vector<NodeId> followers;
  const NodeId leader = leader_of(group);
  if (leader == 0) return followers;
  for (NodeId member : group_views_.at(group).membership.members()) {
    if (member != leader) followers.push_back(member);
  }
  return followers;
}

// ---------------------------------------------------------------------------------------------
// Checks.

RaftKvOutcomes RaftKvWorkload::outcomes() const {
  RaftKvOutcomes outcomes;
  for (const Operation& operation : history_) {
    const bool write = operation.function != Function::kRead;
    if (operation.complete_time == linearizability::kNeverCompleted || operation.outcome == Outcome::kUnknown) {
      ++outcomes.unknown;
    } else if (operation.outcome == Outcome::kFail) {
      ++outcomes.writes_failed;
    } else if (write) {
      ++outcomes.writes_ok;
    } else {
      ++outcomes.reads_ok;
    }
  }
  outcomes.stale_reads = stale_reads_;
  outcomes.leaders = oracle_.leaders_seen();
  outcomes.committed_entries = oracle_.committed_entries();
  outcomes.membership_changes = membership_changes_;
  outcomes.leadership_transfers = leadership_transfers_;
  return outcomes;
}

CheckOutcome RaftKvWorkload::check_linearizable() const {
  CheckOutcome outcome{.check = proto::LINEARIZABLE, .passed = false, .detail = ""};
  if (!stale_read_problems_.empty()) {
    outcome.detail = stale_read_problems_.front();
    return outcome;
  }
  auto result = linearizability::check_linearizability(history_, linearizability::ModelKind::kKeyValue);
  if (!result.ok()) {
    outcome.detail = "the history could not be checked: " + result.status().to_string();
    return outcome;
  }
  switch (result->verdict) {
    case linearizability::Verdict::kLinearizable: outcome.passed = true; break;
    case linearizability::Verdict::kNotLinearizable: outcome.detail = linearizability::format_violation(*result); break;
    case linearizability::Verdict::kUnknown:
      outcome.detail = "the linearizability search ran out of budget on " +
                       std::to_string(result->undecided_keys.size()) + " key(s)";
      break;
  }
  return outcome;
}

CheckOutcome RaftKvWorkload::check_raft_safety() const {
  CheckOutcome outcome{.check = proto::RAFT_SAFETY, .passed = oracle_.ok(), .detail = ""};
  for (const std::string& violation : oracle_.violations()) {
    outcome.detail += (outcome.detail.empty() ? "" : "; ") + violation;
  }
  return outcome;
}

void RaftKvWorkload::mark_quiesce_started() {
  for (const auto& [group, view] : group_views_) {
    uint64_t& committed = committed_at_quiesce_[group];
    for (const auto& [node, replica] : view.replicas) committed = std::max(committed, replica.committed);
  }
}

void RaftKvWorkload::find_lagging_replicas(const std::map<uint64_t, uint64_t>& committed, const std::string& when) {
  for (const auto& [group, index] : committed) {
    const NodeId leader = leader_of(group);
    if (leader == 0) {
      // The configuration says whether a quorum could exist at all (which replicas it needs).
      catch_up_problems_.push_back("group " + std::to_string(group) + " had no leader " + when +
                                   "; its last configuration known: " + raft::describe(group_views_.at(group).membership));
      continue;
    }
    for (NodeId member : group_views_.at(group).membership.members()) {
      if (excused_from_catch_up_.contains(member)) continue;
      const auto& replicas = group_views_.at(group).replicas;
      auto replica = replicas.find(member);
      const uint64_t applied = replica == replicas.end() ? 0 : replica->second.applied;
      if (applied >= index) continue;
      catch_up_problems_.push_back("replica " + std::to_string(member) + " of group " + std::to_string(group) +
                                   " had applied index " + std::to_string(applied) + ", short of " +
                                   std::to_string(index) + ", " + when);
    }
  }
}

void RaftKvWorkload::mark_run_ended() {
  find_lagging_replicas(committed_at_quiesce_, "at the end of the quiesce phase (what was committed when the faults stopped)");
  if (!config_.clients_stop_at_quiesce()) return;
  std::map<uint64_t, uint64_t> leader_committed;
  for (const auto& [group, view] : group_views_) {
    if (const NodeId leader = leader_of(group); leader != 0) leader_committed[group] = view.replicas.at(leader).committed;
  }
  find_lagging_replicas(leader_committed, "at the end of the idle quiesce phase (all its leader committed)");
}

CheckOutcome RaftKvWorkload::check_replicas_caught_up() const {
  CheckOutcome outcome{.check = proto::REPLICAS_CATCH_UP, .passed = catch_up_problems_.empty(), .detail = ""};
  for (std::size_t i = 0; i < catch_up_problems_.size() && i < 5; ++i) {
    outcome.detail += (i == 0 ? "" : "; ") + catch_up_problems_[i];
  }
  return outcome;
}

namespace {

CheckOutcome session_outcome(proto::Check check, const std::vector<std::string>& violations) {
  CheckOutcome outcome{.check = check, .passed = violations.empty(), .detail = ""};
  for (const std::string& violation : violations) outcome.detail += (outcome.detail.empty() ? "" : "; ") + violation;
  return outcome;
}

}  // namespace

CheckOutcome RaftKvWorkload::check_read_your_writes() const {
  return session_outcome(proto::READ_YOUR_WRITES, check_sessions(history_, write_order_).read_your_writes);
}

CheckOutcome RaftKvWorkload::check_monotonic_reads() const {
  return session_outcome(proto::MONOTONIC_READS, check_sessions(history_, write_order_).monotonic_reads);
}

CheckOutcome RaftKvWorkload::check_liveness(int64_t quiesce_started_at, int64_t ended_at) const {
  CheckOutcome outcome{.check = proto::LIVENESS, .passed = true, .detail = ""};
  const int64_t from = quiesce_started_at + (ended_at - quiesce_started_at) / 2;
  for (NodeId client : client_ids_) {
    const bool progressed = std::any_of(history_.begin(), history_.end(), [&](const Operation& operation) {
      return operation.process == client && operation.outcome != Outcome::kUnknown &&
             operation.complete_time != linearizability::kNeverCompleted && operation.complete_time >= from;
    });
    if (!progressed) {
      outcome.passed = false;
      outcome.detail = "client " + std::to_string(client) + " completed no operation in the second half of the quiesce phase";
      return outcome;
    }
  }
  return outcome;
}

}  // namespace cairn::sim
