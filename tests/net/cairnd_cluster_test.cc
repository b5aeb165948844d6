// Real processes on 127.0.0.1: three cairnd nodes serve the replicated key-value store (Raft) to
// a client in this test process (KvClient on the real epoll runtime) and to the `cairn` CLI.
// Proves that messages cross real TCP, that data reaches real disks, that kill -9 loses nothing
// acknowledged, that SIGTERM shuts down cleanly, that hostile bytes on the port close a
// connection without crashing a node, and that cairnd's flags, config file and data-directory
// identity are checked.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <sstream>
#include <thread>
#include <vector>

#include "core/kv/kv_client.h"
#include "net/epoll_runtime.h"
#include "net/frame_codec.h"
#include "tests/net/cairnd_cluster.h"
#include "tests/net/raw_peer.h"
#include "tests/support/test_support.h"

namespace cairn::net {
namespace {

using testing::CairndCluster;
using testing::with_kv_client;

constexpr Duration kDeadline = seconds(10);

void expect_write(kv::KvClient& client, const std::string& key, const std::string& value) {
  Result<proto::KvWriteReply> reply = client.put(key, value, kDeadline);
  EXPECT_TRUE(reply.ok()) << reply.status().to_string();
}

void expect_read(kv::KvClient& client, const std::string& key, const std::string& value,
                 proto::ReadConsistency consistency = proto::READ_LINEARIZABLE) {
  Result<std::optional<std::string>> read = client.get(key, consistency, kDeadline);
  ASSERT_TRUE(read.ok()) << read.status().to_string();
  ASSERT_TRUE(read->has_value()) << key << " not found";
  EXPECT_EQ(**read, value);
}

TEST(CairndCluster, WritesAndReadsAcrossThreeProcesses) {
  CairndCluster cluster(3);
  for (NodeId id : cluster.ids()) cluster.start(id, false);
  with_kv_client(cluster, [](kv::KvClient& client) {
    expect_write(client, "alpha", "1");
    expect_read(client, "alpha", "1");
    expect_write(client, "alpha", "2");
    expect_read(client, "alpha", "2", proto::READ_LEASE);
    Result<proto::KvWriteReply> removed = client.remove("alpha", kDeadline);
    ASSERT_TRUE(removed.ok()) << removed.status().to_string();
    Result<std::optional<std::string>> gone = client.get("alpha", proto::READ_LINEARIZABLE, kDeadline);
    ASSERT_TRUE(gone.ok()) << gone.status().to_string();
    EXPECT_FALSE(gone->has_value());
  });
  for (NodeId id : cluster.ids()) {
    EXPECT_TRUE(std::filesystem::exists(cluster.data_directory(id) + "/raft/store/wal"));
    EXPECT_EQ(cluster.terminate(id), 0) << "SIGTERM must shut node " << id << " down cleanly:\n" << cluster.logs(id);
  }
}

TEST(CairndCluster, KillNineOfEveryNodeLosesNoAcknowledgedWrite) {
  CairndCluster cluster(3);
  for (NodeId id : cluster.ids()) cluster.start(id, false);
  with_kv_client(cluster, [](kv::KvClient& client) {
    for (int i = 0; i < 20; ++i) expect_write(client, "key" + std::to_string(i), "durable" + std::to_string(i));
  });
  for (NodeId id : cluster.ids()) cluster.kill9(id);
  for (NodeId id : cluster.ids()) cluster.start(id, true);
  with_kv_client(cluster, [](kv::KvClient& client) {
    for (int i = 0; i < 20; ++i) expect_read(client, "key" + std::to_string(i), "durable" + std::to_string(i));
  });
}

TEST(CairndCluster, RestartedNodeServesWhatItPersisted) {
  CairndCluster cluster(3);
  for (NodeId id : cluster.ids()) cluster.start(id, false);
  cluster.kill9(1);
  with_kv_client(cluster, [](kv::KvClient& client) { expect_write(client, "k", "while-one-was-down"); });
  cluster.start(1, true);
  // Node 1 catches up from the leader; then a stale read on it alone must show the write.
  cluster.kill9(2);
  with_kv_client(cluster, [](kv::KvClient& client) {
    expect_read(client, "k", "while-one-was-down");
    expect_write(client, "k", "after-restart");
  });
  cluster.kill9(3);
  cluster.start(2, true);
  // Quorum {1, 2}: the last write was acknowledged by {1, 3}; node 1 must have persisted it.
  with_kv_client(cluster, [](kv::KvClient& client) { expect_read(client, "k", "after-restart"); });
}

// The `cairn` CLI against a real cluster: what a user types, what they see, and exit statuses.
TEST(CairnCli, PutGetScanDeleteAndClusterStatus) {
  CairndCluster cluster(3);
  for (NodeId id : cluster.ids()) cluster.start(id, false);
  const std::string endpoints = cluster.endpoints_flag();
  const auto cairn = [&](const std::string& arguments) {
    return cairn::testing::run_command(CAIRN_PATH, "--endpoints " + endpoints + " " + arguments);
  };
  EXPECT_EQ(cairn("put greeting hello").output, "OK\n");
  EXPECT_EQ(cairn("put other world").exit_code, 0);
  cairn::testing::CommandOutcome got = cairn("get greeting");
  EXPECT_EQ(got.exit_code, 0) << got.output;
  EXPECT_EQ(got.output, "hello\n");
  EXPECT_EQ(cairn("get greeting --consistency stale").exit_code, 0);
  cairn::testing::CommandOutcome missing = cairn("get nothing-here");
  EXPECT_EQ(missing.exit_code, 1) << missing.output;
  EXPECT_NE(missing.output.find("not found"), std::string::npos) << missing.output;
  EXPECT_EQ(cairn("scan").output, "greeting\thello\nother\tworld\n");
  EXPECT_EQ(cairn("scan h --limit 5").output, "other\tworld\n");
  EXPECT_EQ(cairn("del greeting").exit_code, 0);
  EXPECT_EQ(cairn("get greeting").exit_code, 1);

  cairn::testing::CommandOutcome status = cairn("cluster status");
  EXPECT_EQ(status.exit_code, 0) << status.output;
  EXPECT_NE(status.output.find("leader"), std::string::npos) << status.output;
  EXPECT_NE(status.output.find("voters 1,2,3"), std::string::npos) << status.output;
  cairn::testing::CommandOutcome json = cairn("--json cluster status");
  EXPECT_TRUE(json.output.starts_with("[{")) << json.output;

  // Bad usage exits 2 with a reason; an unreachable cluster exits 3.
  EXPECT_EQ(cairn::testing::run_command(CAIRN_PATH, "--endpoints 1=nowhere get k").exit_code, 2);
  EXPECT_EQ(cairn::testing::run_command(CAIRN_PATH, "--endpoints 1=127.0.0.1:1,1=127.0.0.1:2 get k").exit_code, 2);
  EXPECT_EQ(cairn("get").exit_code, 2);
  EXPECT_EQ(cairn("frobnicate").exit_code, 2);
  EXPECT_EQ(cairn::testing::run_command(CAIRN_PATH, "--timeout 0.3 --endpoints 1=127.0.0.1:1 get k").exit_code, 3);
}

// A loopback port that completes TCP handshakes (the kernel's backlog) and never answers: a node
// that hangs rather than one that is down, which a refused connection would show at once.
class SilentEndpoint {
 public:
  SilentEndpoint() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof(address);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&address), length), 0);
    EXPECT_EQ(::listen(fd_, 16), 0);
    EXPECT_EQ(::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length), 0);
    port_ = ntohs(address.sin_port);
  }
  ~SilentEndpoint() { ::close(fd_); }
  SilentEndpoint(const SilentEndpoint&) = delete;
  SilentEndpoint& operator=(const SilentEndpoint&) = delete;
  uint16_t port() const { return port_; }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
};

TEST(CairnCli, ClusterStatusAsksEveryNodeAtOnce) {
  CairndCluster cluster(3);
  for (NodeId id : cluster.ids()) cluster.start(id, false);
  std::string endpoints = cluster.endpoints_flag();
  // Four hung nodes at a one-second timeout: asked one after another they cost four seconds.
  std::vector<std::unique_ptr<SilentEndpoint>> hung;
  for (NodeId id = 7; id <= 10; ++id) {
    hung.push_back(std::make_unique<SilentEndpoint>());
    endpoints += "," + std::to_string(id) + "=127.0.0.1:" + std::to_string(hung.back()->port());
  }
  const auto started = std::chrono::steady_clock::now();
  cairn::testing::CommandOutcome status =
      cairn::testing::run_command(CAIRN_PATH, "--timeout 1 --endpoints " + endpoints + " cluster status");
  const auto took = std::chrono::steady_clock::now() - started;
  EXPECT_EQ(status.exit_code, 0) << status.output;
  EXPECT_NE(status.output.find("voters 1,2,3"), std::string::npos) << status.output;
  for (NodeId id = 7; id <= 10; ++id) {
    EXPECT_NE(status.output.find(std::to_string(id) + " "), std::string::npos) << status.output;
  }
  EXPECT_EQ(std::count(status.output.begin(), status.output.end(), '\n'), 1 + 3 + 4) << status.output;
  EXPECT_NE(status.output.find("unreachable"), std::string::npos) << status.output;
  EXPECT_LT(took, std::chrono::seconds(3)) << status.output;
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
      {"not a hello", frame_of(proto::KvReadRequest())},
      {"wrong protocol version", hello_frame(77, 99)},
      {"garbage after a valid hello", hello_frame(77) + std::string("\x03\x00\x00\x00", 4) + "\xff\xff\xff"},
      {"oversized after a valid hello", hello_frame(78) + std::string("\x00\x00\x00\x7f", 4)},
  };
  for (const auto& [name, bytes] : attacks) {
    EXPECT_TRUE(node_closes_connection_after(port, bytes)) << name;
    EXPECT_TRUE(cluster.alive(1)) << "node 1 died after: " << name << "\n" << cluster.logs(1);
  }
  // And it still serves, and shuts down cleanly (a node that had crashed could not exit 0).
  with_kv_client(cluster, [](kv::KvClient& client) {
    expect_write(client, "k", "still-fine");
    expect_read(client, "k", "still-fine");
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
  const std::string base = "--node-id 1 --listen-peer 127.0.0.1:0 --data-dir " + directory;
  const std::map<std::string, std::string> cases{
      {"", "--node-id is required"},
      {"--node-id 0 --listen-peer 127.0.0.1:0 --data-dir " + directory, "not in range"},
      {"--node-id 1 --listen-peer nowhere --data-dir " + directory, "--listen-peer: "},
      {base + " --listen-client 127.0.0.1", "--listen-client: "},
      {base + " --peer 2", "should be ID=HOST:PORT"},
      {base + " --peer x=127.0.0.1:5", "is not a node id"},
      {base + " --peer 1=127.0.0.1:5", "this node's own id"},
      {base + " --peer 2=127.0.0.1:5 --peer 2=127.0.0.1:6", "given twice"},
      {base + " --initial-cluster-state maybe", "new"},
      {base + " --tick-ms 0", "not in range"},
      {base + " --election-ticks 3 --heartbeat-ticks 1", "--election-ticks must exceed"},
      {base + " --config /nonexistent/cairnd.toml", "/nonexistent/cairnd.toml"},
      {"--node-id 1 --listen-peer 0.0.0.0:0 --data-dir " + directory, "give --advertise-host"},
      {base + " --advertise-host not-an-ip", "--advertise-host"},
  };
  for (const auto& [arguments, expected] : cases) {
    CommandOutcome outcome = run_cairnd(arguments);
    EXPECT_EQ(outcome.exit_code, 2) << arguments << "\n" << outcome.output;
    EXPECT_NE(outcome.output.find(expected), std::string::npos) << arguments << "\n" << outcome.output;
  }
}

std::string temporary_directory(const std::string& name) {
  std::string pattern = "/tmp/" + name + "-XXXXXX";
  EXPECT_NE(::mkdtemp(pattern.data()), nullptr);
  return pattern;
}

TEST(CairndFlags, RefusesADataDirectoryOfAnotherNodeOrCluster) {
  const std::string directory = temporary_directory("cairnd-identity");
  std::ofstream(directory + "/node.id") << "node 7\ncluster cairn\n";
  CommandOutcome other_node = run_cairnd("--node-id 1 --listen-peer 127.0.0.1:0 --data-dir " + directory);
  EXPECT_EQ(other_node.exit_code, 2) << other_node.output;
  EXPECT_NE(other_node.output.find("belongs to node 7, not node 1"), std::string::npos) << other_node.output;

  CommandOutcome other_cluster =
      run_cairnd("--node-id 7 --cluster-name staging --listen-peer 127.0.0.1:0 --data-dir " + directory);
  EXPECT_EQ(other_cluster.exit_code, 2) << other_cluster.output;
  EXPECT_NE(other_cluster.output.find("belongs to cluster 'cairn', not cluster 'staging'"), std::string::npos)
      << other_cluster.output;

  std::ofstream(directory + "/node.id", std::ios::trunc) << "garbage";
  CommandOutcome damaged = run_cairnd("--node-id 7 --listen-peer 127.0.0.1:0 --data-dir " + directory);
  EXPECT_NE(damaged.exit_code, 0) << damaged.output;
  EXPECT_NE(damaged.output.find("not a Cairn identity file"), std::string::npos) << damaged.output;
  std::filesystem::remove_all(directory);
}

// A misspelt key is an error naming the line and the key meant, not a node of its own cluster.
TEST(CairndFlags, AConfigFileWithAnUnknownKeyIsRefusedNamingTheLine) {
  const std::string directory = temporary_directory("cairnd-config-typo");
  const std::string config = directory + "/node.toml";
  std::ofstream(config) << "node-id = 1\n"
                           "data-dir = \"" << directory << "/data\"\n"
                           "listen-peer = \"127.0.0.1:0\"\n"
                           "peers = [\"2=127.0.0.1:7002\"]\n";
  CommandOutcome outcome = run_cairnd("--config " + config);
  EXPECT_EQ(outcome.exit_code, 2) << outcome.output;
  EXPECT_NE(outcome.output.find("node.toml line 4: unknown key 'peers' (did you mean 'peer'?)"), std::string::npos)
      << outcome.output;
  EXPECT_FALSE(std::filesystem::exists(directory + "/data")) << "nothing may be written before the node can start";
  std::filesystem::remove_all(directory);
}

// A start that cannot listen writes nothing into its data directory (not even the directory).
TEST(CairndFlags, AStartThatCannotListenLeavesNoTrace) {
  const std::string directory = temporary_directory("cairnd-no-trace");
  const auto [busy, busy_port] = testing::listen_loopback();
  ASSERT_GE(busy, 0);
  const std::string taken = "127.0.0.1:" + std::to_string(busy_port);
  for (const std::string& listeners : {"--listen-peer " + taken, "--listen-peer 127.0.0.1:0 --listen-http " + taken}) {
    CommandOutcome outcome = run_cairnd("--node-id 1 --data-dir " + directory + "/data " + listeners);
    EXPECT_EQ(outcome.exit_code, 1) << listeners << "\n" << outcome.output;
    EXPECT_NE(outcome.output.find("cannot listen on " + taken), std::string::npos) << outcome.output;
    EXPECT_FALSE(std::filesystem::exists(directory + "/data")) << listeners;
  }
  // A directory that exists already keeps existing, but gets no identity file.
  std::filesystem::create_directories(directory + "/data");
  CommandOutcome outcome = run_cairnd("--node-id 1 --data-dir " + directory + "/data --listen-peer " + taken);
  EXPECT_EQ(outcome.exit_code, 1) << outcome.output;
  EXPECT_TRUE(std::filesystem::is_empty(directory + "/data"));
  ::close(busy);
  std::filesystem::remove_all(directory);
}

TEST(CairnCli, VersionIsPrinted) {
  for (const auto& [path, name] : {std::pair{CAIRN_PATH, "cairn "}, std::pair{CAIRND_PATH, "cairnd "}}) {
    CommandOutcome outcome = cairn::testing::run_command(path, "--version");
    EXPECT_EQ(outcome.exit_code, 0) << outcome.output;
    EXPECT_TRUE(outcome.output.starts_with(name)) << outcome.output;
  }
}

// A node configured entirely from a TOML file serves, and writes its ports where the file says.
TEST(CairndFlags, AConfigFileSetsEveryFlag) {
  const std::string directory = temporary_directory("cairnd-config");
  const std::string config = directory + "/node.toml";
  std::ofstream(config) << "node-id = 1\n"
                           "data-dir = \"" << directory << "/data\"\n"
                           "cluster-name = \"from-file\"\n"
                           "listen-peer = \"127.0.0.1:0\"\n"
                           "port-file = \"" << directory << "/ports\"\n"
                           "tick-ms = 20\n";
  const pid_t pid = testing::spawn_cairnd({"--config", config}, "/dev/null");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!std::filesystem::exists(directory + "/ports") && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  std::ifstream ports(directory + "/ports");
  std::string peer_line;
  std::getline(ports, peer_line);
  EXPECT_TRUE(peer_line.starts_with("peer=")) << peer_line;
  std::ifstream identity(directory + "/data/node.id");
  std::stringstream identity_text;
  identity_text << identity.rdbuf();
  EXPECT_EQ(identity_text.str(), "node 1\ncluster from-file\n");
  ::kill(pid, SIGTERM);
  int status = 0;
  ::waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  std::filesystem::remove_all(directory);
}

}  // namespace
}  // namespace cairn::net
