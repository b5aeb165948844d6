// KvNode: a key-value server's Raft groups, routing and client service (kv_node.h).
#include "core/kv/kv_node.h"

#include "core/runtime/fiber.h"
#include "core/kv/kv_client.h"
#include "storage/kv/database_files.h"

namespace cairn::kv {

KvNode::KvNode(Runtime& runtime, KvNodeOptions options)
    : runtime_(&runtime), options_(std::move(options)), host_(runtime), fibers_(runtime.process()) {}

KvNode::~KvNode() {
  stopping_ = true;
  fibers_.cancel();
  service_.reset();
}

Result<std::unique_ptr<KvNode>> KvNode::start(Runtime& runtime, KvNodeOptions options) {
  std::unique_ptr<KvNode> node(new KvNode(runtime, std::move(options)));
  CAIRN_RETURN_IF_ERROR(node->host_.start());
  for (uint64_t group : node->options_.groups) {
    if (Status opened = node->open_group(group); !opened.ok()) {
      runtime.logger().log(LogLevel::kError, "kv", "group failed to start",
                           {{"group", group}, {"error", opened.to_string()}});
    }
  }
  node->service_ = std::make_unique<KvService>(
      runtime, [raw = node.get()](uint64_t group) { return raw->find(group); }, node->options_.service);
  CAIRN_RETURN_IF_ERROR(node->service_->start());
  // A kill that struck while a group opened can come back from below as an error rather than as
  // the unwinding (raft_kv_storage_faults, seed 164: the layer that turns it into a status is not
  // found yet, see docs/storage.md): a killed process starts nothing more, it goes on unwinding.
  if (!runtime.process().alive()) throw FiberCancelled{};
  node->fibers_.spawn("kv-supervisor", [raw = node.get()] { raw->supervise(); });
  if (node->options_.self_descriptor) node->fibers_.spawn("kv-register", [raw = node.get()] { raw->register_self(); });
  return node;
}

std::string KvNode::database_path(uint64_t group) const {
  return options_.directory + "/g" + std::to_string(group) + "/kv/data.db";
}

Status KvNode::open_group(uint64_t group) {
  const std::string directory = options_.directory + "/g" + std::to_string(group);
  KvStateMachineOptions machine_options = options_.state_machine;
  machine_options.engine.path = database_path(group);
  if (group == kRegistryGroup) {
    machine_options.on_node_registered = [this](const proto::NodeDescriptor& descriptor) { learn_node(descriptor); };
  }
  CAIRN_ASSIGN_OR_RETURN(auto machine, KvStateMachine::open_machine(*runtime_, machine_options));
  KvStateMachine* raw_machine = machine.get();
  if (group == kRegistryGroup) {
    CAIRN_ASSIGN_OR_RETURN(std::vector<proto::NodeDescriptor> known, raw_machine->node_registry());
    for (const proto::NodeDescriptor& descriptor : known) learn_node(descriptor);
  }
  replica::RaftReplicaOptions replica_options = options_.replica;
  replica_options.group = group;
  replica_options.directory = directory;
  replica_options.bootstrap_voters = options_.bootstrap ? options_.voters : std::vector<NodeId>{};
  CAIRN_ASSIGN_OR_RETURN(auto replica, replica::RaftReplica::start(*runtime_, replica_options, std::move(machine)));
  state_machines_[group] = raw_machine;
  host_.set_replica(group, std::move(replica));
  return Status{};
}

KvGroup KvNode::find(uint64_t group) {
  std::shared_ptr<replica::RaftReplica> replica = host_.find(group);
  if (replica == nullptr || !replica->failed().ok()) return KvGroup{};
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

Status KvNode::reopen_group(uint64_t group) {
  // The failure may have been a sync whose pages the cache still shows but the disk will never
  // get: the reopened database must not build on them (database_files.h).
  CAIRN_RETURN_IF_ERROR(storage::rewrite_database_files_through_cache(runtime_->file_system(), database_path(group))
                            .with_context("making the database durable before the restart"));
  runtime_->probe("kv.node.database_rewritten_before_restart");
  return open_group(group);
}

void KvNode::supervise() {
  while (!stopping_) {
    runtime_->sleep(options_.restart_delay);
    for (uint64_t group : options_.groups) {
      std::shared_ptr<replica::RaftReplica> replica = host_.find(group);
      if (replica != nullptr && replica->failed().ok()) continue;
      if (replica != nullptr) {
        runtime_->logger().log(LogLevel::kWarning, "kv", "restarting replica",
                               {{"group", group}, {"error", replica->failed().to_string()}});
        state_machines_.erase(group);
        host_.remove_replica(group);
        replica.reset();
        if (stopping_) return;
      }
      ++replica_restarts_;
      if (Status opened = reopen_group(group); !opened.ok()) {
        runtime_->logger().log(LogLevel::kError, "kv", "replica restart failed",
                               {{"group", group}, {"error", opened.to_string()}});
      }
    }
  }
}

}  // namespace cairn::kv
