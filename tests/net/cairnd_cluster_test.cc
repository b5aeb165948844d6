// Real processes on 127.0.0.1: three cairnd nodes serve the replicated register to a client in
// this test process (running on the real epoll runtime). Proves that messages cross real TCP,
// that data reaches real disks, that kill -9 loses nothing acknowledged, that SIGTERM shuts
// down cleanly, and that hostile bytes on the port close a connection without crashing a node.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <thread>

#include "core/register/register_client.h"
#include "net/epoll_runtime.h"
#include "net/frame_codec.h"
#include "tests/net/raw_peer.h"
#include "tests/support/test_support.h"

namespace cairn::net {
namespace {

constexpr NodeId kClientId = 100;

// A free port on 127.0.0.1 below Linux's ephemeral range (32768-60999), so that the kernel does
// not hand it to some outgoing connection between this check and cairnd binding it.
uint16_t reserve_port() {
  static std::mt19937 random(static_cast<unsigned>(::getpid()) * 7919u + static_cast<unsigned>(::time(nullptr)));
  for (int attempt = 0; attempt < 1000; ++attempt) {
    const auto port = static_cast<uint16_t>(20000 + random() % 12000);
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
  std::vector<NodeId> ids() const {
    std::vector<NodeId> result;
    for (const auto& [id, port] : ports_) result.push_back(id);
    return result;
  }
  std::string data_directory(NodeId id) const { return root_ + "/node" + std::to_string(id); }
  std::string log_path(NodeId id) const { return root_ + "/node" + std::to_string(id) + ".log"; }

  // Starts a node and waits until it has written its port file (it is serving).
  void start(NodeId id, bool existing) {
    const std::string port_file = root_ + "/node" + std::to_string(id) + ".port";
    std::filesystem::remove(port_file);
    std::vector<std::string> arguments{CAIRND_PATH,
                                       "--node-id", std::to_string(id),
                                       "--listen", "127.0.0.1:" + std::to_string(ports_.at(id)),
                                       "--data-dir", data_directory(id),
                                       "--port-file", port_file,
                                       "--initial-cluster-state", existing ? "existing" : "new"};
    for (const auto& [peer, port] : ports_) {
      if (peer != id) arguments.push_back("--peer=" + std::to_string(peer) + "=127.0.0.1:" + std::to_string(port));
    }
    const pid_t pid = ::fork();
    if (pid == 0) {
      const int log = ::open(log_path(id).c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      ::dup2(log, STDERR_FILENO);
      std::vector<char*> argv;
      for (auto& argument : arguments) argv.push_back(argument.data());
      argv.push_back(nullptr);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
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
  std::map<NodeId, pid_t> pids_;
};

// Runs `body` with a register client on a fresh real runtime in this process.
void with_client(const CairndCluster& cluster, const std::function<void(RegisterClient&)>& body) {
  EpollRuntime::Options options;
  options.node_id = kClientId;
  options.peers = cluster.addresses();
  options.handle_signals = false;
  options.log_level = LogLevel::kError;
  auto runtime = EpollRuntime::create(options);
  ASSERT_TRUE(runtime.ok()) << runtime.status().to_string();
  (*runtime)->run([&] {
    RegisterClient::Options client_options;
    client_options.replicas = cluster.ids();
    // A fresh writer id per client instance: a new client does not know the sequences an
    // earlier one used.
    static uint64_t sessions = 0;
    client_options.writer_id = kClientId * 1000 + ++sessions;
    client_options.round_timeout = milliseconds(300);
    auto client = RegisterClient::create(**runtime, client_options);
    EXPECT_TRUE(client.ok());
    if (client.ok()) body(**client);
    return 0;
  });
}

constexpr Duration kDeadline = seconds(10);

void expect_write(RegisterClient& client, const std::string& data) {
  RegisterResult result = client.write(data, kDeadline);
  EXPECT_EQ(result.outcome, OperationOutcome::kOk) << result.error.to_string();
}

void expect_read(RegisterClient& client, const std::string& data) {
  RegisterResult result = client.read(kDeadline);
  EXPECT_EQ(result.outcome, OperationOutcome::kOk) << result.error.to_string();
  EXPECT_EQ(result.value.data(), data);
}

TEST(CairndCluster, WritesAndReadsAcrossThreeProcesses) {
  CairndCluster cluster(3);
  for (NodeId id : cluster.ids()) cluster.start(id, false);
  with_client(cluster, [](RegisterClient& client) {
    expect_write(client, "alpha");
    expect_read(client, "alpha");
    expect_write(client, "beta");
    expect_read(client, "beta");
  });
  for (NodeId id : cluster.ids()) {
    EXPECT_TRUE(std::filesystem::exists(cluster.data_directory(id) + "/register.dat"));
    EXPECT_EQ(cluster.terminate(id), 0) << "SIGTERM must shut node " << id << " down cleanly:\n" << cluster.logs(id);
  }
}

TEST(CairndCluster, KillNineOfEveryNodeLosesNoAcknowledgedWrite) {
  CairndCluster cluster(3);
  for (NodeId id : cluster.ids()) cluster.start(id, false);
  with_client(cluster, [](RegisterClient& client) { expect_write(client, "durable"); });
  for (NodeId id : cluster.ids()) cluster.kill9(id);
  for (NodeId id : cluster.ids()) cluster.start(id, true);
  with_client(cluster, [](RegisterClient& client) { expect_read(client, "durable"); });
}

TEST(CairndCluster, RestartedNodeServesWhatItPersisted) {
  CairndCluster cluster(3);
  for (NodeId id : cluster.ids()) cluster.start(id, false);
  cluster.kill9(1);
  with_client(cluster, [](RegisterClient& client) { expect_write(client, "while-one-was-down"); });
  cluster.start(1, true);
  cluster.kill9(2);
  // Quorum {1, 3}: node 3 holds the write, node 1 only what it had before its crash.
  with_client(cluster, [](RegisterClient& client) {
    expect_read(client, "while-one-was-down");
    expect_write(client, "after-restart");
  });
  cluster.kill9(3);
  cluster.start(2, true);
  // Quorum {1, 2}: the last write reached node 1 (2 was down), and node 1 persisted it.
  with_client(cluster, [](RegisterClient& client) { expect_read(client, "after-restart"); });
}

// Connects a plain blocking socket, sends `bytes`, and reports whether the node closed the
// connection within two seconds.
bool node_closes_connection_after(uint16_t port, const std::string& bytes) {
  const int fd = testing::connect_loopback(port, 2);
  if (fd < 0) return false;
  ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
  const bool closed = testing::read_until_closed(fd);  // past the node's own Hello
  ::close(fd);
  return closed;
}

using testing::frame_of;
using testing::hello_frame;

TEST(CairndCluster, HostileBytesCloseTheConnectionNotTheNode) {
  CairndCluster cluster(3);
  for (NodeId id : cluster.ids()) cluster.start(id, false);
  const uint16_t port = static_cast<uint16_t>(std::stoi(cluster.addresses().at(1).substr(10)));
  const std::map<std::string, std::string> attacks{
      {"oversized length", std::string("\xff\xff\xff\x7f", 4)},
      {"garbage frame", std::string("\x08\x00\x00\x00", 4) + "\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8"},
      {"not a hello", frame_of(proto::RegisterReadRequest())},
      {"wrong protocol version", hello_frame(77, 99)},
      {"garbage after a valid hello", hello_frame(77) + std::string("\x03\x00\x00\x00", 4) + "\xff\xff\xff"},
      {"oversized after a valid hello", hello_frame(78) + std::string("\x00\x00\x00\x7f", 4)},
  };
  for (const auto& [name, bytes] : attacks) {
    EXPECT_TRUE(node_closes_connection_after(port, bytes)) << name;
    EXPECT_TRUE(cluster.alive(1)) << "node 1 died after: " << name << "\n" << cluster.logs(1);
  }
  // And it still serves, and shuts down cleanly (a node that had crashed could not exit 0).
  with_client(cluster, [](RegisterClient& client) {
    expect_write(client, "still-fine");
    expect_read(client, "still-fine");
  });
  EXPECT_TRUE(cluster.alive(1)) << cluster.logs(1);
  EXPECT_EQ(cluster.terminate(1), 0) << cluster.logs(1);
  const std::string logs = cluster.logs(1);
  EXPECT_NE(logs.find("exceeds the limit"), std::string::npos) << logs;
  EXPECT_NE(logs.find("is not a Hello"), std::string::npos) << logs;
}

}  // namespace
}  // namespace cairn::net

namespace cairn::net {
namespace {

using cairn::testing::CommandOutcome;

CommandOutcome run_cairnd(const std::string& arguments) { return cairn::testing::run_command(CAIRND_PATH, arguments); }

TEST(CairndFlags, BadFlagsExitTwoWithAnExplanation) {
  const std::string directory = ::testing::TempDir() + "/cairnd-flags-" + std::to_string(::getpid());
  const std::map<std::string, std::string> cases{
      {"", "--node-id is required"},
      {"--node-id 0 --listen 127.0.0.1:0 --data-dir " + directory, "not in range"},
      {"--node-id 1 --listen nowhere --data-dir " + directory, "needs a port"},
      {"--node-id 1 --listen 127.0.0.1:0 --data-dir " + directory + " --peer 2", "should be ID=HOST:PORT"},
      {"--node-id 1 --listen 127.0.0.1:0 --data-dir " + directory + " --peer 1=127.0.0.1:5", "not this node's"},
      {"--node-id 1 --listen 127.0.0.1:0 --data-dir " + directory + " --initial-cluster-state maybe", "new"},
  };
  for (const auto& [arguments, expected] : cases) {
    CommandOutcome outcome = run_cairnd(arguments);
    EXPECT_EQ(outcome.exit_code, 2) << arguments << "\n" << outcome.output;
    EXPECT_NE(outcome.output.find(expected), std::string::npos) << arguments << "\n" << outcome.output;
  }
}

TEST(CairndFlags, RefusesADataDirectoryOfAnotherNode) {
  char pattern[] = "/tmp/cairnd-identity-XXXXXX";
  ASSERT_NE(::mkdtemp(pattern), nullptr);
  const std::string directory = pattern;
  std::ofstream(directory + "/node.id") << "7\n";
  CommandOutcome outcome = run_cairnd("--node-id 1 --listen 127.0.0.1:0 --data-dir " + directory);
  EXPECT_EQ(outcome.exit_code, 2) << outcome.output;
  EXPECT_NE(outcome.output.find("belongs to node 7, not node 1"), std::string::npos) << outcome.output;
  std::filesystem::remove_all(directory);
}

}  // namespace
}  // namespace cairn::net
