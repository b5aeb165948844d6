// EpollRuntime: the Runtime of a real process — real clocks, the epoll loop, TCP, POSIX files
// under a data directory, a random source seeded from the OS, fault points that never fire
// (core/runtime/fault_points.h), and structured logs on stderr. One per process; the database
// core runs on it unchanged.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "core/runtime/event.h"
#include "core/runtime/runtime.h"
#include "net/epoll_loop.h"
#include "net/posix_file_system.h"
#include "net/tcp_transport.h"

namespace cairn::net {

class StderrLogger;

class EpollRuntime final : public Runtime {
 public:
  struct Options {
    NodeId node_id = 0;
    std::string data_directory;               // empty: no file system (a pure client)
    std::map<NodeId, std::string> peers;      // node id -> "host:port"
    LogLevel log_level = LogLevel::kInfo;
    bool handle_signals = true;               // SIGTERM / SIGINT request a clean shutdown
    // Limits and timeouts of the transport; its `self` and `peers` come from the fields above.
    TcpTransport::Options transport;
  };

  static Result<std::unique_ptr<EpollRuntime>> create(Options options);
  ~EpollRuntime() override;

  // Runs `main` as the process's main fiber and returns its exit code when it returns. Every
  // other fiber is then cancelled and unwound before run() returns.
  int run(std::function<int()> main);
  // Set when SIGTERM or SIGINT arrives; a main fiber waits on it to shut down cleanly.
  Event& shutdown_requested() { return shutdown_requested_; }
  TcpTransport& transport() { return *transport_; }
  EpollLoop& loop() { return *loop_; }

  NodeId node_id() const override { return options_.node_id; }
  MonotonicTime now() override;
  WallTime wall_now() override;
  TimerId start_timer(Duration delay, std::function<void()> callback) override;
  void cancel_timer(TimerId id) override;
  Process& process() override { return *process_; }
  Random& random() override { return random_; }
  Network& network() override { return *transport_; }
  FileSystem& file_system() override;
  Logger& logger() override;
  metrics::MetricsRegistry& metrics() override { return metrics_; }

 private:
  // Fault points are disabled here (Runtime(false)): these are never called.
  bool fire(std::string_view) override { return false; }
  void hit(std::string_view) override {}
  explicit EpollRuntime(Options options, std::unique_ptr<EpollLoop> loop, uint64_t seed);

  Options options_;
  std::unique_ptr<EpollLoop> loop_;
  Random random_;
  std::unique_ptr<StderrLogger> logger_;
  // Before the process, the file system and the transport: whatever they hold refers to it.
  metrics::MetricsRegistry metrics_;
  std::unique_ptr<Process> process_;
  std::unique_ptr<BlockingCallThread> syncs_;  // before the file system: its files use it
  std::unique_ptr<PosixFileSystem> file_system_;
  Event shutdown_requested_;
  std::unique_ptr<TcpTransport> transport_;
};

}  // namespace cairn::net
