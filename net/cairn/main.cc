// cairn: the command-line client of a Cairn cluster. It speaks the native protocol (framed
// protobuf over TCP, the transport cairnd's peers use) through the same KvClient the simulator
// tests: leader redirects are followed, and a write keeps one request id across its retries so
// it is never applied twice.
//
//   cairn put greeting hello
//   cairn get greeting [--consistency lease]
//   cairn cluster status
//
// Exit status: 0 done; 1 the key does not exist (get) or the cluster refused the request;
// 2 bad usage; 3 no answer in time (a write may or may not have been applied).
#include <CLI/CLI.hpp>

#include <iostream>
#include <map>
#include <random>
#include <vector>

#include "core/runtime/version.h"
#include "core/kv/kv_client.h"
#include "net/cairn/bench.h"
#include "net/cairn/cluster_commands.h"
#include "net/cairn/exit_codes.h"
#include "net/cairn/endpoints.h"
#include "net/epoll_runtime.h"
#include "net/http/proto_json.h"

namespace cairn::net {
namespace {

struct GlobalFlags {
  std::string endpoints = kDefaultEndpoints;
  double timeout_seconds = 5;
  bool json = false;
  std::string log_level = "error";
};

struct CommandFlags {
  std::string key;
  std::string value;
  std::string start;
  std::string end;
  uint32_t limit = 0;
  std::string consistency = "linearizable";
  uint64_t node = 0;
  bool learner = false;
  bool wait = false;
};

proto::ReadConsistency consistency_of(const std::string& name) {
  if (name == "lease") return proto::READ_LEASE;
  if (name == "stale") return proto::READ_STALE;
  return proto::READ_LINEARIZABLE;
}

// Runs `command` with a KvClient on a fresh client runtime; returns its exit status.
int with_client(const GlobalFlags& flags,
                const std::function<int(Runtime&, kv::KvClient&, const std::map<NodeId, std::string>&)>& command) {
  Result<std::map<NodeId, std::string>> endpoints = parse_endpoints(flags.endpoints);
  if (!endpoints.ok()) {
    std::cerr << "cairn: --endpoints: " << endpoints.status().message() << "\n";
    return kExitUsage;
  }
  EpollRuntime::Options options;
  // A random id far above any server's: the servers answer over the connection it opens.
  options.node_id = (uint64_t{1} << 62) | (std::random_device{}() * uint64_t{0x9e3779b97f4a7c15} >> 2);
  options.peers = *endpoints;
  options.handle_signals = false;
  parse_log_level(flags.log_level, options.log_level);
  Result<std::unique_ptr<EpollRuntime>> runtime = EpollRuntime::create(options);
  if (!runtime.ok()) {
    std::cerr << "cairn: " << runtime.status().to_string() << "\n";
    return kExitUsage;
  }
  return (*runtime)->run([&] {
    kv::KvClientOptions client_options;
    for (const auto& [id, address] : *endpoints) client_options.servers.push_back(id);
    // Follow a redirect to a node it was not given.
    client_options.learn_addresses = kv::KvClientOptions::LearnAddresses::kClient;
    Result<std::unique_ptr<kv::KvClient>> client = kv::KvClient::create(**runtime, client_options);
    if (!client.ok()) return report_failure(client.status());
    return command(**runtime, **client, *endpoints);
  });
}

}  // namespace
}  // namespace cairn::net

int main(int argc, char** argv) {
  using namespace cairn;
  using namespace cairn::net;
  CLI::App app{
      "cairn: the command-line client of a Cairn cluster (started with cairnd, or `make cluster`).\n\n"
      "Exit status: 0 done; 1 the key does not exist (get) or the cluster refused the request; 2 bad usage;\n"
      "3 no answer in time (a write may or may not have been applied).", "cairn"};
  app.set_version_flag("--version", std::string("cairn ") + kCairnVersion);
  app.require_subcommand(1);
  app.fallthrough();  // global flags may follow the command too: `cairn get k --endpoints ...`
  GlobalFlags global;
  CommandFlags flags;
  app.add_option("--endpoints", global.endpoints, "The cluster's nodes, ID=HOST:PORT,... (default " +
                                                    std::string(kDefaultEndpoints) + ")")
      ->envname("CAIRN_ENDPOINTS");
  app.add_option("--timeout", global.timeout_seconds, "Seconds to wait for an answer (default 5)")
      ->check(CLI::Range(0.001, 3600.0));
  app.add_flag("--json", global.json, "Print the answer as JSON (keys and values in base64, as protobuf maps bytes)");
  app.add_option("--log-level", global.log_level, "The client's own log lines on stderr: debug|info|warning|error")
      ->check(CLI::IsMember({"debug", "info", "warning", "warn", "error"}));
  const auto consistency_option = [&](CLI::App* command) {
    command->add_option("--consistency", flags.consistency,
                        "linearizable (default: confirmed by a quorum), lease (the leader's lease), or stale\n"
                        "(any node's copy, possibly behind)")
        ->check(CLI::IsMember({"linearizable", "lease", "stale"}));
  };

  CLI::App* put = app.add_subcommand("put", "Write KEY = VALUE");
  put->add_option("key", flags.key, "The key")->required();
  put->add_option("value", flags.value, "The value")->required();
  CLI::App* get = app.add_subcommand("get", "Print the value of KEY (exit 1 if it does not exist)");
  get->add_option("key", flags.key, "The key")->required();
  consistency_option(get);
  CLI::App* del = app.add_subcommand("del", "Delete KEY (done even if it did not exist)");
  del->add_option("key", flags.key, "The key")->required();
  CLI::App* scan = app.add_subcommand("scan", "Print the keys in [START, END) and their values, one 'KEY<TAB>VALUE' per line");
  scan->add_option("start", flags.start, "First key (default: the first)");
  scan->add_option("end", flags.end, "Stop before this key (default: no end)");
  scan->add_option("--limit", flags.limit, "At most this many keys (default: the server's limit, 1000)");
  consistency_option(scan);

  CLI::App* cluster = app.add_subcommand("cluster", "See and change the cluster's membership");
  cluster->require_subcommand(1);
  cluster->fallthrough();
  CLI::App* status = cluster->add_subcommand("status", "Ask every endpoint for its role, term, leader and indexes");
  CLI::App* add = cluster->add_subcommand("add", "Add node ID as a voter (--learner: as a non-voting learner)");
  add->add_option("id", flags.node, "The node's id")->required()->check(CLI::Range(uint64_t{1}, UINT64_MAX));
  add->add_flag("--learner", flags.learner, "Add it as a learner, to be promoted once caught up");
  CLI::App* promote = cluster->add_subcommand("promote", "Make learner ID a voter");
  promote->add_option("id", flags.node, "The node's id")->required()->check(CLI::Range(uint64_t{1}, UINT64_MAX));
  promote->add_flag("--wait", flags.wait,
                    "If the learner has not caught up yet, wait until it has (at most --timeout seconds)\n"
                    "instead of refusing");
  CLI::App* remove = cluster->add_subcommand("remove", "Remove node ID (voter or learner) from the cluster");
  remove->add_option("id", flags.node, "The node's id")->required()->check(CLI::Range(uint64_t{1}, UINT64_MAX));
  CLI::App* transfer = cluster->add_subcommand("transfer", "Hand the leadership to voter ID");
  transfer->add_option("id", flags.node, "The node's id")->required()->check(CLI::Range(uint64_t{1}, UINT64_MAX));
  BenchFlags bench_flags;
  CLI::App* bench = add_bench_command(app, bench_flags);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    const int code = app.exit(error);
    return code == 0 ? kExitDone : kExitUsage;
  }
  const Duration timeout = Duration{static_cast<int64_t>(global.timeout_seconds * 1e9)};
  const bool json = global.json;
  // The bench builds its own clients, one per concurrent loop.
  if (bench->parsed()) return run_bench_command(bench_flags, {global.endpoints, timeout, json, global.log_level});

  return with_client(global, [&](Runtime& runtime, kv::KvClient& client, const std::map<NodeId, std::string>& endpoints) -> int {
    if (put->parsed() || del->parsed()) {
      Result<proto::KvWriteReply> reply =
          put->parsed() ? client.put(flags.key, flags.value, timeout) : client.remove(flags.key, timeout);
      if (!reply.ok()) return report_failure(reply.status());
      if (json) std::cout << http::to_json(*reply) << "\n";
      else std::cout << "OK\n";
      return kExitDone;
    }
    if (get->parsed()) {
      Result<std::optional<std::string>> value = client.get(flags.key, consistency_of(flags.consistency), timeout);
      if (!value.ok()) return report_failure(value.status());
      if (json) {
        proto::KvReadReply reply;
        reply.set_found(value->has_value());
        if (value->has_value()) reply.set_value(**value);
        std::cout << http::to_json(reply) << "\n";
      } else if (value->has_value()) {
        std::cout << **value << "\n";
      } else {
        std::cerr << "cairn: key '" << flags.key << "' not found\n";
      }
      return value->has_value() ? kExitDone : kExitRefused;
    }
    if (scan->parsed()) {
      Result<std::vector<proto::KvEntry>> entries =
          client.scan(flags.start, flags.end, flags.limit, consistency_of(flags.consistency), timeout);
      if (!entries.ok()) return report_failure(entries.status());
      if (json) {
        proto::KvScanReply reply;
        for (proto::KvEntry& entry : *entries) *reply.add_entries() = std::move(entry);
        std::cout << http::to_json(reply) << "\n";
      } else {
        for (const proto::KvEntry& entry : *entries) std::cout << entry.key() << "\t" << entry.value() << "\n";
      }
      return kExitDone;
    }
    ClusterCommandContext cluster_context{
        .runtime = runtime, .client = client, .endpoints = endpoints, .timeout = timeout, .json = json};
    if (status->parsed()) return cluster_status(cluster_context);
    if (add->parsed()) {
      return change_membership(cluster_context, flags.learner ? proto::RAFT_ADD_LEARNER : proto::RAFT_ADD_VOTER,
                               flags.node, /*wait=*/false);
    }
    if (promote->parsed()) return change_membership(cluster_context, proto::RAFT_ADD_VOTER, flags.node, flags.wait);
    if (remove->parsed()) return change_membership(cluster_context, proto::RAFT_REMOVE, flags.node, /*wait=*/false);
    if (transfer->parsed()) return transfer_leadership(cluster_context, flags.node);
    return kExitUsage;
  });
}
