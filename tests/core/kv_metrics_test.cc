// The database's metrics, end to end in the simulator: three servers run the replicated
// key-value store, a client writes and reads through it, and the servers' registries must show
// the WAL's syncs, the replicas' proposals and Raft state, and the requests KvService answered —
// and keep counting after a server restarts, since a registry belongs to the machine.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/kv/kv_client.h"
#include "core/kv/kv_node.h"
#include "core/metrics/metrics_registry.h"
#include "core/runtime/event.h"
#include "tests/sim/sim_harness.h"

namespace cairn::kv {
namespace {

constexpr NodeId kServers[] = {1, 2, 3};
constexpr NodeId kClientNode = 100;
constexpr int kWrites = 20;

const metrics::Labels kGroupOne = {{"group", "1"}};

// Reads a counter back (the help text is the registration's concern, not the reader's).
uint64_t counter_value(metrics::MetricsRegistry& registry, std::string_view name, metrics::Labels labels = {}) {
  return registry.counter(name, "", std::move(labels)).value();
}
double gauge_value(metrics::MetricsRegistry& registry, std::string_view name, metrics::Labels labels = {}) {
  return registry.gauge(name, "", std::move(labels)).value();
}
uint64_t histogram_count(metrics::MetricsRegistry& registry, std::string_view name, metrics::Labels labels,
                         std::vector<double> bounds) {
  return registry.histogram(name, "", std::move(labels), std::move(bounds)).count();
}
uint64_t request_count(metrics::MetricsRegistry& registry, std::string op) {
  return histogram_count(registry, "cairn_kv_request_seconds", {{"op", std::move(op)}},
                         metrics::latency_buckets_seconds());
}

class KvCluster {
 public:
  explicit KvCluster(uint64_t seed)
      : world_(seed, 3, [](Runtime& runtime, const sim::BootContext& context) { serve(runtime, context); }) {
    sim::add_program_node(world_.simulator, kClientNode, "r", sim::testing::fast_disk(),
                          [this](Runtime& runtime) { run_client(runtime); });
  }

  void start() { world_.start_all(); }
  bool run_until_client_done(Duration limit) {
    return world_.simulator.run_until(world_.simulator.now() + limit.count(), [this] { return client_done_; });
  }
  void run_for(Duration duration) { world_.run_for(duration); }
  sim::SimNode& node(NodeId id) { return world_.node(id); }
  const std::vector<std::string>& client_errors() const { return client_errors_; }

 private:
  static void serve(Runtime& runtime, const sim::BootContext& context) {
    KvNodeOptions options;
    options.voters = {std::begin(kServers), std::end(kServers)};
    options.bootstrap = context.incarnation == 1;
    auto node = KvNode::start(runtime, options);
    ASSERT_TRUE(node.ok()) << node.status().to_string();
    Event forever;
    forever.wait();
  }

  void run_client(Runtime& runtime) {
    KvClientOptions options;
    options.servers = {std::begin(kServers), std::end(kServers)};
    auto client = KvClient::create(runtime, options);
    ASSERT_TRUE(client.ok()) << client.status().to_string();
    for (int i = 0; i < kWrites; ++i) {
      auto written = (*client)->put("key" + std::to_string(i), "value", seconds(10));
      if (!written.ok()) client_errors_.push_back(written.status().to_string());
    }
    auto read = (*client)->get("key0", proto::READ_LINEARIZABLE, seconds(10));
    if (!read.ok()) client_errors_.push_back(read.status().to_string());
    // Refused by the leader: one INVALID_ARGUMENT, which the client does not retry.
    auto refused = (*client)->put("", "value", seconds(10));
    if (refused.status().code() != StatusCode::kInvalidArgument) client_errors_.push_back("an empty key was accepted");
    write_through_a_follower(runtime, **client);
    client_done_ = true;
  }

  // A second client that asks a follower first, so that its write is redirected once.
  void write_through_a_follower(Runtime& runtime, KvClient& client) {
    NodeId follower = 0;
    for (NodeId server : kServers) {
      auto status = client.status(server, seconds(1));
      if (status.ok() && status->role() == proto::KV_ROLE_FOLLOWER) follower = server;
    }
    if (follower == 0) {
      client_errors_.push_back("no follower found");
      return;
    }
    KvClientOptions options;
    options.servers = {follower};
    options.reply_service = services::kFirstEphemeralService + 1;
    auto second = KvClient::create(runtime, options);
    ASSERT_TRUE(second.ok()) << second.status().to_string();
    auto written = (*second)->put("redirected", "value", seconds(10));
    if (!written.ok()) client_errors_.push_back(written.status().to_string());
  }

  std::vector<std::string> client_errors_;
  bool client_done_ = false;
  sim::testing::World world_;
};

uint64_t leaders_now(KvCluster& cluster) {
  uint64_t leaders = 0;
  for (NodeId server : kServers) {
    leaders += gauge_value(cluster.node(server).metrics(), "cairn_raft_is_leader", kGroupOne) == 1 ? 1 : 0;
  }
  return leaders;
}

// Sums and maxima over the servers, so that the checks hold whichever server led (elections
// differ between seeds, and between builds of the same seed).
void expect_cluster_metrics(uint64_t seed) {
  SCOPED_TRACE("seed " + std::to_string(seed));
  KvCluster cluster(seed);
  cluster.start();
  ASSERT_TRUE(cluster.run_until_client_done(seconds(60)));
  EXPECT_TRUE(cluster.client_errors().empty()) << cluster.client_errors().front();
  // Quiet time without faults: followers learn the last commit index, no election is running.
  cluster.run_for(seconds(1));
  EXPECT_EQ(leaders_now(cluster), 1u) << "cairn_raft_is_leader should be 1 on exactly one server";

  uint64_t proposals = 0;
  uint64_t puts = 0;
  uint64_t gets = 0;
  uint64_t status_requests = 0;
  uint64_t invalid_puts = 0;
  uint64_t redirected_puts = 0;
  uint64_t leaders_seen = 0;
  for (NodeId server : kServers) {
    SCOPED_TRACE("server " + std::to_string(server));
    metrics::MetricsRegistry& metrics = cluster.node(server).metrics();
    const uint64_t syncs = counter_value(metrics, "cairn_wal_syncs_total");
    EXPECT_GT(syncs, 0u);
    EXPECT_EQ(histogram_count(metrics, "cairn_wal_fsync_seconds", {}, metrics::latency_buckets_seconds()), syncs);
    EXPECT_EQ(histogram_count(metrics, "cairn_wal_records_per_sync", {}, metrics::count_buckets()), syncs);
    // The simulated disk's sync takes 0.1 ms: the fsync histogram measured time, not zeros.
    EXPECT_GT(metrics.histogram("cairn_wal_fsync_seconds", "", {}, metrics::latency_buckets_seconds()).sum(), 0);
    EXPECT_EQ(counter_value(metrics, "cairn_wal_sync_failures_total"), 0u);
    EXPECT_GE(gauge_value(metrics, "cairn_raft_term", kGroupOne), 1);
    EXPECT_GE(gauge_value(metrics, "cairn_raft_commit_index", kGroupOne), kWrites + 1);
    EXPECT_GE(gauge_value(metrics, "cairn_raft_applied_index", kGroupOne), kWrites + 1);
    proposals += counter_value(metrics, "cairn_raft_proposals_total", kGroupOne);
    leaders_seen += counter_value(metrics, "cairn_raft_leader_changes_total", kGroupOne);
    puts += request_count(metrics, "put");
    gets += request_count(metrics, "get");
    status_requests += request_count(metrics, "status");
    invalid_puts += counter_value(metrics, "cairn_kv_request_errors_total", {{"op", "put"}, {"code", "invalid_argument"}});
    redirected_puts += counter_value(metrics, "cairn_kv_redirects_total", {{"op", "put"}});

    const std::string text = metrics.render_prometheus();
    EXPECT_NE(text.find("# TYPE cairn_wal_fsync_seconds histogram\n"), std::string::npos) << text;
    EXPECT_NE(text.find("cairn_raft_term{group=\"1\"} "), std::string::npos) << text;
  }
  // Every acknowledged write (kWrites, and the redirected one) was appended by some leader.
  EXPECT_GE(proposals, static_cast<uint64_t>(kWrites + 1));
  EXPECT_GE(puts, static_cast<uint64_t>(kWrites + 2));  // with the refused one
  EXPECT_GE(gets, 1u);
  EXPECT_EQ(status_requests, 3u);
  EXPECT_EQ(invalid_puts, 1u);
  EXPECT_GE(redirected_puts, 1u);
  EXPECT_GE(leaders_seen, 3u) << "every server should have learned of a leader";
}

TEST(KvMetrics, ASimulatedClusterReportsWalRaftAndRequestMetrics) {
  for (uint64_t seed = 1; seed <= 5; ++seed) expect_cluster_metrics(seed);
}

TEST(KvMetrics, AServersMetricsKeepCountingAcrossARestart) {
  KvCluster cluster(5);
  cluster.start();
  ASSERT_TRUE(cluster.run_until_client_done(seconds(60)));
  sim::SimNode& server = cluster.node(2);
  metrics::Counter& syncs = server.metrics().counter("cairn_wal_syncs_total", "");
  const uint64_t before = syncs.value();
  ASSERT_GT(before, 0u);
  server.crash();
  server.start();
  cluster.run_for(seconds(2));
  // The same object, still counting: recovery and catching up sync the log again.
  EXPECT_EQ(&syncs, &server.metrics().counter("cairn_wal_syncs_total", ""));
  EXPECT_GT(syncs.value(), before);
  EXPECT_GE(gauge_value(server.metrics(), "cairn_raft_applied_index", kGroupOne), kWrites);
}

}  // namespace
}  // namespace cairn::kv
