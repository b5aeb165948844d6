// The production Runtime over epoll, TCP and POSIX files (see epoll_runtime.h).
#include "net/epoll_runtime.h"

#include <cstdio>
#include <ctime>
#include <random>

namespace cairn::net {

// Log lines on stderr: RFC 3339 UTC wall time, node, then the key=value fields.
class StderrLogger final : public Logger {
 public:
  StderrLogger(NodeId node, LogLevel threshold) : node_(node), threshold_(threshold) {}
  bool enabled(LogLevel level) const override { return level >= threshold_; }

 protected:
  void write(LogLevel level, std::string_view component, std::string_view message,
             std::initializer_list<LogField> fields) override {
    const int64_t nanos = EpollLoop::wall_nanos();
    const std::time_t seconds = static_cast<std::time_t>(nanos / 1'000'000'000);
    std::tm utc{};
    ::gmtime_r(&seconds, &utc);
    char stamp[40];
    std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &utc);
    std::fprintf(stderr, "ts=%s.%03dZ node=%llu %s\n", stamp, static_cast<int>((nanos / 1'000'000) % 1000),
                 static_cast<unsigned long long>(node_), format_log_fields(level, component, message, fields).c_str());
  }

 private:
  NodeId node_;
  LogLevel threshold_;
};

Result<std::unique_ptr<EpollRuntime>> EpollRuntime::create(Options options) {
  CAIRN_ASSIGN_OR_RETURN(std::unique_ptr<EpollLoop> loop, EpollLoop::create(options.handle_signals));
  std::random_device entropy;
  const uint64_t seed = (static_cast<uint64_t>(entropy()) << 32) ^ entropy();
  std::unique_ptr<EpollRuntime> runtime(new EpollRuntime(std::move(options), std::move(loop), seed));
  if (!runtime->options_.data_directory.empty()) {
    runtime->syncs_ = std::make_unique<BlockingCallThread>(*runtime->loop_);
    CAIRN_ASSIGN_OR_RETURN(runtime->file_system_,
                           PosixFileSystem::open_root(runtime->options_.data_directory, runtime->syncs_.get()));
  }
  TcpTransport::Options transport_options = runtime->options_.transport;
  transport_options.self = runtime->options_.node_id;
  transport_options.peers = runtime->options_.peers;
  CAIRN_ASSIGN_OR_RETURN(runtime->transport_, TcpTransport::create(*runtime->loop_, *runtime, transport_options));
  runtime->loop_->on_signal([raw = runtime.get()](int signal) {
    raw->logger().log(LogLevel::kInfo, "runtime", "shutdown requested", {{"signal", signal}});
    raw->shutdown_requested_.set();
  });
  return runtime;
}

EpollRuntime::EpollRuntime(Options options, std::unique_ptr<EpollLoop> loop, uint64_t seed)
    : Runtime(/*fault_points_enabled=*/false),
      options_(std::move(options)),
      loop_(std::move(loop)),
      random_(seed),
      logger_(std::make_unique<StderrLogger>(options_.node_id, options_.log_level)),
      process_(std::make_unique<Process>(loop_->scheduler(), "node-" + std::to_string(options_.node_id))) {}

EpollRuntime::~EpollRuntime() {
  // Unwind every fiber while what they use still exists, then tear down the rest.
  if (process_->alive()) process_->kill();
  transport_.reset();
  process_.reset();
}

int EpollRuntime::run(std::function<int()> main) {
  int exit_code = 0;
  bool finished = false;
  process_->root().spawn("main", [&] {
    struct Finished {
      bool* flag;
      ~Finished() { *flag = true; }  // also when main unwinds (its process was killed)
    } mark{&finished};
    exit_code = main();
  });
  loop_->run_until([&] { return finished || !process_->alive(); });
  if (process_->alive()) process_->kill();
  return exit_code;
}

MonotonicTime EpollRuntime::now() { return MonotonicTime(Duration{EpollLoop::monotonic_nanos()}); }

WallTime EpollRuntime::wall_now() { return WallTime(Duration{EpollLoop::wall_nanos()}); }

TimerId EpollRuntime::start_timer(Duration delay, std::function<void()> callback) {
  return loop_->add_timer(delay, std::move(callback));
}

void EpollRuntime::cancel_timer(TimerId id) { loop_->cancel_timer(id); }

FileSystem& EpollRuntime::file_system() {
  CAIRN_ASSERT(file_system_ != nullptr, "this runtime was created without a data directory");
  return *file_system_;
}

Logger& EpollRuntime::logger() { return *logger_; }

}  // namespace cairn::net
