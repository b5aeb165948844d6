// KvNode: a key-value server's Store of ranges and client service (kv_node.h).
#include "core/kv/kv_node.h"

#include <set>

#include "core/runtime/fiber.h"
#include "core/kv/kv_client.h"
#include "storage/kv/database_files.h"

namespace cairn::kv {

KvNode::KvNode(Runtime& runtime, KvNodeOptions options)
    : runtime_(&runtime),
      options_(std::move(options)),
      clock_(runtime, options_.max_clock_offset),
      fibers_(runtime.process()) {}

KvNode::~KvNode() {
  stopping_ = true;
  fibers_.cancel();
  service_.reset();
  state_machines_.clear();
  store_.reset();
}

Result<std::unique_ptr<KvNode>> KvNode::start(Runtime& runtime, KvNodeOptions options) {
  std::unique_ptr<KvNode> node(new KvNode(runtime, std::move(options)));
  CAIRN_RETURN_IF_ERROR(node->refuse_single_group_format());
  if (Status opened = node->open_store(); !opened.ok()) {
    // The supervisor retries, as after any failure.
    runtime.logger().log(LogLevel::kError, "kv", "store failed to start", {{"error", opened.to_string()}});
  }
  // A kill that struck while a group opened can come back from below as an error rather than as
  // the unwinding (raft_kv_storage_faults, seed 164: the layer that turns it into a status is not
  // found yet, see docs/storage.md): a killed process starts nothing more, it goes on unwinding.
  if (!runtime.process().alive()) throw FiberCancelled{};
  ClockOffsetMonitorOptions monitor_options = node->options_.clock_monitor;
  monitor_options.max_offset = node->options_.max_clock_offset;
  monitor_options.on_ping = [raw = node.get()](NodeId peer, bool answered, uint64_t incarnation) {
    raw->on_ping(peer, answered, incarnation);
  };
  monitor_options.incarnation = [raw = node.get()] {
    return raw->store_ != nullptr && raw->store_->failed().ok() ? raw->store_incarnation_ : uint64_t{0};
  };
  node->clock_monitor_ = std::make_unique<ClockOffsetMonitor>(runtime, monitor_options,
                                                              [raw = node.get()] { return raw->peers(); });
  CAIRN_RETURN_IF_ERROR(node->clock_monitor_->start());
  node->service_ = std::make_unique<KvService>(
      runtime, node->clock_, [raw = node.get()](uint64_t group) { return raw->find(group); }, node->options_.service,
      node->clock_monitor_.get());
  CAIRN_RETURN_IF_ERROR(node->service_->start());
  node->fibers_.spawn("kv-supervisor", [raw = node.get()] { raw->supervise(); });
  if (node->options_.self_descriptor) node->fibers_.spawn("kv-register", [raw = node.get()] { raw->register_self(); });
  return node;
}

Status KvNode::refuse_single_group_format() {
  for (uint64_t group : options_.groups) {
    const std::string old_directory = options_.directory + "/g" + std::to_string(group);
    CAIRN_ASSIGN_OR_RETURN(bool exists, runtime_->file_system().exists(old_directory));
    if (exists) {
      return Status::failed_precondition("the data directory '" + options_.directory +
                                         "' holds the single-group format of Cairn before ranges ('" + old_directory +
                                         "'); this build keeps every range in '" + store_directory() +
                                         "': start it with an empty data directory");
    }
  }
  return Status{};
}

Result<std::shared_ptr<node::StateMachine>> KvNode::open_state_machine(
    node::RangeId range, const std::shared_ptr<storage::KvEngine>& engine) {
  KvStateMachineOptions machine_options = options_.state_machine;
  machine_options.range_id = range;
  // Until ranges split, each range holds a keyspace of its own (the client names it by its
  // group); the registry's range holds the system keys.
  machine_options.keyspace = range;
  machine_options.holds_system_keys = range == kRegistryGroup;
  machine_options.clock = &clock_;
  if (range == kRegistryGroup) {
    machine_options.on_node_registered = [this](const proto::NodeDescriptor& descriptor) { learn_node(descriptor); };
  }
  CAIRN_ASSIGN_OR_RETURN(std::unique_ptr<KvStateMachine> machine, KvStateMachine::open_range(*runtime_, engine, machine_options));
  if (range == kRegistryGroup) {
    CAIRN_ASSIGN_OR_RETURN(std::vector<proto::NodeDescriptor> known, machine->node_registry());
    for (const proto::NodeDescriptor& descriptor : known) learn_node(descriptor);
  }
  state_machines_[range] = machine.get();
  return std::shared_ptr<node::StateMachine>(std::move(machine));
}

Status KvNode::open_store() {
  CAIRN_ASSERT(store_ == nullptr, "one Store at a time");
  node::StoreOptions store_options = options_.store;
  store_options.directory = store_directory();
  CAIRN_ASSIGN_OR_RETURN(
      std::unique_ptr<node::Store> store,
      node::Store::open_store(*runtime_, std::move(store_options), [this](node::RangeId range, const std::shared_ptr<storage::KvEngine>& engine) {
        return open_state_machine(range, engine);
      }));
  const std::vector<NodeId> bootstrap_voters = options_.bootstrap ? options_.voters : std::vector<NodeId>{};
  for (uint64_t group : options_.groups) {
    if (Status added = store->add_range(group, bootstrap_voters); !added.ok()) {
      state_machines_.clear();
      return added.with_context("range " + std::to_string(group));
    }
  }
  store_ = std::move(store);
  store_incarnation_ = runtime_->random().next_u64() | 1;  // never 0: "not serving"
  // A reopened Store starts trusting every peer: it learns what the failure detector knows.
  for (const auto& [peer, suspected] : peer_suspected_) {
    if (suspected) store_->set_peer_suspected(peer, true);
  }
  return Status{};
}

void KvNode::on_ping(NodeId peer, bool answered, uint64_t incarnation) {
  // A peer whose Store reopened between two pings (a restart, or a reopening after a storage
  // error) lost its ranges' commit indexes and leaderships: quiet ranges it is in wake up as if
  // it had been suspected and came back (a learner there could not wake its quiet leader by
  // campaigning).
  if (answered) {
    uint64_t& known = peer_incarnations_[peer];
    if (known != 0 && known != incarnation) {
      runtime_->probe("kv.node.peer_restarted");
      if (store_ != nullptr && store_->failed().ok()) store_->set_peer_restarted(peer);
    }
    known = incarnation;
  }
  // Two unanswered pings in a row make a peer suspect. One is not enough: on a lossy network,
  // followers of a quiet range that all lost a ping to its live leader would wake, time out
  // together and depose it (raft_kv_quiet_ranges found it at 1 % of seeds).
  uint32_t& missed = peer_missed_pings_[peer];
  missed = answered ? 0 : missed + 1;
  bool& suspected = peer_suspected_[peer];
  const bool suspect_now = missed >= kPingsMissedBeforeSuspicion;
  if (suspected == suspect_now) return;
  suspected = suspect_now;
  runtime_->probe(suspected ? "kv.node.peer_suspected" : "kv.node.peer_trusted_again");
  runtime_->logger().log(LogLevel::kDebug, "kv", suspected ? "peer suspected: a ping went unanswered" : "peer answers again",
                         {{"peer", peer}});
  if (store_ != nullptr && store_->failed().ok()) store_->set_peer_suspected(peer, suspected);
}

KvGroup KvNode::find(uint64_t group) {
  if (store_ == nullptr || !store_->failed().ok()) return KvGroup{};
  std::shared_ptr<node::RangeReplica> replica = store_->find(group);
  if (replica == nullptr) return KvGroup{};
  return KvGroup{.replica = std::move(replica), .state_machine = state_machines_.at(group)};
}

void KvNode::learn_node(const proto::NodeDescriptor& descriptor) {
  CAIRN_ASSERT(descriptor.node() != 0, "the registry holds no node 0");
  if (descriptor.node() == runtime_->node_id()) return;
  std::string& known = peer_addresses_[descriptor.node()];
  if (known == descriptor.peer_address()) return;
  known = descriptor.peer_address();
  runtime_->network().learn_address(descriptor.node(), descriptor.peer_address());
  runtime_->logger().log(LogLevel::kInfo, "kv", "node registered",
                         {{"registered_node", descriptor.node()}, {"peer_address", descriptor.peer_address()},
                          {"client_address", descriptor.client_address()}, {"http_address", descriptor.http_address()}});
}

void KvNode::register_self() {
  CAIRN_ASSERT(options_.self_descriptor.has_value(), "registering needs a descriptor");
  KvClientOptions client_options;
  client_options.servers = options_.voters;
  if (client_options.servers.empty()) client_options.servers.push_back(runtime_->node_id());
  client_options.group = kRegistryGroup;
  client_options.reply_service = services::kNodeRegistration;
  // A joining node knows only its seeds: a redirect teaches it where the leader is.
  client_options.learn_addresses = KvClientOptions::LearnAddresses::kPeer;
  Result<std::unique_ptr<KvClient>> client = KvClient::create(*runtime_, client_options);
  if (!client.ok()) {
    runtime_->logger().log(LogLevel::kError, "kv", "cannot register this node", {{"error", client.status().to_string()}});
    return;
  }
  Duration backoff = milliseconds(100);
  while (!stopping_) {
    Result<proto::KvWriteReply> registered = (*client)->register_node(*options_.self_descriptor, seconds(5));
    if (registered.ok()) {
      runtime_->logger().log(LogLevel::kInfo, "kv", "this node registered its addresses",
                             {{"peer_address", options_.self_descriptor->peer_address()},
                              {"client_address", options_.self_descriptor->client_address()},
                              {"index", registered->index()}});
      return;
    }
    if (registered.status().code() == StatusCode::kInvalidArgument) {
      runtime_->logger().log(LogLevel::kError, "kv", "the registry refused this node's addresses",
                             {{"error", registered.status().to_string()}});
      return;
    }
    runtime_->logger().log(LogLevel::kDebug, "kv", "registration not done yet; retrying",
                           {{"error", registered.status().to_string()}});
    runtime_->sleep(backoff);
    backoff = std::min(backoff * 2, Duration{seconds(5)});
  }
}

Status KvNode::reopen_store() {
  // The failure may have been a sync whose pages the cache still shows but the disk will never
  // get: the reopened database must not build on them (database_files.h).
  CAIRN_RETURN_IF_ERROR(
      storage::rewrite_database_files_through_cache(runtime_->file_system(), store_directory() + "/data.db")
          .with_context("making the database durable before the restart"));
  runtime_->probe("kv.node.database_rewritten_before_restart");
  return open_store();
}

std::vector<NodeId> KvNode::peers() const {
  if (store_ == nullptr) return {};
  std::set<NodeId> members = store_->member_nodes();  // a copy: the Store may change it meanwhile
  members.erase(runtime_->node_id());
  return {members.begin(), members.end()};
}

void KvNode::hand_over_leaderships() {
  CAIRN_ASSERT(!clock_monitor_->in_line(), "leaderships are handed over only by a node out of line");
  if (store_ == nullptr) return;
  // The ranges as they are now: a transfer blocks, and the Store may change meanwhile.
  std::vector<std::shared_ptr<node::RangeReplica>> replicas;
  for (node::RangeId range : store_->ranges()) replicas.push_back(store_->find(range));
  for (const std::shared_ptr<node::RangeReplica>& replica : replicas) {
    const node::ReplicaStatus status = replica->status();
    const uint64_t group = replica->id();
    if (status.role != raft::Role::kLeader) continue;
    for (NodeId voter : status.membership.voters()) {
      if (voter == runtime_->node_id()) continue;
      runtime_->probe("kv.node.leadership_handed_over_for_clock");
      runtime_->logger().log(LogLevel::kWarning, "kv", "handing leadership over: this node's clock is out of line",
                             {{"group", group}, {"to", voter}});
      (void)replica->transfer_leadership(voter, options_.restart_delay);
      break;
    }
  }
}

void KvNode::supervise() {
  while (!stopping_) {
    runtime_->sleep(options_.restart_delay);
    if (!clock_monitor_->in_line()) hand_over_leaderships();
    if (store_ != nullptr && store_->failed().ok()) continue;
    if (store_ != nullptr) {
      runtime_->logger().log(LogLevel::kWarning, "kv", "reopening the store", {{"error", store_->failed().to_string()}});
      state_machines_.clear();
      store_.reset();
      if (stopping_) return;
    }
    ++replica_restarts_;
    if (Status opened = reopen_store(); !opened.ok()) {
      runtime_->logger().log(LogLevel::kError, "kv", "store reopening failed", {{"error", opened.to_string()}});
    }
  }
}

}  // namespace cairn::kv
