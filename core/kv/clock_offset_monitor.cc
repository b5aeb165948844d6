// ClockOffsetMonitor: clock pings and the out-of-line rule (clock_offset_monitor.h).
#include "core/kv/clock_offset_monitor.h"

#include <algorithm>
#include <cstdlib>

#include "core/proto/kv.pb.h"

namespace cairn::kv {
namespace {

constexpr std::string_view kComponent = "clock";

std::string milliseconds_text(Duration duration) {
  return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(duration).count()) + " ms";
}

}  // namespace

ClockOffsetMonitor::ClockOffsetMonitor(Runtime& runtime, ClockOffsetMonitorOptions options,
                                       std::function<std::vector<NodeId>()> peers)
    : runtime_(&runtime),
      options_(options),
      peers_(std::move(peers)),
      started_incarnation_(runtime.random().next_u64() | 1),  // never 0, which means "not serving"
      out_of_line_gauge_(runtime.metrics().gauge(
          "cairn_clock_out_of_line",
          "1 while this node's wall clock is beyond the maximum clock offset from most of its peers' (it does not serve).")),
      server_(runtime, services::kClock, 64),
      fibers_(runtime.process()) {
  CAIRN_ASSERT(options_.max_offset.count() > 0 && options_.ping_interval.count() > 0, "clock monitor options out of range");
}

ClockOffsetMonitor::~ClockOffsetMonitor() { fibers_.cancel(); }

Status ClockOffsetMonitor::start() {
  server_.add_handler<proto::ClockPing, proto::ClockPingReply>([this](const RpcContext&, const proto::ClockPing&) {
    proto::ClockPingReply reply;
    const uint64_t incarnation = options_.incarnation ? options_.incarnation() : started_incarnation_;
    if (incarnation == 0) return Result<proto::ClockPingReply>(Status::unavailable("this node serves nothing now"));
    reply.set_wall_nanos(runtime_->wall_now().time_since_epoch().count());
    reply.set_incarnation(incarnation);
    return Result<proto::ClockPingReply>(reply);
  });
  CAIRN_RETURN_IF_ERROR(server_.start());
  CAIRN_ASSIGN_OR_RETURN(client_, RpcClient::create(*runtime_, services::kClockReplies, 256));
  out_of_line_gauge_.set(0);
  fibers_.spawn("clock-monitor", [this] { run(); });
  return Status{};
}

void ClockOffsetMonitor::run() {
  while (true) {
    runtime_->sleep(options_.ping_interval);
    ping_all();
    judge();
  }
}

void ClockOffsetMonitor::ping_all() {
  struct Ping {
    NodeId peer = 0;
    WallTime sent_wall{};
    MonotonicTime sent{};
    Future<proto::Envelope> reply;
  };
  std::vector<Ping> pings;
  for (NodeId peer : peers_()) {
    if (peer == runtime_->node_id()) continue;
    const WallTime sent_wall = runtime_->wall_now();
    const MonotonicTime sent = runtime_->now();
    pings.push_back(Ping{.peer = peer, .sent_wall = sent_wall, .sent = sent,
                         .reply = client_->start_call(peer, services::kClock, proto::ClockPing{}, options_.ping_timeout)});
  }
  for (Ping& ping : pings) {
    Result<proto::Envelope> envelope = ping.reply.get();
    Result<proto::ClockPingReply> reply = envelope.ok() ? RpcClient::unpack_response<proto::ClockPingReply>(*envelope)
                                                        : Result<proto::ClockPingReply>(envelope.status());
    if (options_.on_ping) options_.on_ping(ping.peer, reply.ok(), reply.ok() ? reply->incarnation() : 0);
    if (!reply.ok()) continue;  // unanswered: its last measurement ages out
    const Duration round_trip = runtime_->now() - ping.sent;
    const Duration peer_minus_sent = Duration{reply->wall_nanos()} - ping.sent_wall.time_since_epoch();
    record(ping.peer, Measurement{.offset_low = peer_minus_sent - round_trip,
                                  .offset_high = peer_minus_sent,
                                  .measured_at = runtime_->now()});
  }
}

void ClockOffsetMonitor::record(NodeId peer, Measurement measurement) {
  CAIRN_ASSERT(measurement.offset_low <= measurement.offset_high, "an offset interval runs forwards");
  const Duration midpoint = measurement.offset_low + (measurement.offset_high - measurement.offset_low) / 2;
  runtime_->metrics()
      .gauge("cairn_clock_offset_seconds", "A peer's wall clock minus this node's, as last measured (the middle of the bound).",
             {{"peer", std::to_string(peer)}})
      .set(to_seconds(midpoint));
  measurements_[peer] = measurement;
}

bool ClockOffsetMonitor::beyond(const Measurement& measurement) const {
  return measurement.offset_low > options_.max_offset || measurement.offset_high < -options_.max_offset;
}

void ClockOffsetMonitor::judge() {
  std::size_t measured = 0;
  std::vector<std::string> beyond_peers;
  for (const auto& [peer, measurement] : measurements_) {
    if (runtime_->now() - measurement.measured_at > options_.measurement_lifetime) continue;
    ++measured;
    if (!beyond(measurement)) continue;
    const Duration closest = measurement.offset_low > Duration{0} ? measurement.offset_low : -measurement.offset_high;
    beyond_peers.push_back("node " + std::to_string(peer) + " " + (measurement.offset_low > Duration{0} ? "ahead" : "behind") +
                           " by at least " + milliseconds_text(closest));
  }
  const bool out_of_line = measured > 0 && 2 * beyond_peers.size() > measured;
  if (out_of_line == out_of_line_) return;
  out_of_line_ = out_of_line;
  out_of_line_gauge_.set(out_of_line ? 1 : 0);
  if (!out_of_line) {
    reason_.clear();
    runtime_->logger().log(LogLevel::kInfo, kComponent, "this node's clock is back within the maximum offset; serving again",
                           {{"max_offset", format_duration(options_.max_offset)}});
    return;
  }
  runtime_->probe("clock.node_out_of_line");
  std::string peers_text;
  for (const std::string& peer : beyond_peers) peers_text += (peers_text.empty() ? "" : ", ") + peer;
  reason_ = "this node's clock is beyond the maximum offset (" + milliseconds_text(options_.max_offset) + ") from " +
            std::to_string(beyond_peers.size()) + " of the " + std::to_string(measured) + " peers measured (" +
            peers_text + "): not serving until it is fixed";
  runtime_->logger().log(LogLevel::kError, kComponent, "clock out of line with the cluster; not serving",
                         {{"max_offset", format_duration(options_.max_offset)}, {"peers", peers_text}});
}

}  // namespace cairn::kv
