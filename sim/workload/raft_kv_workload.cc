// RaftKvWorkload: Raft-replicated key-value servers and recording clients (raft_kv_workload.h).
#include "sim/workload/raft_kv_workload.h"

#include <algorithm>

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
          {"committed_entries", committed_entries}, {"membership_changes", membership_changes}};
}

RaftKvWorkload::RaftKvWorkload(Simulator& simulator, const proto::RaftKvWorkload& config, std::vector<NodeId> servers,
                               int64_t faults_end)
    : simulator_(&simulator), config_(config), servers_(std::move(servers)), faults_end_(faults_end) {}

kv::KvNodeOptions RaftKvWorkload::node_options(bool bootstrap) const {
  const proto::RaftTuning& tuning = config_.raft();
  kv::KvNodeOptions options;
  options.groups.clear();
  for (uint64_t group = 1; group <= or_default<uint32_t>(config_.groups(), 1); ++group) options.groups.push_back(group);
  options.voters = servers_;
  options.bootstrap = bootstrap;
  replica::RaftReplicaOptions& replica = options.replica;
  replica.tick_interval = Duration{static_cast<int64_t>(or_default(tuning.tick_ms(), 10.0) * 1e6)};
  replica.raft.election_ticks = or_default<uint32_t>(tuning.election_ticks(), 10);
  replica.raft.heartbeat_ticks = or_default<uint32_t>(tuning.heartbeat_ticks(), 2);
  replica.raft.max_clock_drift_ticks = or_default<uint32_t>(tuning.max_clock_drift_ticks(), 2);
  replica.raft.max_inflight_appends = or_default<uint32_t>(tuning.max_inflight_appends(), 64);
  replica.raft.max_append_bytes = or_default<uint64_t>(tuning.max_append_bytes(), uint64_t{1} << 20);
  replica.compact_after_entries = or_default<uint64_t>(tuning.compact_after_entries(), 4096);
  replica.compaction_keep_entries = or_default<uint64_t>(tuning.compaction_keep_entries(), 512);
  replica.segment_bytes = 256 << 10;  // small segments: compaction removes some in short runs
  replica.snapshot_timeout = seconds(2);
  replica.observer = const_cast<RaftKvWorkload*>(this);
  options.service.request_timeout = milliseconds(static_cast<int64_t>(or_default(config_.request_timeout_ms(), 1000.0)));
  return options;
}

BootFunction RaftKvWorkload::server_boot_function() {
  return [this](Runtime& runtime, const BootContext& context) { run_server(runtime, context); };
}

void RaftKvWorkload::run_server(Runtime& runtime, const BootContext& context) {
  // Only the first start of the cluster creates the groups; a server that restarts without
  // state joins as a blank replica.
  const kv::KvNodeOptions options = node_options(context.incarnation == 1);
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
  if (config_.membership_changes_per_minute() > 0) {
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

void RaftKvWorkload::run_administrator(Runtime& runtime) {
  Random& random = runtime.random();
  const Duration mean_interval = Duration{static_cast<int64_t>(60e9 / config_.membership_changes_per_minute())};
  while (true) {
    runtime.sleep(random.exponential(mean_interval));
    if (simulator_->now() >= faults_end_) return;
    const uint64_t group = 1 + random.uniform(or_default<uint32_t>(config_.groups(), 1));
    churn_membership(runtime, group);
  }
}

void RaftKvWorkload::churn_membership(Runtime& runtime, uint64_t group) {
  kv::KvClientOptions options;
  options.servers = servers_;
  options.group = group;
  options.client_id = runtime.node_id();
  options.reply_service = services::kFirstEphemeralService + 100 + static_cast<ServiceId>(group);
  auto created = kv::KvClient::create(runtime, options);
  CAIRN_ASSERT(created.ok(), created.status().to_string());
  std::unique_ptr<kv::KvClient> admin = std::move(created).value();
  const NodeId target = servers_[runtime.random().uniform(servers_.size())];
  const bool joint = runtime.random().chance(0.5);
  // Either remove the voter outright, or demote it to a learner through a joint configuration;
  // then bring it back as a learner (if removed) and promote it.
  std::vector<proto::RaftMembershipChange> steps(3);
  if (joint) {
    steps[0].add_changes()->set_replica(target);
    steps[0].mutable_changes(0)->set_kind(proto::RAFT_ADD_LEARNER);
    steps[0].set_transition(proto::RAFT_TRANSITION_JOINT_IMPLICIT);
    steps.erase(steps.begin() + 1);
  } else {
    steps[0].add_changes()->set_replica(target);
    steps[0].mutable_changes(0)->set_kind(proto::RAFT_REMOVE);
    steps[1].add_changes()->set_replica(target);
    steps[1].mutable_changes(0)->set_kind(proto::RAFT_ADD_LEARNER);
  }
  steps.back().add_changes()->set_replica(target);
  steps.back().mutable_changes(0)->set_kind(proto::RAFT_ADD_VOTER);
  for (std::size_t step = 0; step < steps.size(); ++step) {
    // The first step may give up (though a timed-out change may still have happened); the
    // later ones are retried until they succeed, since every step after the first moves the
    // replica back towards being a voter, which the quiesce phase expects of every server.
    while (true) {
      auto changed = admin->change_membership(steps[step], seconds(2));
      if (changed.ok()) {
        ++membership_changes_;
        break;
      }
      ++membership_change_failures_;
      if (step == 0) break;
      runtime.sleep(milliseconds(100));
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
    simulator_->trace().record(simulator_->now(), TraceEvent::kClientInvoke, runtime.node_id(), index,
                               static_cast<uint64_t>(operation.function));

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
    simulator_->trace().record(simulator_->now(), TraceEvent::kClientComplete, runtime.node_id(), index,
                               static_cast<uint64_t>(outcome), hash_text(observed.value_or("")));
  }
}

// ---------------------------------------------------------------------------------------------
// Observing replicas.

void RaftKvWorkload::on_ready(NodeId node, const raft::Raft& raft) {
  oracle_.observe_log(raft.group(), node, raft.log());
  if (raft.role() == raft::Role::kLeader) oracle_.observe_leader(raft.group(), node, raft.term(), raft.log());
}

void RaftKvWorkload::on_applied(NodeId node, uint64_t group, const proto::RaftEntry& entry) {
  oracle_.observe_applied(group, node, entry);
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
