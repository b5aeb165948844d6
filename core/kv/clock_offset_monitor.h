// ClockOffsetMonitor: measures this node's wall clock against its peers' and tells the node to
// stop serving while its clock is out of line with the cluster's by more than the maximum clock
// offset — the bound hybrid-clock timestamps rely on (core/runtime/hybrid_clock.h), beyond which
// a node would stamp writes and answer reads with timestamps the others cannot order.
//
// Every ping interval it pings each peer (ClockPing); the answer carries the peer's wall clock r.
// With this node's wall clock at t0 when it sent and t0 + rtt when the answer came (rtt from the
// monotonic clock, so a step in between cannot fake one), the peer read r at some moment between:
// the peer's offset from this node lies in [r - t0 - rtt, r - t0]. A peer is beyond when that
// whole interval lies outside +-max_offset: certain, not an estimate, whatever the network did.
//
// One peer beyond says two clocks disagree, not which one is wrong. This node is out of line when
// more than half of the peers measured within the last `measurement_lifetime` are beyond: then it
// is the odd one out (CockroachDB's rule). In a cluster of two, each sees the other beyond and
// both stop: with no majority, neither can tell whose clock is right. A node with no peer
// measured is in line.
//
// Out of line is logged at error (the offsets named), counted in metrics
// (cairn_clock_out_of_line, cairn_clock_offset_seconds per peer), and read by the node
// (KvNode refuses client requests and hands its leaderships over); back in line, at info.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/metrics/metrics_registry.h"
#include "core/runtime/fiber_scope.h"
#include "core/runtime/rpc.h"
#include "core/runtime/runtime.h"

namespace cairn::kv {

struct ClockOffsetMonitorOptions {
  Duration max_offset = milliseconds(500);
  Duration ping_interval = seconds(1);
  Duration ping_timeout = milliseconds(500);
  // A measurement older than this no longer counts (the peer may be down, or its clock fixed).
  Duration measurement_lifetime = seconds(5);
  // Told every ping's outcome (answered within ping_timeout or not, and the peer's incarnation,
  // 0 when unanswered): the node's failure detector is built on the same pings (KvNode). Null:
  // nobody listens.
  std::function<void(NodeId peer, bool answered, uint64_t incarnation)> on_ping = nullptr;
  // This node's incarnation, sent in every answer (ClockPingReply.incarnation); 0: the node
  // serves nothing (its Store failed), and pings go unanswered so that peers suspect it. Null:
  // one drawn when the monitor starts.
  std::function<uint64_t()> incarnation = nullptr;
};

class ClockOffsetMonitor {
 public:
  // `peers` lists the nodes to ping (called every interval; this node is skipped).
  ClockOffsetMonitor(Runtime& runtime, ClockOffsetMonitorOptions options, std::function<std::vector<NodeId>()> peers);
  ~ClockOffsetMonitor();

  // Answers pings and starts pinging.
  Status start();

  bool in_line() const { return !out_of_line_; }
  // Why this node does not serve (empty while in line): its offsets from the peers beyond.
  const std::string& out_of_line_reason() const { return reason_; }

 private:
  struct Measurement {
    Duration offset_low{0};   // the peer's clock minus this node's, at least
    Duration offset_high{0};  // and at most
    MonotonicTime measured_at{};
  };

  void run();
  void ping_all();
  // Folds a measurement in; re-decides whether this node is out of line.
  void record(NodeId peer, Measurement measurement);
  void judge();
  bool beyond(const Measurement& measurement) const;

  Runtime* runtime_;
  ClockOffsetMonitorOptions options_;
  std::function<std::vector<NodeId>()> peers_;
  std::map<NodeId, Measurement> measurements_;
  bool out_of_line_ = false;
  std::string reason_;
  uint64_t started_incarnation_;  // drawn at construction, when options_.incarnation is null
  metrics::Gauge& out_of_line_gauge_;
  RpcServer server_;
  std::unique_ptr<RpcClient> client_;
  FiberScope fibers_;  // last: its fibers use everything above
};

}  // namespace cairn::kv
