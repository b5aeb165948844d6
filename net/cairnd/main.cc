// cairnd: the Cairn daemon, the same core as the simulator on the real epoll runtime. Today it
// serves the replicated register (core/register); later issues add consensus, the key-value
// store and the client APIs.
//
//   cairnd --node-id 1 --listen 127.0.0.1:7001 --data-dir /var/lib/cairn/1
//          --peer 2=127.0.0.1:7002 --peer 3=127.0.0.1:7003 [--initial-cluster-state new|existing]
//
// Exit status: 0 after a clean shutdown (SIGTERM / SIGINT), 1 when serving failed, 2 for bad
// flags or a data directory that belongs to another node.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "core/register/register_server.h"
#include "net/epoll_runtime.h"

namespace cairn::net {
namespace {

constexpr const char* kIdentityFile = "node.id";

struct Flags {
  uint64_t node_id = 0;
  std::string listen;
  std::string data_directory;
  std::vector<std::string> peers;
  std::string initial_cluster_state = "new";
  std::string port_file;
  std::string log_level = "info";
};

Result<std::map<NodeId, std::string>> parse_peers(const std::vector<std::string>& specs, NodeId self) {
  std::map<NodeId, std::string> peers;
  for (const std::string& spec : specs) {
    const std::size_t equals = spec.find('=');
    if (equals == std::string::npos) return Status::invalid_argument("--peer '" + spec + "' should be ID=HOST:PORT");
    uint64_t id = 0;
    try {
      std::size_t used = 0;
      id = std::stoull(spec.substr(0, equals), &used);
      if (used != equals) throw std::invalid_argument("trailing characters");
    } catch (const std::exception&) {
      return Status::invalid_argument("--peer '" + spec + "': '" + spec.substr(0, equals) + "' is not a node id");
    }
    if (id == 0 || id == self) return Status::invalid_argument("--peer '" + spec + "': the id must be non-zero and not this node's");
    if (!parse_socket_address(spec.substr(equals + 1)).ok()) {
      return parse_socket_address(spec.substr(equals + 1)).status().with_context("--peer '" + spec + "'");
    }
    if (!peers.emplace(id, spec.substr(equals + 1)).second) {
      return Status::invalid_argument("--peer: node " + std::to_string(id) + " is given twice");
    }
  }
  return peers;
}

// A data directory remembers which node it belongs to; starting node 2 on node 1's directory
// would silently corrupt the cluster, so it is refused.
Status check_identity(FileSystem& fs, NodeId self) {
  CAIRN_ASSIGN_OR_RETURN(bool exists, fs.exists(kIdentityFile));
  if (!exists) return write_file_atomically(fs, kIdentityFile, std::to_string(self) + "\n");
  CAIRN_ASSIGN_OR_RETURN(std::string contents, read_whole_file(fs, kIdentityFile));
  if (contents != std::to_string(self) + "\n") {
    std::string recorded = contents.substr(0, contents.find('\n'));
    return Status::failed_precondition("the data directory belongs to node " + recorded + ", not node " +
                                       std::to_string(self));
  }
  return {};
}

int serve(EpollRuntime& runtime, const Flags& flags, const std::vector<NodeId>& replicas) {
  Logger& log = runtime.logger();
  if (Status identity = check_identity(runtime.file_system(), runtime.node_id()); !identity.ok()) {
    log.log(LogLevel::kError, "cairnd", "refusing to start", {{"error", identity.to_string()}});
    return identity.code() == StatusCode::kFailedPrecondition ? 2 : 1;  // another node's directory, or a disk error
  }
  Result<uint16_t> port = runtime.transport().listen(flags.listen);
  if (!port.ok()) {
    log.log(LogLevel::kError, "cairnd", "cannot listen", {{"address", flags.listen}, {"error", port.status().to_string()}});
    return 1;
  }
  if (!flags.port_file.empty()) {
    // Written with plain stdio: the port file lives outside the data directory.
    const std::string temporary = flags.port_file + ".tmp";
    std::FILE* file = std::fopen(temporary.c_str(), "w");
    if (file == nullptr || std::fprintf(file, "%u\n", static_cast<unsigned>(*port)) < 0 || std::fclose(file) != 0 ||
        std::rename(temporary.c_str(), flags.port_file.c_str()) != 0) {
      log.log(LogLevel::kError, "cairnd", "cannot write the port file", {{"path", flags.port_file}});
      return 1;
    }
  }
  RegisterServer::Options options;
  options.replicas = replicas;
  options.bootstrap = flags.initial_cluster_state == "new";
  RegisterServer server(runtime, options);
  if (Status started = server.start(); !started.ok()) {
    log.log(LogLevel::kError, "cairnd", "cannot start the register", {{"error", started.to_string()}});
    return 1;
  }
  log.log(LogLevel::kInfo, "cairnd", "serving", {{"port", *port}, {"replicas", replicas.size()}});
  runtime.shutdown_requested().wait();
  log.log(LogLevel::kInfo, "cairnd", "shutting down");
  return 0;
}

}  // namespace
}  // namespace cairn::net

int main(int argc, char** argv) {
  using namespace cairn;
  using namespace cairn::net;
  CLI::App app{
      "cairnd: the Cairn daemon. Runs one node of a cluster on real TCP and disk; the code is the same\n"
      "core that cairn-sim tests under simulated faults. Today a node serves the replicated register.\n\n"
      "Exit status: 0 after SIGTERM/SIGINT, 1 when serving failed, 2 for bad flags or a foreign data directory.", "cairnd"};
  Flags flags;
  app.set_version_flag("--version", "cairnd 0.1.0");
  app.add_option("--node-id", flags.node_id, "This node's id (a positive integer, unique in the cluster)")
      ->required()
      ->check(CLI::Range(uint64_t{1}, UINT64_MAX));
  app.add_option("--listen", flags.listen, "Address for peers and clients, HOST:PORT (port 0 picks a free one)")->required();
  app.add_option("--data-dir", flags.data_directory, "Directory for this node's data (created if missing)")->required();
  app.add_option("--peer", flags.peers, "Another node of the cluster, ID=HOST:PORT (repeat for each)");
  app.add_option("--initial-cluster-state", flags.initial_cluster_state,
                 "'new' when creating the cluster; 'existing' when restarting or replacing a node, so that a\n"
                 "node whose disk was lost rebuilds its state from its peers instead of starting empty")
      ->check(CLI::IsMember({"new", "existing"}));
  app.add_option("--port-file", flags.port_file, "Write the port actually bound to this file (useful with port 0)");
  app.add_option("--log-level", flags.log_level, "debug|info|warning|error")
      ->check(CLI::IsMember({"debug", "info", "warning", "warn", "error"}));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    const int code = app.exit(error);
    return code == 0 ? 0 : 2;
  }

  Result<std::map<NodeId, std::string>> peers = parse_peers(flags.peers, flags.node_id);
  if (!peers.ok()) {
    std::cerr << "cairnd: " << peers.status().message() << "\n";
    return 2;
  }
  std::vector<NodeId> replicas{flags.node_id};
  for (const auto& [id, address] : *peers) replicas.push_back(id);
  if (!parse_socket_address(flags.listen).ok()) {
    std::cerr << "cairnd: --listen: " << parse_socket_address(flags.listen).status().message() << "\n";
    return 2;
  }
  if (std::error_code error; !std::filesystem::create_directories(flags.data_directory, error) && error) {
    std::cerr << "cairnd: cannot create the data directory '" << flags.data_directory << "': " << error.message() << "\n";
    return 2;
  }
  EpollRuntime::Options options;
  options.node_id = flags.node_id;
  options.data_directory = flags.data_directory;
  options.peers = *peers;
  parse_log_level(flags.log_level, options.log_level);
  Result<std::unique_ptr<EpollRuntime>> runtime = EpollRuntime::create(options);
  if (!runtime.ok()) {
    std::cerr << "cairnd: " << runtime.status().to_string() << "\n";
    return 2;
  }
  return (*runtime)->run([&] { return serve(**runtime, flags, replicas); });
}
