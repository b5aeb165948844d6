// Scans larger than one reply (core/kv/kv_service.h scan_reply_bytes_max): the server stops a
// page at its byte limit and says where to resume, and KvClient::scan fetches the pages at the
// first one's timestamp until its limit. With a 300-byte page, twenty 100-byte values take
// several pages and must come back whole and in order.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/kv/kv_client.h"
#include "core/kv/kv_node.h"
#include "core/runtime/event.h"
#include "tests/sim/sim_harness.h"

namespace cairn::kv {
namespace {

constexpr NodeId kServers[] = {1, 2, 3};

void serve(Runtime& runtime, const sim::BootContext& context) {
  KvNodeOptions options;
  options.voters = {std::begin(kServers), std::end(kServers)};
  options.bootstrap = context.incarnation == 1;
  options.service.scan_reply_bytes_max = 300;
  auto node = KvNode::start(runtime, options);
  ASSERT_TRUE(node.ok()) << node.status().to_string();
  Event forever;
  forever.wait();
}

TEST(KvScanPaging, AScanLargerThanAReplyComesBackWholeAndInOrder) {
  std::vector<std::string> keys_seen;
  std::string failure;
  bool done = false;
  sim::testing::World world(11, 3, serve);
  sim::add_program_node(world.simulator, 100, "r", sim::testing::fast_disk(), [&](Runtime& runtime) {
    KvClientOptions options;
    options.servers = {std::begin(kServers), std::end(kServers)};
    auto client = KvClient::create(runtime, options);
    ASSERT_TRUE(client.ok());
    for (int i = 0; i < 20; ++i) {
      const std::string key = "key" + std::string(i < 10 ? "0" : "") + std::to_string(i);
      if (auto put = (*client)->put(key, std::string(100, 'v'), seconds(10)); !put.ok()) failure = put.status().to_string();
    }
    auto scanned = (*client)->scan("", "", 1000, proto::READ_LINEARIZABLE, seconds(10));
    if (!scanned.ok()) {
      failure = scanned.status().to_string();
    } else {
      for (const proto::KvEntry& entry : *scanned) keys_seen.push_back(entry.key());
    }
    auto limited = (*client)->scan("", "", 5, proto::READ_LINEARIZABLE, seconds(10));
    if (!limited.ok() || limited->size() != 5) failure = "a scan with limit 5 did not return 5 entries";
    done = true;
  });
  world.start_all();
  ASSERT_TRUE(world.simulator.run_until(world.simulator.now() + seconds(60).count(), [&] { return done; }));
  ASSERT_TRUE(failure.empty()) << failure;
  ASSERT_EQ(keys_seen.size(), 20u);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(keys_seen[i], "key" + std::string(i < 10 ? "0" : "") + std::to_string(i));
  uint64_t scans = 0;
  for (NodeId server : kServers) {
    scans += world.node(server).metrics().histogram("cairn_kv_request_seconds", "", {{"op", "scan"}},
                                                    metrics::latency_buckets_seconds()).count();
  }
  EXPECT_GE(scans, 7u) << "twenty 104-byte rows in 300-byte pages take at least seven pages";
}

}  // namespace
}  // namespace cairn::kv
