// CairndCluster: real cairnd processes on 127.0.0.1 for tests — start (waiting until the node
// listens on its peer, client and HTTP ports), kill -9, SIGTERM with the exit status, logs. Ports are picked below Linux's
// ephemeral range so the kernel does not hand them to an outgoing connection meanwhile; the data
// stays in /tmp when a test failed, for a look.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "core/kv/kv_client.h"
#include "core/runtime/network.h"
#include "net/epoll_runtime.h"

namespace cairn::net::testing {

// Starts cairnd with `arguments` (the program path is added) and its stderr appended to
// `stderr_path`; returns its pid. Everything the child needs is built before the fork: between
// fork and exec the child must not allocate, since another thread of this process may have held
// the allocator's lock.
inline pid_t spawn_cairnd(std::vector<std::string> arguments, const std::string& stderr_path) {
  arguments.insert(arguments.begin(), CAIRND_PATH);
  std::vector<char*> argv;
  for (auto& argument : arguments) argv.push_back(argument.data());
  argv.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int log = ::open(stderr_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    ::dup2(log, STDERR_FILENO);
    if (log != STDERR_FILENO) ::close(log);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  return pid;
}

// A free port on 127.0.0.1 below Linux's ephemeral range (32768-60999), so that the kernel does
// not hand it to some outgoing connection between this check and cairnd binding it.
// A port is never handed out twice by one test process.
inline uint16_t reserve_port() {
  static std::mt19937 random(static_cast<unsigned>(::getpid()) * 7919u + static_cast<unsigned>(::time(nullptr)));
  static std::set<uint16_t> handed_out;
  for (int attempt = 0; attempt < 1000; ++attempt) {
    const auto port = static_cast<uint16_t>(20000 + random() % 12000);
    if (!handed_out.insert(port).second) continue;
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    const int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const bool free = ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
    ::close(fd);
    if (free) return port;
  }
  ADD_FAILURE() << "no free port found";
  return 0;
}

class CairndCluster {
 public:
  explicit CairndCluster(int nodes) {
    char pattern[] = "/tmp/cairnd-cluster-XXXXXX";
    EXPECT_NE(::mkdtemp(pattern), nullptr);
    root_ = pattern;
    // Peers must know each other's ports before they start; the client and HTTP listeners take
    // port 0 and report theirs in the port file, so they cannot collide with anything.
    for (NodeId id = 1; id <= static_cast<NodeId>(nodes); ++id) ports_[id] = reserve_port();
  }
  ~CairndCluster() {
    for (auto& [id, pid] : pids_) {
      if (pid > 0) {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, nullptr, 0);
      }
    }
    if (!::testing::Test::HasFailure()) std::filesystem::remove_all(root_);
  }

  std::map<NodeId, std::string> addresses() const {
    std::map<NodeId, std::string> result;
    for (const auto& [id, port] : ports_) result[id] = "127.0.0.1:" + std::to_string(port);
    return result;
  }
  // The nodes as cairn's --endpoints value: "1=127.0.0.1:P1,2=127.0.0.1:P2,...".
  std::string endpoints_flag() const {
    std::string flag;
    for (const auto& [id, address] : addresses()) flag += (flag.empty() ? "" : ",") + std::to_string(id) + "=" + address;
    return flag;
  }
  std::vector<NodeId> ids() const {
    std::vector<NodeId> result;
    for (const auto& [id, port] : ports_) result.push_back(id);
    return result;
  }
  // Where node `id` serves native clients apart from its peer port (--listen-client), and HTTP,
  // since it last started.
  uint16_t client_port(NodeId id) const { return client_ports_.at(id); }
  uint16_t http_port(NodeId id) const { return http_ports_.at(id); }
  std::string data_directory(NodeId id) const { return root_ + "/node" + std::to_string(id); }
  std::string log_path(NodeId id) const { return root_ + "/node" + std::to_string(id) + ".log"; }

  // Starts a node and waits until it has written its port file (it is serving).
  void start(NodeId id, bool existing) {
    const std::string port_file = root_ + "/node" + std::to_string(id) + ".port";
    std::filesystem::remove(port_file);
    std::vector<std::string> arguments{"--node-id", std::to_string(id),
                                       "--listen-peer", "127.0.0.1:" + std::to_string(ports_.at(id)),
                                       "--listen-client", "127.0.0.1:0",
                                       "--listen-http", "127.0.0.1:0",
                                       "--data-dir", data_directory(id),
                                       "--port-file", port_file,
                                       "--initial-cluster-state", existing ? "existing" : "new",
                                       // Short ticks: elections after a kill -9 take 200-400 ms.
                                       "--tick-ms", "20"};

    for (const auto& [peer, port] : ports_) {
      if (peer != id) arguments.push_back("--peer=" + std::to_string(peer) + "=127.0.0.1:" + std::to_string(port));
    }
    const pid_t pid = spawn_cairnd(std::move(arguments), log_path(id));
    pids_[id] = pid;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!std::filesystem::exists(port_file)) {
      int status = 0;
      if (::waitpid(pid, &status, WNOHANG) == pid) {
        pids_[id] = 0;
        FAIL() << "cairnd " << id << " exited during start-up:\n" << logs(id);
      }
      ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "cairnd " << id << " did not start:\n" << logs(id);
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    std::ifstream ports(port_file);
    for (std::string line; std::getline(ports, line);) {
      if (line.starts_with("client=")) client_ports_[id] = static_cast<uint16_t>(std::stoi(line.substr(7)));
      if (line.starts_with("http=")) http_ports_[id] = static_cast<uint16_t>(std::stoi(line.substr(5)));
    }
    ASSERT_TRUE(client_ports_.contains(id) && http_ports_.contains(id)) << "port file without client or http port";
  }

  void kill9(NodeId id) {
    ASSERT_GT(pids_[id], 0);
    ::kill(pids_[id], SIGKILL);
    ::waitpid(pids_[id], nullptr, 0);
    pids_[id] = 0;
  }

  // Sends SIGTERM and returns the exit status (-1 if it died of a signal, -2 if it did not exit
  // within ten seconds, after which it is killed).
  int terminate(NodeId id) {
    int status = 0;
    ::kill(pids_[id], SIGTERM);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (::waitpid(pids_[id], &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > deadline) {
        ::kill(pids_[id], SIGKILL);
        ::waitpid(pids_[id], &status, 0);
        pids_[id] = 0;
        return -2;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    pids_[id] = 0;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  bool alive(NodeId id) {
    return pids_[id] > 0 && ::waitpid(pids_[id], nullptr, WNOHANG) == 0;
  }

  std::string logs(NodeId id) const {
    std::ifstream file(log_path(id));
    std::stringstream text;
    text << file.rdbuf();
    return text.str();
  }

 private:
  std::string root_;
  std::map<NodeId, uint16_t> ports_;
  std::map<NodeId, uint16_t> client_ports_;
  std::map<NodeId, uint16_t> http_ports_;
  std::map<NodeId, pid_t> pids_;
};

// A client-only runtime in the test process that can reach every node of `cluster`.
inline EpollRuntime::Options client_runtime_options(const CairndCluster& cluster, NodeId client_id = 100) {
  EpollRuntime::Options options;
  options.node_id = client_id;
  options.peers = cluster.addresses();
  options.handle_signals = false;
  options.log_level = LogLevel::kError;
  return options;
}

// Runs `body` with a key-value client of the whole cluster, on a fresh client runtime.
inline void with_kv_client(const CairndCluster& cluster, const std::function<void(kv::KvClient&)>& body) {
  auto runtime = EpollRuntime::create(client_runtime_options(cluster));
  ASSERT_TRUE(runtime.ok()) << runtime.status().to_string();
  (*runtime)->run([&] {
    kv::KvClientOptions client_options;
    client_options.servers = cluster.ids();
    auto client = kv::KvClient::create(**runtime, client_options);
    EXPECT_TRUE(client.ok());
    if (client.ok()) body(**client);
    return 0;
  });
}

}  // namespace cairn::net::testing
