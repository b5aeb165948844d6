// Seeds run in forked child processes that report through a pipe (see isolated_run.h).
#include "sim/isolated_run.h"

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <map>
#include <sstream>

#include "sim/report.h"
#include "sim/scenario_loader.h"
#include "sim/trace.h"

namespace cairn::sim {
namespace {

struct Child {
  pid_t pid = -1;
  int pipe_read = -1;
  std::size_t request_index = 0;
  uint64_t seed = 0;
};

// The report line is read only after the child exits, so it must fit the pipe's buffer (64 KiB:
// a few details, the counters of some hundred probes and sites).
constexpr std::size_t kMaxDetailBytes = 2000;
// Separators within the details field: between a check and its detail, and after each detail.
constexpr char kCheckSeparator = '\x1f';
constexpr char kDetailSeparator = '\x1e';

// A detail on one line of the pipe: bounded, without the separators of the line.
std::string flatten_detail(std::string detail) {
  if (detail.size() > kMaxDetailBytes) detail = detail.substr(0, kMaxDetailBytes) + "...";
  for (char& c : detail) {
    if (c == '\n' || c == '\t' || c == kDetailSeparator || c == kCheckSeparator) c = ' ';
  }
  return detail;
}

std::string outcome_line(const Result<RunReport>& report) {
  if (!report.ok()) return "0\t\tsetup\t" + report.status().to_string();
  std::string failed;
  std::string detail;
  std::string details;  // every failed check's detail: check \x1f detail \x1e ...
  for (const CheckOutcome& check : report->checks) {
    if (check.passed) continue;
    failed += (failed.empty() ? "" : ",") + check_name(check.check);
    if (detail.empty()) detail = check.detail;
    details += check_name(check.check) + kCheckSeparator + flatten_detail(check.detail) + kDetailSeparator;
  }
  detail = flatten_detail(detail);
  std::string counters;
  auto add_counter = [&](const std::string& name, uint64_t count) {
    counters += (counters.empty() ? "" : ",") + name + "=" + std::to_string(count);
  };
  for (const auto& [name, count] : report->outcomes) add_counter(name, count);
  for (const auto& [fault, count] : report->faults) add_counter("injected." + fault, count);
  for (const auto& [probe, count] : report->probes) add_counter("probe." + probe, count);
  for (const auto& [site, count] : report->buggify_fired) add_counter("buggify." + site, count);
  return std::string(report->ok ? "1" : "0") + "\t" + format_hash(report->trace_hash) + "\t" + failed + "\t" + detail +
         "\t" + counters + "\t" + details;
}

// The exit status of a child stopped by its CPU-time limit (timeout(1)'s, for the same reason).
constexpr int kTimeLimitExitStatus = 124;
// A child still running after this many times its CPU limit in wall-clock time is killed too.
constexpr unsigned kWallClockBackstopFactor = 4;

void exit_at_time_limit(int) { std::_Exit(kTimeLimitExitStatus); }

// The limit is CPU time, not wall-clock time: a machine busy with other work, or a sweep paused
// with SIGSTOP, must not turn a slow seed into a "hang". A simulated run never waits for
// anything, so a hang or a livelock burns CPU and meets the limit. SIGXCPU ends the child with
// an exit status rather than its default core dump; a wall-clock alarm far beyond the limit
// catches a child that blocked instead (it should not).
void limit_time(unsigned time_limit) {
  if (time_limit == 0) return;
  struct sigaction action {};
  action.sa_handler = &exit_at_time_limit;
  ::sigaction(SIGXCPU, &action, nullptr);
  // The alarm first: whoever sees the CPU limit in /proc/<pid>/limits knows both are armed.
  ::alarm(time_limit * kWallClockBackstopFactor);
  const rlimit cpu{.rlim_cur = time_limit, .rlim_max = time_limit + 1};
  ::setrlimit(RLIMIT_CPU, &cpu);
}

// Child side: run the seed and write one tab-separated line to the pipe: ok, trace hash, failed
// checks (comma-separated), first failure detail, counters ("name=count" comma-separated: the
// workload's outcomes and "injected.<fault>" counts).
[[noreturn]] void run_child(const proto::Scenario& scenario, const IsolatedRunRequest& request, int pipe_write,
                            unsigned time_limit) {
  limit_time(time_limit);
  const std::string line = outcome_line(run_scenario(scenario, request.seed, request.options)) + "\n";
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

std::vector<std::string> split(const std::string& text, char separator) {
  std::vector<std::string> parts;
  std::stringstream stream(text);
  std::string part;
  while (std::getline(stream, part, separator)) parts.push_back(part);
  return parts;
}

std::map<std::string, uint64_t> parse_counters(const std::string& text) {
  std::map<std::string, uint64_t> counters;
  for (const std::string& field : split(text, ',')) {
    const std::size_t equals = field.find('=');
    if (equals == std::string::npos) continue;
    uint64_t count = 0;
    const std::string_view digits = std::string_view(field).substr(equals + 1);
    std::from_chars(digits.data(), digits.data() + digits.size(), count);
    counters[field.substr(0, equals)] = count;
  }
  return counters;
}

SeedOutcome parse_child_output(uint64_t seed, const std::string& output, int status, unsigned time_limit) {
  SeedOutcome outcome;
  outcome.seed = seed;
  if (WIFEXITED(status) && WEXITSTATUS(status) == kTimeLimitExitStatus) {
    outcome.crashed = true;
    outcome.detail = "the run exceeded the per-seed time limit of " + std::to_string(time_limit) +
                     " s of CPU time (a hang or a livelock)";
    return outcome;
  }
  if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM) {
    outcome.crashed = true;
    outcome.detail = "the run exceeded the per-seed time limit: still running after " +
                     std::to_string(time_limit * kWallClockBackstopFactor) + " s of wall-clock time (blocked?)";
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
  std::vector<std::string> fields = split(output.substr(0, output.size() - 1), '\t');
  while (fields.size() < 6) fields.emplace_back();
  outcome.ok = fields[0] == "1";
  outcome.trace_hash = fields[1];
  for (const std::string& check : split(fields[2], ',')) {
    if (!check.empty()) outcome.failed_checks.push_back(check);
  }
  outcome.detail = fields[3];
  outcome.counters = parse_counters(fields[4]);
  for (const std::string& entry : split(fields[5], kDetailSeparator)) {
    const std::size_t separator = entry.find(kCheckSeparator);
    if (separator != std::string::npos) outcome.failure_details[entry.substr(0, separator)] = entry.substr(separator + 1);
  }
  return outcome;
}

Result<Child> start_child(const proto::Scenario& scenario, const IsolatedRunRequest& request, std::size_t index,
                          unsigned time_limit) {
  int fds[2];
  if (::pipe(fds) != 0) return Status::io_error(std::string("cannot create a pipe: ") + std::strerror(errno));
  // Buffered output would otherwise be written twice, once by each process.
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[0]);
    run_child(scenario, request, fds[1], time_limit);
  }
  const int fork_error = errno;
  ::close(fds[1]);
  if (pid < 0) {
    ::close(fds[0]);
    return Status::io_error(std::string("cannot fork a run: ") + std::strerror(fork_error));
  }
  return Child{.pid = pid, .pipe_read = fds[0], .request_index = index, .seed = request.seed};
}

// After the child exited: read its line (it wrote at most one line, well under the pipe buffer,
// so reading after exit cannot deadlock) and close the pipe.
SeedOutcome finish_child(const Child& child, int status, unsigned time_limit) {
  const std::string output = read_all(child.pipe_read);
  ::close(child.pipe_read);
  return parse_child_output(child.seed, output, status, time_limit);
}

}  // namespace

Result<SeedOutcome> run_isolated(const proto::Scenario& scenario, const IsolatedRunRequest& request,
                                 const IsolationLimits& limits) {
  Result<Child> child = start_child(scenario, request, 0, limits.time_limit_seconds);
  if (!child.ok()) return child.status();
  int status = 0;
  while (::waitpid(child->pid, &status, 0) < 0) {
    if (errno != EINTR) {
      ::close(child->pipe_read);
      return Status::io_error(std::string("cannot wait for a run: ") + std::strerror(errno));
    }
  }
  return finish_child(*child, status, limits.time_limit_seconds);
}

std::vector<SeedOutcome> run_isolated_all(
    const proto::Scenario& scenario, std::size_t count,
    const std::function<IsolatedRunRequest(std::size_t index)>& request_at, unsigned jobs,
    const IsolationLimits& limits,
    const std::function<void(const SeedOutcome&, std::size_t done, std::size_t total)>& on_done,
    const std::function<bool(const SeedOutcome&)>& stop_after) {
  jobs = std::max(1u, jobs);
  std::map<pid_t, Child> running;
  std::map<std::size_t, SeedOutcome> finished;
  std::size_t next = 0;
  bool start_failed = false;
  while ((next < count && !start_failed) || !running.empty()) {
    while (next < count && !start_failed && running.size() < jobs) {
      Result<Child> child = start_child(scenario, request_at(next), next, limits.time_limit_seconds);
      if (!child.ok()) {
        start_failed = true;  // give up on the rest, but collect what is running
        break;
      }
      running.emplace(child->pid, *child);
      ++next;
    }
    if (running.empty()) break;
    int status = 0;
    const pid_t pid = ::waitpid(-1, &status, 0);
    if (pid < 0) {
      if (errno == EINTR) continue;
      break;
    }
    auto it = running.find(pid);
    if (it == running.end()) continue;
    const std::size_t index = it->second.request_index;
    SeedOutcome outcome = finish_child(it->second, status, limits.time_limit_seconds);
    running.erase(it);
    if (on_done) on_done(outcome, finished.size() + 1, count);
    if (stop_after && stop_after(outcome)) count = next;  // start nothing more
    finished.emplace(index, std::move(outcome));
  }
  std::vector<SeedOutcome> outcomes;
  outcomes.reserve(finished.size());
  for (auto& [index, outcome] : finished) outcomes.push_back(std::move(outcome));
  return outcomes;
}

}  // namespace cairn::sim
