// Simulated links, partitions, clogs and message faults (see sim_network.h).
#include "sim/sim_network.h"

#include "sim/fault_plan.h"
#include "sim/message_description.h"
#include "sim/sim_node.h"
#include "sim/simulator.h"

namespace cairn::sim {

uint64_t NetworkStats::dropped_total() const {
  uint64_t total = 0;
  for (const auto& [reason, count] : dropped) total += count;
  return total;
}

SimNetwork::SimNetwork(Simulator& simulator, const proto::NetworkModel& model, const FaultPlan* faults)
    : simulator_(&simulator), model_(model), faults_(faults), random_(simulator.stream("network")) {}

void SimNetwork::add_node(NodeId node, const std::string& region) { regions_[node] = region; }

bool SimNetwork::fault(proto::FaultKind kind) {
  if (faults_ == nullptr) return false;
  const double rate = faults_->rate(kind);
  return rate > 0 && random_.chance(rate);
}

Duration SimNetwork::latency(NodeId from, NodeId to) {
  const bool same_region = regions_[from] == regions_[to];
  Duration delay = draw_milliseconds(random_, same_region ? model_.local_latency_ms() : model_.wan_latency_ms());
  if (fault(proto::MESSAGE_REORDER)) {
    simulator_->count_fault("message_reorder", from, to);
    delay += draw_milliseconds(random_, faults_->find(proto::MESSAGE_REORDER)->magnitude);
  }
  return delay;
}

void SimNetwork::drop(NodeId from, NodeId to, const std::string& reason, uint64_t message_id) {
  ++stats_.dropped[reason];
  simulator_->trace().record(simulator_->now(), TraceEvent::kDrop, from, to, hash_text(reason), message_id, reason);
}

Status SimNetwork::send(NodeId from, proto::Envelope envelope) {
  const NodeId to = envelope.destination();
  SimNode* destination = simulator_->find_node(to);
  if (destination == nullptr) return Status::not_found("no node " + std::to_string(to) + " in this cluster");
  envelope.set_source(from);
  std::string bytes = envelope.SerializeAsString();
  if (bytes.size() > limits::kMessageBytesMax) {
    return Status::invalid_argument("message of " + std::to_string(bytes.size()) + " bytes exceeds the limit of " +
                                    std::to_string(limits::kMessageBytesMax));
  }
  ++stats_.sent;
  const uint64_t message_id = ++last_message_id_;
  Trace& trace = simulator_->trace();
  trace.record(simulator_->now(), TraceEvent::kSend, from, to, message_id, hash_text(envelope.message_type()),
               trace.logging() ? describe_envelope(envelope) : std::string());
  if (blocked(from, to)) {
    drop(from, to, "partition", message_id);
    return {};
  }
  if (fault(proto::MESSAGE_LOSS)) {
    simulator_->count_fault("message_loss", from, to);
    drop(from, to, "loss", message_id);
    return {};
  }
  const Connection connection{.destination_incarnation = destination->incarnation(),
                              .epoch = connection_epoch(from, to),
                              .message_id = message_id};
  if (fault(proto::MESSAGE_DUPLICATION)) {
    simulator_->count_fault("message_duplication", from, to);
    ++stats_.duplicated;
    Connection copy = connection;
    copy.message_id = ++last_message_id_;
    trace.record(simulator_->now(), TraceEvent::kDuplicate, from, to, message_id, copy.message_id);
    schedule_delivery(from, to, bytes, copy);
  }
  schedule_delivery(from, to, std::move(bytes), connection);
  return {};
}

uint64_t& SimNetwork::connection_epoch(NodeId a, NodeId b) { return connection_epochs_[{std::min(a, b), std::max(a, b)}]; }

void SimNetwork::reset_connection(NodeId a, NodeId b) {
  ++connection_epoch(a, b);
  simulator_->count_fault("connection_reset", a, b);
}

void SimNetwork::schedule_delivery(NodeId from, NodeId to, std::string bytes, Connection connection) {
  if (clogged(from, to)) {
    held_[{from, to}].push_back(HeldMessage{from, to, std::move(bytes), connection});
    return;
  }
  simulator_->schedule(latency(from, to), [this, from, to, bytes = std::move(bytes), connection] {
    deliver(from, to, bytes, connection);
  });
}

void SimNetwork::deliver(NodeId from, NodeId to, const std::string& bytes, Connection connection) {
  proto::Envelope envelope;
  if (!envelope.ParseFromString(bytes)) {
    drop(from, to, "unparseable", connection.message_id);
    return;
  }
  if (blocked(from, to)) {
    drop(from, to, "partition", connection.message_id);
    return;
  }
  SimNode* destination = simulator_->find_node(to);
  if (destination == nullptr || !destination->up()) {
    drop(from, to, "node_down", connection.message_id);
    return;
  }
  if (destination->incarnation() != connection.destination_incarnation ||
      connection_epoch(from, to) != connection.epoch) {
    drop(from, to, "connection_reset", connection.message_id);
    return;
  }
  ++stats_.delivered;
  Trace& trace = simulator_->trace();
  trace.record(simulator_->now(), TraceEvent::kDeliver, to, from, connection.message_id,
               hash_text(envelope.message_type()), trace.logging() ? describe_envelope(envelope) : std::string());
  Status dispatched = destination->deliver(std::move(envelope));
  if (!dispatched.ok()) {
    drop(from, to, dispatched.code() == StatusCode::kNotFound ? "no_service" : "paused_buffer_full",
         connection.message_id);
  }
}

bool SimNetwork::blocked(NodeId from, NodeId to) const {
  auto it = blocked_.find({from, to});
  return it != blocked_.end() && it->second > 0;
}

bool SimNetwork::clogged(NodeId from, NodeId to) const {
  auto it = clogged_.find({from, to});
  return it != clogged_.end() && it->second > 0;
}

uint64_t SimNetwork::block(const std::vector<Link>& links) {
  const uint64_t episode = ++last_episode_;
  for (const Link& link : links) ++blocked_[link];
  block_episodes_[episode] = links;
  return episode;
}

void SimNetwork::unblock(uint64_t episode) {
  auto it = block_episodes_.find(episode);
  if (it == block_episodes_.end()) return;
  for (const Link& link : it->second) {
    if (--blocked_[link] <= 0) blocked_.erase(link);
  }
  block_episodes_.erase(it);
}

uint64_t SimNetwork::clog(const std::vector<Link>& links) {
  const uint64_t episode = ++last_episode_;
  for (const Link& link : links) ++clogged_[link];
  clog_episodes_[episode] = links;
  return episode;
}

void SimNetwork::unclog(uint64_t episode) {
  auto it = clog_episodes_.find(episode);
  if (it == clog_episodes_.end()) return;
  std::vector<Link> released;
  for (const Link& link : it->second) {
    if (--clogged_[link] <= 0) {
      clogged_.erase(link);
      released.push_back(link);
    }
  }
  clog_episodes_.erase(it);
  for (const Link& link : released) {
    auto held = held_.find(link);
    if (held == held_.end()) continue;
    std::vector<HeldMessage> messages = std::move(held->second);
    held_.erase(held);
    for (HeldMessage& message : messages) {
      schedule_delivery(message.from, message.to, std::move(message.bytes), message.connection);
    }
  }
}

void SimNetwork::heal_all() {
  while (!block_episodes_.empty()) unblock(block_episodes_.begin()->first);
  while (!clog_episodes_.empty()) unclog(clog_episodes_.begin()->first);
}

Status NodeNetwork::send(proto::Envelope envelope) {
  SimNetwork& network = node_->simulator().network();
  // The transport's connection to the destination breaks: what was in flight on it is lost.
  if (node_->buggify("transport.connection_reset")) network.reset_connection(node_->node_id(), envelope.destination());
  return network.send(node_->node_id(), std::move(envelope));
}

Result<std::unique_ptr<ServiceBinding>> NodeNetwork::bind(ServiceId service, MessageHandler handler) {
  return node_->services().bind(service, std::move(handler));
}

}  // namespace cairn::sim
