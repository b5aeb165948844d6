// Seed sweeps with one forked process per seed (see sweep.h).
#include "sim/sweep.h"

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <csignal>
#include <cstring>
#include <map>
#include <sstream>

#include "sim/report.h"
#include "sim/scenario_loader.h"
#include "sim/scenario_runner.h"
#include "sim/trace.h"

namespace cairn::sim {
namespace {

struct Child {
  uint64_t seed;
  int pipe_read;
};

// Child side: run the seed and write one tab-separated line to the pipe:
// ok, trace hash, failed checks (comma-separated), first failure detail, counters
// ("name=count" comma-separated: the workload's outcomes and "injected.<fault>" counts).
[[noreturn]] void run_child(const proto::Scenario& scenario, uint64_t seed, int pipe_write, unsigned time_limit) {
  if (time_limit > 0) ::alarm(time_limit);
  Result<RunReport> report = run_scenario(scenario, seed, RunOptions{});
  std::string line;
  if (!report.ok()) {
    line = "0\t\tsetup\t" + report.status().to_string();
  } else {
    std::string failed;
    std::string detail;
    for (const CheckOutcome& check : report->checks) {
      if (check.passed) continue;
      failed += (failed.empty() ? "" : ",") + check_name(check.check);
      if (detail.empty()) detail = check.detail;
    }
    // One short line: the parent reads it only after the child exits, so it must fit the pipe.
    if (detail.size() > 2000) detail = detail.substr(0, 2000) + "...";
    std::replace(detail.begin(), detail.end(), '\n', ' ');
    std::replace(detail.begin(), detail.end(), '\t', ' ');
    std::string counters;
    auto add_counter = [&](const std::string& name, uint64_t count) {
      counters += (counters.empty() ? "" : ",") + name + "=" + std::to_string(count);
    };
    for (const auto& [name, count] : report->outcomes) add_counter(name, count);
    for (const auto& [fault, count] : report->faults) add_counter("injected." + fault, count);
    line = std::string(report->ok ? "1" : "0") + "\t" + format_hash(report->trace_hash) + "\t" + failed + "\t" +
           detail + "\t" + counters;
  }
  line += "\n";
  std::size_t written = 0;
  while (written < line.size()) {
    const ssize_t n = ::write(pipe_write, line.data() + written, line.size() - written);
    if (n <= 0) break;
    written += static_cast<std::size_t>(n);
  }
  ::close(pipe_write);
  std::_Exit(0);
}

std::string read_all(int fd) {
  std::string text;
  char buffer[4096];
  while (true) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n > 0) {
      text.append(buffer, static_cast<std::size_t>(n));
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      break;
    }
  }
  return text;
}

SeedOutcome parse_child_output(uint64_t seed, const std::string& output, int status, unsigned time_limit) {
  SeedOutcome outcome;
  outcome.seed = seed;
  if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM) {
    outcome.crashed = true;
    outcome.detail = "the run exceeded the per-seed time limit of " + std::to_string(time_limit) +
                     " s (a hang or a livelock)";
    return outcome;
  }
  if (WIFSIGNALED(status)) {
    outcome.crashed = true;
    outcome.detail = std::string("the run crashed with signal ") + std::to_string(WTERMSIG(status)) + " (" +
                     strsignal(WTERMSIG(status)) + ")";
    return outcome;
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || output.empty() || output.back() != '\n') {
    outcome.crashed = true;
    outcome.detail = "the run exited abnormally";
    return outcome;
  }
  std::vector<std::string> fields;
  std::stringstream stream(output.substr(0, output.size() - 1));
  std::string field;
  while (std::getline(stream, field, '\t')) fields.push_back(field);
  while (fields.size() < 5) fields.emplace_back();
  outcome.ok = fields[0] == "1";
  outcome.trace_hash = fields[1];
  std::stringstream checks(fields[2]);
  while (std::getline(checks, field, ',')) {
    if (!field.empty()) outcome.failed_checks.push_back(field);
  }
  outcome.detail = fields[3];
  std::stringstream counters(fields[4]);
  while (std::getline(counters, field, ',')) {
    const std::size_t equals = field.find('=');
    if (equals == std::string::npos) continue;
    uint64_t count = 0;
    const std::string_view digits = std::string_view(field).substr(equals + 1);
    std::from_chars(digits.data(), digits.data() + digits.size(), count);
    outcome.counters[field.substr(0, equals)] = count;
  }
  return outcome;
}

}  // namespace

std::size_t SweepResult::failed() const {
  return static_cast<std::size_t>(std::count_if(outcomes.begin(), outcomes.end(), [](const SeedOutcome& o) { return !o.ok; }));
}

bool parse_seed_range(const std::string& text, uint64_t& first, uint64_t& last) {
  auto parse = [](std::string_view digits, uint64_t& value) {
    if (digits.empty()) return false;
    const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
    return error == std::errc() && end == digits.data() + digits.size();
  };
  const std::size_t dots = text.find("..");
  if (dots == std::string::npos) {
    if (!parse(text, first)) return false;
    last = first;
    return true;
  }
  return parse(std::string_view(text).substr(0, dots), first) &&
         parse(std::string_view(text).substr(dots + 2), last) && first <= last;
}

SweepResult run_sweep(const proto::Scenario& scenario, const SweepOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  const std::size_t total = static_cast<std::size_t>(options.last_seed - options.first_seed + 1);
  const unsigned jobs = std::max(1u, options.jobs);
  std::map<pid_t, Child> running;
  std::map<uint64_t, SeedOutcome> finished;
  uint64_t next_seed = options.first_seed;
  bool seeds_left = true;

  while (seeds_left || !running.empty()) {
    while (seeds_left && running.size() < jobs) {
      int fds[2];
      if (::pipe(fds) != 0) break;
      const uint64_t seed = next_seed;
      std::fflush(nullptr);
      const pid_t pid = ::fork();
      if (pid == 0) {
        ::close(fds[0]);
        run_child(scenario, seed, fds[1], options.seed_time_limit_seconds);
      }
      ::close(fds[1]);
      if (pid < 0) {
        ::close(fds[0]);
        break;
      }
      running.emplace(pid, Child{seed, fds[0]});
      if (next_seed == options.last_seed) {
        seeds_left = false;
      } else {
        ++next_seed;
      }
    }
    if (running.empty()) break;  // fork or pipe failed with nothing running: give up on the rest
    // Drain the pipe of whichever child finishes first. Children write at most a line (well
    // under the pipe buffer), so reading after exit cannot deadlock.
    int status = 0;
    const pid_t pid = ::waitpid(-1, &status, 0);
    if (pid < 0) {
      if (errno == EINTR) continue;
      break;
    }
    auto it = running.find(pid);
    if (it == running.end()) continue;
    const std::string output = read_all(it->second.pipe_read);
    ::close(it->second.pipe_read);
    SeedOutcome outcome = parse_child_output(it->second.seed, output, status, options.seed_time_limit_seconds);
    running.erase(it);
    if (options.on_progress) options.on_progress(outcome, finished.size() + 1, total);
    finished.emplace(outcome.seed, std::move(outcome));
  }

  SweepResult result;
  for (auto& [seed, outcome] : finished) result.outcomes.push_back(std::move(outcome));
  result.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

}  // namespace cairn::sim
