// cairnd: the Cairn daemon — one node of a replicated key-value store, on real TCP and disk.
// The code it runs is the core that cairn-sim tests under simulated faults (core/kv), linked
// against the epoll runtime instead of the simulator.
//
//   cairnd --node-id 1 --data-dir /var/lib/cairn/1 --listen-peer 127.0.0.1:7001
//          --peer 2=127.0.0.1:7002 --peer 3=127.0.0.1:7003 [--initial-cluster-state existing]
//   cairnd --config /etc/cairn/node1.toml
//
// Exit status: 0 after a clean shutdown (SIGTERM / SIGINT), 1 when serving failed, 2 for bad
// flags or a data directory that belongs to another node or cluster.
#include <CLI/CLI.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "core/runtime/version.h"
#include "net/cairnd/config_file_check.h"
#include "net/cairnd/daemon.h"
#include "net/epoll_runtime.h"
#include "net/node_address.h"

namespace cairn::net {
namespace {

struct Flags {
  uint64_t node_id = 0;
  std::string data_directory;
  std::string cluster_name = "cairn";
  std::string listen_peer;
  std::string listen_client;
  std::string listen_http;
  std::string advertise_host;
  std::vector<std::string> peers;
  std::string initial_cluster_state = "new";
  std::string port_file;
  std::string log_level = "info";
  uint32_t tick_ms = 100;
  uint32_t election_ticks = 10;
  uint32_t heartbeat_ticks = 1;
  uint32_t max_clock_offset_ms = 500;
};

Result<std::map<NodeId, std::string>> parse_peers(const std::vector<std::string>& specs, NodeId self) {
  std::map<NodeId, std::string> peers;
  for (const std::string& spec : specs) {
    Result<NodeAddress> peer = parse_node_address(spec);
    if (!peer.ok()) return peer.status().with_context("--peer");
    if (peer->id == self) return Status::invalid_argument("--peer '" + spec + "': that is this node's own id");
    if (!peers.emplace(peer->id, peer->address).second) {
      return Status::invalid_argument("--peer: node " + std::to_string(peer->id) + " is given twice");
    }
  }
  return peers;
}

// Everything CLI11 cannot check alone; the message names the flag.
Status check_flags(const Flags& flags) {
  if (Result<SocketAddress> address = parse_socket_address(flags.listen_peer); !address.ok()) {
    return address.status().with_context("--listen-peer");
  }
  if (!flags.listen_client.empty()) {
    if (Result<SocketAddress> address = parse_socket_address(flags.listen_client); !address.ok()) {
      return address.status().with_context("--listen-client");
    }
  }
  if (!flags.listen_http.empty()) {
    if (Result<SocketAddress> address = parse_socket_address(flags.listen_http); !address.ok()) {
      return address.status().with_context("--listen-http");
    }
  }
  // The node registry tells the others where this node listens: a wildcard is nowhere.
  for (const std::string* listen : {&flags.listen_peer, &flags.listen_client, &flags.listen_http}) {
    if (listen->empty() || !flags.advertise_host.empty()) continue;
    const std::string host = parse_socket_address(*listen).value().host;
    if (host == "0.0.0.0" || host == "::") {
      return Status::invalid_argument("listening on " + *listen +
                                      " (every interface): give --advertise-host, the address the other "
                                      "nodes and the clients reach this node at");
    }
  }
  if (!flags.advertise_host.empty()) {
    if (Result<SocketAddress> address = parse_socket_address(flags.advertise_host + ":1"); !address.ok()) {
      return address.status().with_context("--advertise-host");
    }
  }
  if (flags.election_ticks <= flags.heartbeat_ticks + 2) {
    return Status::invalid_argument("--election-ticks must exceed --heartbeat-ticks by more than two "
                                    "(leases subtract two ticks of clock drift)");
  }
  if (flags.cluster_name.empty() || flags.cluster_name.find('\n') != std::string::npos) {
    return Status::invalid_argument("--cluster-name must be one non-empty line");
  }
  return {};
}

void add_flags(CLI::App& app, Flags& flags) {
  app.set_config("--config", "", "Read flags from this TOML (or INI) file: one `key = value` per flag, with the flag's\n"
                                 "long name as the key, e.g. node-id = 1, peer = [\"2=127.0.0.1:7002\"]. An unknown key\n"
                                 "is an error naming its line");
  app.add_option("--node-id", flags.node_id, "This node's id (a positive integer, unique in the cluster)")
      ->required()
      ->check(CLI::Range(uint64_t{1}, UINT64_MAX));
  app.add_option("--data-dir", flags.data_directory, "Directory for this node's data (created if missing)")->required();
  app.add_option("--cluster-name", flags.cluster_name,
                 "Name of the cluster; a data directory of another cluster is refused (default: cairn)");
  app.add_option("--listen-peer,--listen", flags.listen_peer,
                 "Address for the other nodes (and clients), HOST:PORT; port 0 picks a free one")
      ->required();
  app.add_option("--listen-client", flags.listen_client,
                 "A separate address for native clients, HOST:PORT (default: the peer address serves them)");
  app.add_option("--listen-http", flags.listen_http,
                 "Address for the HTTP/JSON API and /metrics, HOST:PORT (default: none). Routes: /v1/kv/{key},\n"
                 "/v1/kv:range, /v1/cluster, /healthz, /readyz, /metrics (see docs/operations.md)");
  app.add_option("--advertise-host", flags.advertise_host,
                 "The host (an IP literal) the other nodes and clients reach this node at, registered in the\n"
                 "cluster's node registry with each listener's port (default: each listen address's host;\n"
                 "required when listening on 0.0.0.0 or ::)");
  app.add_option("--peer", flags.peers, "Another node of the initial cluster, ID=HOST:PORT (repeat for each)");
  app.add_option("--initial-cluster-state", flags.initial_cluster_state,
                 "'new' when creating the cluster (the nodes of --peer and this one are its first voters);\n"
                 "'existing' when joining a running cluster: the node then waits to be added\n"
                 "(cairn cluster add) and copies the data from the leader")
      ->check(CLI::IsMember({"new", "existing"}));
  app.add_option("--port-file", flags.port_file,
                 "Once listening, write 'peer=PORT', 'client=PORT' (and 'http=PORT') lines to this file\n"
                 "(useful with port 0)");
  app.add_option("--log-level", flags.log_level, "debug|info|warning|error")
      ->check(CLI::IsMember({"debug", "info", "warning", "warn", "error"}));
  app.add_option("--tick-ms", flags.tick_ms, "Raft's clock tick in milliseconds (default 100)")
      ->check(CLI::Range(1u, 10000u));
  app.add_option("--election-ticks", flags.election_ticks,
                 "Ticks without a leader before an election (default 10; randomized up to twice that)")
      ->check(CLI::Range(2u, 1000u));
  app.add_option("--heartbeat-ticks", flags.heartbeat_ticks, "Ticks between a leader's heartbeats (default 1)")
      ->check(CLI::Range(1u, 1000u));
  app.add_option("--max-clock-offset-ms", flags.max_clock_offset_ms,
                 "The most this node's wall clock may differ from the others' (default 500): a write whose client\n"
                 "saw a timestamp further ahead is refused. The same on every node.")
      ->check(CLI::Range(1u, 3'600'000u));
}

// Unknown keys in the --config file are errors (CLI11 would ignore them).
Status check_config_file(const CLI::App& app) {
  const CLI::Option* config = app.get_config_ptr();
  if (config == nullptr || config->count() == 0) return {};
  const std::string path = config->as<std::string>();
  std::ifstream file(path);
  if (!file) return Status::invalid_argument("--config: cannot read '" + path + "'");
  std::stringstream text;
  text << file.rdbuf();
  std::vector<std::string> keys;
  for (const CLI::Option* option : app.get_options()) {
    for (const std::string& name : option->get_lnames()) keys.push_back(name);
  }
  return check_config_keys(path, text.str(), keys);
}

}  // namespace
}  // namespace cairn::net

int main(int argc, char** argv) {
  using namespace cairn;
  using namespace cairn::net;
  CLI::App app{
      "cairnd: the Cairn daemon. Runs one node of a replicated key-value store (Raft) on real TCP and disk;\n"
      "the code is the same core that cairn-sim tests under simulated faults. Talk to it with `cairn`.\n\n"
      "Exit status: 0 after SIGTERM/SIGINT, 1 when serving failed, 2 for bad flags or a data directory of\n"
      "another node or cluster.", "cairnd"};
  Flags flags;
  app.set_version_flag("--version", std::string("cairnd ") + kCairnVersion);
  add_flags(app, flags);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    const int code = app.exit(error);
    return code == 0 ? kExitClean : kExitBadConfiguration;
  }
  Result<std::map<NodeId, std::string>> peers = parse_peers(flags.peers, flags.node_id);
  Status checked = peers.ok() ? check_config_file(app) : peers.status();
  if (checked.ok()) checked = check_flags(flags);
  if (!checked.ok()) {
    std::cerr << "cairnd: " << checked.message() << "\n";
    return kExitBadConfiguration;
  }
  std::error_code error;
  const bool created_data_directory = std::filesystem::create_directories(flags.data_directory, error);
  if (error) {
    std::cerr << "cairnd: cannot create the data directory '" << flags.data_directory << "': " << error.message() << "\n";
    return kExitBadConfiguration;
  }

  DaemonOptions options;
  options.identity = {.node = flags.node_id, .cluster = flags.cluster_name};
  options.listen_peer = flags.listen_peer;
  options.listen_client = flags.listen_client;
  options.listen_http = flags.listen_http;
  options.advertise_host = flags.advertise_host;
  options.initial_voters.push_back(flags.node_id);
  for (const auto& [id, address] : *peers) options.initial_voters.push_back(id);
  options.bootstrap = flags.initial_cluster_state == "new";
  options.port_file = flags.port_file;
  options.tick = milliseconds(flags.tick_ms);
  options.election_ticks = flags.election_ticks;
  options.heartbeat_ticks = flags.heartbeat_ticks;
  options.max_clock_offset = milliseconds(flags.max_clock_offset_ms);

  EpollRuntime::Options runtime_options;
  runtime_options.node_id = flags.node_id;
  runtime_options.data_directory = flags.data_directory;
  runtime_options.peers = *peers;
  parse_log_level(flags.log_level, runtime_options.log_level);
  Result<std::unique_ptr<EpollRuntime>> runtime = EpollRuntime::create(runtime_options);
  if (!runtime.ok()) {
    std::cerr << "cairnd: " << runtime.status().to_string() << "\n";
    return kExitBadConfiguration;
  }
  const int status = (*runtime)->run([&] { return run_daemon(**runtime, options); });
  // A start that failed before it could serve leaves nothing behind, not even the directory.
  if (status != kExitClean && created_data_directory && std::filesystem::is_empty(flags.data_directory, error)) {
    std::filesystem::remove(flags.data_directory, error);
  }
  return status;
}
