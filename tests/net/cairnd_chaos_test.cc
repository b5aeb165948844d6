// Kill -9 under load, with real processes: three cairnd nodes serve concurrent clients while the
// leader, and later random nodes, are killed with SIGKILL and restarted, again and again. Every
// client operation is recorded with its real-time interval and outcome (a write that got no
// answer is "unknown": it may or may not have happened). Afterwards every node is restarted, a
// final read of every key joins the history, and the whole history must be linearizable by the
// simulator's checker (sim/checkers): so no acknowledged write was lost, and no read saw a value
// it could not have seen.
#include <gtest/gtest.h>

#include <random>

#include "core/kv/kv_client.h"
#include "core/runtime/fiber_scope.h"
#include "net/epoll_runtime.h"
#include "sim/checkers/linearizability_checker.h"
#include "sim/checkers/linearizability_report.h"
#include "tests/net/cairnd_cluster.h"

namespace cairn::net {
namespace {

using sim::linearizability::Function;
using sim::linearizability::History;
using sim::linearizability::Operation;
using sim::linearizability::Outcome;
using testing::CairndCluster;

constexpr int kClients = 4;
constexpr int kKeys = 3;
constexpr int kKills = 6;

int64_t now_nanos(Runtime& runtime) { return runtime.now().time_since_epoch().count(); }

// One client's loop until `stop`: unique values, 70 % writes, 30 % linearizable reads.
void run_client(Runtime& runtime, const std::vector<NodeId>& servers, uint64_t process, const bool& stop,
                History& history) {
  kv::KvClientOptions options;
  options.servers = servers;
  options.reply_service = services::kFirstEphemeralService + static_cast<ServiceId>(process);
  options.attempt_timeout = milliseconds(300);
  auto client = kv::KvClient::create(runtime, options);
  ASSERT_TRUE(client.ok()) << client.status().to_string();
  std::mt19937_64 random(process);
  for (uint64_t sequence = 1; !stop; ++sequence) {
    Operation operation;
    operation.process = process;
    operation.key = "k" + std::to_string(random() % kKeys);
    operation.invoke_time = now_nanos(runtime);
    if (random() % 10 < 7) {
      operation.function = Function::kWrite;
      operation.value = "c" + std::to_string(process) + "-" + std::to_string(sequence);
      Result<proto::KvWriteReply> reply = (*client)->put(operation.key, *operation.value, seconds(2));
      // Without an answer the write may still be applied later: unknown, never "failed".
      operation.outcome = reply.ok() ? Outcome::kOk : Outcome::kUnknown;
    } else {
      operation.function = Function::kRead;
      Result<std::optional<std::string>> read = (*client)->get(operation.key, proto::READ_LINEARIZABLE, seconds(2));
      operation.outcome = read.ok() ? Outcome::kOk : Outcome::kUnknown;
      if (read.ok()) operation.value = *read;
    }
    operation.complete_time = operation.outcome == Outcome::kOk ? now_nanos(runtime) : sim::linearizability::kNeverCompleted;
    history.push_back(std::move(operation));
  }
}

NodeId find_leader(kv::KvClient& client, const std::vector<NodeId>& servers) {
  for (NodeId server : servers) {
    Result<proto::KvStatusReply> status = client.status(server, milliseconds(300));
    if (status.ok() && status->role() == proto::KV_ROLE_LEADER) return server;
  }
  return 0;
}

TEST(CairndChaos, KillNineUnderLoadKeepsTheHistoryLinearizable) {
  CairndCluster cluster(3);
  for (NodeId id : cluster.ids()) cluster.start(id, false);
  const std::vector<NodeId> servers = cluster.ids();

  auto runtime = EpollRuntime::create(testing::client_runtime_options(cluster));
  ASSERT_TRUE(runtime.ok()) << runtime.status().to_string();
  Runtime& rt = **runtime;
  History history;
  int leader_kills = 0;
  (*runtime)->run([&] {
    bool stop = false;
    std::vector<History> histories(kClients);
    {
      FiberScope clients(rt.process());
      for (int i = 0; i < kClients; ++i) {
        clients.spawn("client", [&, i] { run_client(rt, servers, static_cast<uint64_t>(i + 1), stop, histories[i]); });
      }
      kv::KvClientOptions admin_options;
      admin_options.servers = servers;
      admin_options.reply_service = services::kFirstEphemeralService + 50;
      auto admin = kv::KvClient::create(rt, admin_options);
      std::mt19937 random(7);
      for (int kill = 0; kill < kKills; ++kill) {
        rt.sleep(milliseconds(700));
        // The first kills hit the leader (the hard case: in-flight writes, a new election);
        // the later ones a random node.
        NodeId victim = kill < kKills / 2 ? find_leader(**admin, servers) : 0;
        if (victim != 0) ++leader_kills;
        if (victim == 0) victim = servers[random() % servers.size()];
        cluster.kill9(victim);
        rt.sleep(milliseconds(300));
        cluster.start(victim, true);
      }
      rt.sleep(milliseconds(700));
      stop = true;
      clients.join();
    }
    for (History& part : histories) history.insert(history.end(), part.begin(), part.end());
    // Every acknowledged write must still be there: a final read of each key, after the chaos.
    kv::KvClientOptions reader_options;
    reader_options.servers = servers;
    reader_options.reply_service = services::kFirstEphemeralService + 60;
    auto reader = kv::KvClient::create(rt, reader_options);
    for (int key = 0; key < kKeys; ++key) {
      Operation read{.process = 99, .function = Function::kRead, .key = "k" + std::to_string(key)};
      read.invoke_time = now_nanos(rt);
      Result<std::optional<std::string>> value = (*reader)->get(read.key, proto::READ_LINEARIZABLE, seconds(10));
      EXPECT_TRUE(value.ok()) << value.status().to_string();
      read.value = value.ok() ? *value : std::nullopt;
      read.complete_time = now_nanos(rt);
      if (value.ok()) history.push_back(read);
    }
    return 0;
  });

  std::size_t acknowledged_writes = 0;
  for (const Operation& operation : history) {
    acknowledged_writes += operation.function == Function::kWrite && operation.outcome == Outcome::kOk;
  }
  EXPECT_GE(leader_kills, 1);
  EXPECT_GT(acknowledged_writes, 50u) << "too little load to mean anything";
  auto result = sim::linearizability::check_linearizability(history, sim::linearizability::ModelKind::kKeyValue);
  ASSERT_TRUE(result.ok()) << result.status().to_string();
  EXPECT_EQ(result->verdict, sim::linearizability::Verdict::kLinearizable)
      << sim::linearizability::format_violation(*result) << "\n" << history.size() << " operations";
  std::printf("chaos: %zu operations, %zu acknowledged writes, %d leader kills, %d kills\n", history.size(),
              acknowledged_writes, leader_kills, kKills);
}

}  // namespace
}  // namespace cairn::net
