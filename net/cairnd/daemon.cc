// One cairnd node's lifetime (daemon.h).
#include "net/cairnd/daemon.h"

#include <cstdio>

#include "core/kv/kv_node.h"
#include "net/cairnd/http_gateway.h"

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
  node.replica.tick_interval = options.tick;
  node.replica.raft.election_ticks = options.election_ticks;
  node.replica.raft.heartbeat_ticks = options.heartbeat_ticks;
  return node;
}

HttpGatewayOptions gateway_options(const DaemonOptions& options) {
  HttpGatewayOptions gateway;
  gateway.self = options.identity.node;
  gateway.cluster_name = options.identity.cluster;
  gateway.servers = options.initial_voters;
  return gateway;
}

}  // namespace

int run_daemon(EpollRuntime& runtime, const DaemonOptions& options) {
  Logger& log = runtime.logger();
  if (Status claimed = claim_data_directory(runtime.file_system(), options.identity); !claimed.ok()) {
    log.log(LogLevel::kError, "cairnd", "refusing to start", {{"error", claimed.to_string()}});
    // Another node's or cluster's directory is the operator's mistake; a disk error is not.
    return claimed.code() == StatusCode::kIoError ? kExitServingFailed : kExitBadConfiguration;
  }
  Result<uint16_t> peer_port = runtime.transport().listen(options.listen_peer);
  if (!peer_port.ok()) {
    log.log(LogLevel::kError, "cairnd", "cannot listen", {{"address", options.listen_peer}, {"error", peer_port.status().to_string()}});
    return kExitServingFailed;
  }
  uint16_t client_port = *peer_port;
  if (!options.listen_client.empty()) {
    Result<uint16_t> port = runtime.transport().listen(options.listen_client);
    if (!port.ok()) {
      log.log(LogLevel::kError, "cairnd", "cannot listen", {{"address", options.listen_client}, {"error", port.status().to_string()}});
      return kExitServingFailed;
    }
    client_port = *port;
  }
  runtime.transport().connect_to_peers();
  Result<std::unique_ptr<kv::KvNode>> node = kv::KvNode::start(runtime, node_options(options));
  if (!node.ok()) {
    log.log(LogLevel::kError, "cairnd", "cannot start the key-value node", {{"error", node.status().to_string()}});
    return kExitServingFailed;
  }
  std::unique_ptr<HttpGateway> gateway;
  uint16_t http_port = 0;
  if (!options.listen_http.empty()) {
    gateway = std::make_unique<HttpGateway>(runtime, gateway_options(options));
    Result<uint16_t> port = gateway->listen(options.listen_http);
    if (!port.ok()) {
      log.log(LogLevel::kError, "cairnd", "cannot listen", {{"address", options.listen_http}, {"error", port.status().to_string()}});
      return kExitServingFailed;
    }
    http_port = *port;
  }
  if (!options.port_file.empty()) {
    if (Status written = write_port_file(options.port_file, *peer_port, client_port, http_port); !written.ok()) {
      log.log(LogLevel::kError, "cairnd", "cannot write the port file", {{"error", written.to_string()}});
      return kExitServingFailed;
    }
  }
  log.log(LogLevel::kInfo, "cairnd", "serving",
          {{"node", options.identity.node}, {"cluster", options.identity.cluster}, {"peer_port", *peer_port},
           {"client_port", client_port}, {"http_port", http_port}, {"voters", options.initial_voters.size()}});
  runtime.shutdown_requested().wait();
  log.log(LogLevel::kInfo, "cairnd", "shutting down");
  gateway.reset();  // its requests use the node: stopped first
  node->reset();  // stops the groups' fibers and closes their logs and databases
  log.log(LogLevel::kInfo, "cairnd", "stopped");
  return kExitClean;
}

}  // namespace cairn::net
