// SimNetwork: the simulated network between all nodes of a run.
//
// A message is serialized when sent and parsed when delivered (so the wire format is exercised
// on every simulated hop), and takes a latency drawn per message from its link's range: the
// local range within a region, the WAN range between regions. Faults, each per the run's fault
// plan: loss, duplication, reordering (an extra delay for some messages), partitions (directed
// links blocked: symmetric, one-way, isolating a node, splitting majority from minority), and
// clogs (directed links that hold messages until the clog lifts, then deliver them).
//
// A message addressed to a node that is down, or that restarted since the message was sent (its
// connections would have been reset), is dropped; so is every message in flight between two
// nodes when their connection is reset (reset_connection, the transport's buggify site).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "core/proto/scenario.pb.h"
#include "core/runtime/limits.h"
#include "core/runtime/network.h"
#include "core/runtime/random.h"

namespace cairn::sim {

class Simulator;
class FaultPlan;
class SimNode;

using Link = std::pair<NodeId, NodeId>;  // (from, to)

struct NetworkStats {
  uint64_t sent = 0;
  uint64_t delivered = 0;
  uint64_t duplicated = 0;
  std::map<std::string, uint64_t> dropped;  // by reason
  uint64_t dropped_total() const;
};

class SimNetwork {
 public:

  SimNetwork(Simulator& simulator, const proto::NetworkModel& model, const FaultPlan* faults);

  void add_node(NodeId node, const std::string& region);
  Status send(NodeId from, proto::Envelope envelope);

  // Episodes; each returns an id to end it with. Overlapping episodes stack.
  uint64_t block(const std::vector<Link>& links);
  void unblock(uint64_t episode);
  uint64_t clog(const std::vector<Link>& links);
  void unclog(uint64_t episode);
  // Ends every partition and clog (clogged messages are then delivered).
  void heal_all();

  // Drops every message in flight between `a` and `b`, both ways, as a reset TCP connection does.
  void reset_connection(NodeId a, NodeId b);

  bool blocked(NodeId from, NodeId to) const;
  bool clogged(NodeId from, NodeId to) const;
  const NetworkStats& stats() const { return stats_; }

 private:
  // What a message in flight must still find at delivery: the destination's incarnation and the
  // connection it was sent on.
  struct Connection {
    uint64_t destination_incarnation = 0;
    uint64_t epoch = 0;
    uint64_t message_id = 0;  // names the message in the trace (its send and its delivery)
  };
  struct HeldMessage {
    NodeId from;
    NodeId to;
    std::string bytes;
    Connection connection;
  };

  Duration latency(NodeId from, NodeId to);
  void schedule_delivery(NodeId from, NodeId to, std::string bytes, Connection connection);
  void deliver(NodeId from, NodeId to, const std::string& bytes, Connection connection);
  uint64_t& connection_epoch(NodeId a, NodeId b);
  void drop(NodeId from, NodeId to, const std::string& reason, uint64_t message_id);
  bool fault(proto::FaultKind kind);

  Simulator* simulator_;
  proto::NetworkModel model_;
  const FaultPlan* faults_;
  Random random_;
  std::map<NodeId, std::string> regions_;
  std::map<Link, int> blocked_;
  std::map<Link, int> clogged_;
  std::map<uint64_t, std::vector<Link>> block_episodes_;
  std::map<uint64_t, std::vector<Link>> clog_episodes_;
  std::map<Link, std::vector<HeldMessage>> held_;
  std::map<Link, uint64_t> connection_epochs_;  // (lower id, higher id) -> resets so far
  uint64_t last_episode_ = 0;
  uint64_t last_message_id_ = 0;
  NetworkStats stats_;
};

// The Network interface of one simulated node, forwarding to the shared SimNetwork.
class NodeNetwork final : public Network {
 public:
  explicit NodeNetwork(SimNode& node) : node_(&node) {}
  Status send(proto::Envelope envelope) override;
  Result<std::unique_ptr<ServiceBinding>> bind(ServiceId service, MessageHandler handler) override;

 private:
  SimNode* node_;
};

}  // namespace cairn::sim
