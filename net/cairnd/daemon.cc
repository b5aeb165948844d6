// One cairnd node's lifetime (daemon.h).
#include "net/cairnd/daemon.h"

#include <cstdio>

#include "core/kv/kv_node.h"
#include "core/runtime/assert.h"
#include "net/cairnd/http_gateway.h"
#include "net/socket.h"

namespace cairn::net {
namespace {

// Written with plain stdio: the port file lives outside the data directory. Atomic (a reader
// never sees half of it), so its existence means every listener is up.
Status write_port_file(const std::string& path, uint16_t peer_port, uint16_t client_port, uint16_t http_port) {
  const std::string temporary = path + ".tmp";
  std::FILE* file = std::fopen(temporary.c_str(), "w");
  if (file == nullptr) return Status::io_error("cannot create " + temporary);
  std::string text = "peer=" + std::to_string(peer_port) + "\nclient=" + std::to_string(client_port) + "\n";
  if (http_port != 0) text += "http=" + std::to_string(http_port) + "\n";
  const bool written = std::fputs(text.c_str(), file) >= 0;
  if (std::fclose(file) != 0 || !written || std::rename(temporary.c_str(), path.c_str()) != 0) {
    return Status::io_error("cannot write " + path);
  }
  return {};
}

kv::KvNodeOptions node_options(const DaemonOptions& options) {
  kv::KvNodeOptions node;
  node.voters = options.initial_voters;
  node.bootstrap = options.bootstrap;
  node.store.tick_interval = options.tick;
  node.store.raft.election_ticks = options.election_ticks;
  node.store.raft.heartbeat_ticks = options.heartbeat_ticks;
  node.max_clock_offset = options.max_clock_offset;
  CAIRN_ASSERT(options.ranges >= 1, "a node hosts at least the first range");
  node.groups.clear();
  for (uint64_t range = 1; range <= options.ranges; ++range) node.groups.push_back(range);
  return node;
}

HttpGatewayOptions gateway_options(const DaemonOptions& options) {
  HttpGatewayOptions gateway;
  gateway.self = options.identity.node;
  gateway.cluster_name = options.identity.cluster;
  gateway.servers = options.initial_voters;
  return gateway;
}

// The ports each listener got (port 0 picks one); 0 for a listener that was not asked for.
struct ListeningPorts {
  uint16_t peer = 0;
  uint16_t client = 0;
  uint16_t http = 0;
};

// Listens on every address first, so that a start that cannot serve fails before it writes
// anything into the data directory.
Result<ListeningPorts> listen_all(EpollRuntime& runtime, const DaemonOptions& options, HttpGateway* gateway) {
  ListeningPorts ports;
  Result<uint16_t> peer = runtime.transport().listen(options.listen_peer);
  if (!peer.ok()) return peer.status().with_context("cannot listen on " + options.listen_peer);
  ports.peer = ports.client = *peer;
  if (!options.listen_client.empty()) {
    Result<uint16_t> client = runtime.transport().listen(options.listen_client);
    if (!client.ok()) return client.status().with_context("cannot listen on " + options.listen_client);
    ports.client = *client;
  }
  if (gateway != nullptr) {
    Result<uint16_t> http = gateway->listen(options.listen_http);
    if (!http.ok()) return http.status().with_context("cannot listen on " + options.listen_http);
    ports.http = *http;
  }
  return ports;
}

// Where the others reach this node, for the node registry: each listener's host (or the
// advertised one) with the port it got.
proto::NodeDescriptor self_descriptor(const DaemonOptions& options, const ListeningPorts& ports) {
  const auto advertised = [&](const std::string& listen, uint16_t port) {
    std::string host = options.advertise_host;
    if (host.empty()) host = parse_socket_address(listen).value().host;
    SocketAddress address{.host = host, .port = port};
    return address.to_string();
  };
  proto::NodeDescriptor descriptor;
  descriptor.set_node(options.identity.node);
  descriptor.set_peer_address(advertised(options.listen_peer, ports.peer));
  descriptor.set_client_address(
      advertised(options.listen_client.empty() ? options.listen_peer : options.listen_client, ports.client));
  if (ports.http != 0) descriptor.set_http_address(advertised(options.listen_http, ports.http));
  return descriptor;
}

}  // namespace

int run_daemon(EpollRuntime& runtime, const DaemonOptions& options) {
  Logger& log = runtime.logger();
  // Whose directory this is, read only: a wrong one is refused before anything else happens.
  if (Result<bool> checked = check_data_directory(runtime.file_system(), options.identity); !checked.ok()) {
    log.log(LogLevel::kError, "cairnd", "refusing to start", {{"error", checked.status().to_string()}});
    // Another node's or cluster's directory is the operator's mistake; a disk error is not.
    return checked.status().code() == StatusCode::kIoError ? kExitServingFailed : kExitBadConfiguration;
  }
  std::unique_ptr<HttpGateway> gateway;
  if (!options.listen_http.empty()) gateway = std::make_unique<HttpGateway>(runtime, gateway_options(options));
  Result<ListeningPorts> ports = listen_all(runtime, options, gateway.get());
  if (!ports.ok()) {
    log.log(LogLevel::kError, "cairnd", "cannot listen", {{"error", ports.status().to_string()}});
    return kExitServingFailed;
  }
  if (Status claimed = claim_data_directory(runtime.file_system(), options.identity); !claimed.ok()) {
    log.log(LogLevel::kError, "cairnd", "refusing to start", {{"error", claimed.to_string()}});
    return claimed.code() == StatusCode::kIoError ? kExitServingFailed : kExitBadConfiguration;
  }
  runtime.transport().connect_to_peers();
  kv::KvNodeOptions node_config = node_options(options);
  node_config.self_descriptor = self_descriptor(options, *ports);
  Result<std::unique_ptr<kv::KvNode>> node = kv::KvNode::start(runtime, node_config);
  if (!node.ok()) {
    log.log(LogLevel::kError, "cairnd", "cannot start the key-value node", {{"error", node.status().to_string()}});
    return kExitServingFailed;
  }
  if (!options.port_file.empty()) {
    if (Status written = write_port_file(options.port_file, ports->peer, ports->client, ports->http); !written.ok()) {
      log.log(LogLevel::kError, "cairnd", "cannot write the port file", {{"error", written.to_string()}});
      return kExitServingFailed;
    }
  }
  log.log(LogLevel::kInfo, "cairnd", "serving",
          {{"node", options.identity.node}, {"cluster", options.identity.cluster}, {"peer_address", node_config.self_descriptor->peer_address()},
           {"client_address", node_config.self_descriptor->client_address()}, {"http_address", node_config.self_descriptor->http_address()},
           {"voters", options.initial_voters.size()}, {"bootstrap", options.bootstrap ? "new" : "existing"}});
  runtime.shutdown_requested().wait();
  log.log(LogLevel::kInfo, "cairnd", "shutting down");
  gateway.reset();  // its requests use the node: stopped first
  node->reset();  // stops the groups' fibers and closes their logs and databases
  log.log(LogLevel::kInfo, "cairnd", "stopped");
  return kExitClean;
}

}  // namespace cairn::net
