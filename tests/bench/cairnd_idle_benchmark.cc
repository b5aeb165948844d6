// cairn-bench-cairnd-idle: what idle ranges cost the daemon. A one-node cluster runs cairnd's own
// code (run_daemon on the epoll runtime, in a child process) hosting 1 range, then N (default
// 10,000); after a warm-up, the parent reads the child's CPU time (/proc/PID/stat) over a window
// and its resident memory (/proc/PID/status). The ranges issue's goal: 10,000 ranges under 2 % of
// a core and 300 MiB. Not part of ctest: performance is measured, not asserted.
//
//   build/bin/cairn-bench-cairnd-idle [--ranges N] [--warmup-s S] [--window-s S] [--tick-ms MS]
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "net/cairnd/daemon.h"
#include "net/epoll_runtime.h"

namespace {

using namespace cairn;

struct Settings {
  uint32_t ranges = 10'000;
  int warmup_seconds = 30;
  int window_seconds = 60;
  uint32_t tick_ms = 100;  // cairnd's default
};

// The child: cairnd's serving code, as the daemon runs it, with its own data directory.
[[noreturn]] void run_node(const Settings& settings, uint32_t ranges, const std::string& directory) {
  net::DaemonOptions options;
  options.identity = {.node = 1, .cluster = "bench"};
  options.listen_peer = "127.0.0.1:0";
  options.initial_voters = {1};
  options.tick = milliseconds(settings.tick_ms);
  options.ranges = ranges;
  net::EpollRuntime::Options runtime_options;
  runtime_options.node_id = 1;
  runtime_options.data_directory = directory;
  runtime_options.log_level = LogLevel::kWarning;
  Result<std::unique_ptr<net::EpollRuntime>> runtime = net::EpollRuntime::create(runtime_options);
  if (!runtime.ok()) {
    std::fprintf(stderr, "cannot create the runtime: %s\n", runtime.status().to_string().c_str());
    std::_Exit(1);
  }
  std::_Exit((*runtime)->run([&] { return net::run_daemon(**runtime, options); }));
}

// User plus system CPU seconds of a process.
double cpu_seconds(pid_t pid) {
  std::ifstream file("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  // Fields after the command's closing parenthesis: state is field 3, utime 14, stime 15.
  std::istringstream fields(text.substr(text.rfind(')') + 2));
  std::string field;
  double ticks = 0;
  for (int number = 3; number <= 15 && fields >> field; ++number) {
    if (number == 14 || number == 15) ticks += std::stod(field);
  }
  return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

double resident_mib(pid_t pid) {
  std::ifstream file("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(file, line)) {
    if (line.starts_with("VmRSS:")) return std::stod(line.substr(6)) / 1024.0;
  }
  return -1;
}

bool measure(const Settings& settings, uint32_t ranges) {
  const std::filesystem::path directory =
      std::filesystem::temp_directory_path() / ("cairn-bench-idle-" + std::to_string(getpid()) + "-" + std::to_string(ranges));
  std::filesystem::remove_all(directory);
  std::filesystem::create_directories(directory);
  const pid_t child = fork();
  if (child < 0) return false;
  if (child == 0) run_node(settings, ranges, directory.string());
  std::this_thread::sleep_for(std::chrono::seconds(settings.warmup_seconds));
  const double warmup_cpu = cpu_seconds(child);
  std::this_thread::sleep_for(std::chrono::seconds(settings.window_seconds));
  const double window_cpu = cpu_seconds(child) - warmup_cpu;
  const double rss = resident_mib(child);
  kill(child, SIGTERM);
  int status = 0;
  waitpid(child, &status, 0);
  std::filesystem::remove_all(directory);
  const bool clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  std::printf("%-10u %14.2f %16.2f %12.1f %s\n", ranges, warmup_cpu, 100.0 * window_cpu / settings.window_seconds, rss,
              clean ? "" : "(the node did not exit cleanly)");
  return clean && warmup_cpu > 0;
}

}  // namespace

int main(int argc, char** argv) {
  Settings settings;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const long value = std::strtol(argv[i + 1], nullptr, 10);
    if (flag == "--ranges" && value >= 1 && value <= 100'000) {
      settings.ranges = static_cast<uint32_t>(value);
    } else if (flag == "--warmup-s" && value >= 1 && value <= 3600) {
      settings.warmup_seconds = static_cast<int>(value);
    } else if (flag == "--window-s" && value >= 1 && value <= 3600) {
      settings.window_seconds = static_cast<int>(value);
    } else if (flag == "--tick-ms" && value >= 1 && value <= 10'000) {
      settings.tick_ms = static_cast<uint32_t>(value);
    } else {
      std::fprintf(stderr,
                   "usage: cairn-bench-cairnd-idle [--ranges 1..100000] [--warmup-s 1..3600] [--window-s 1..3600] "
                   "[--tick-ms 1..10000]\n(bad or unknown: %s %s)\n",
                   argv[i], argv[i + 1]);
      return 2;
    }
  }
  if (argc % 2 == 0) {
    std::fprintf(stderr, "usage: cairn-bench-cairnd-idle [--ranges N] [--warmup-s S] [--window-s S] [--tick-ms MS]\n");
    return 2;
  }
  std::printf("one cairnd node, %u ms tick; CPU after a %d s warm-up, over %d s\n", settings.tick_ms,
              settings.warmup_seconds, settings.window_seconds);
  std::printf("%-10s %14s %16s %12s\n", "ranges", "start-up CPU s", "idle CPU % core", "RSS MiB");
  bool ok = measure(settings, 1);
  ok = measure(settings, settings.ranges) && ok;
  return ok ? 0 : 1;
}
