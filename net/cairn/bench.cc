// `cairn bench`: the subcommand's flags, the closed-loop clients and the report (bench.h).
#include "net/cairn/bench.h"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <iostream>
#include <random>

#include "net/cairn/endpoints.h"
#include "net/cairn/exit_codes.h"
#include "net/epoll_runtime.h"
#include "storage/kv/kv_types.h"

namespace cairn::net {
namespace {

constexpr uint32_t kMaxClients = 4096;
// 64 KiB, but never more than the servers accept: a longer key would fail every operation.
constexpr std::size_t kMaxKeySize = std::min<std::size_t>(64 << 10, limits::kClientKeyBytesMax);
constexpr std::size_t kMaxValueSize = 1 << 20;
constexpr std::string_view kKeyPrefix = "bench/";

proto::ReadConsistency consistency_of(const std::string& name) {
  if (name == "lease") return proto::READ_LEASE;
  if (name == "stale") return proto::READ_STALE;
  return proto::READ_LINEARIZABLE;
}

// The value every put writes: printable, drawn from the seed, shared by the clients so that
// memory does not grow with --clients times --value-size.
std::string bench_value(uint64_t seed, std::size_t size) {
  Random random(derive_seed(seed, "value"));
  std::string value(size, ' ');
  for (char& byte : value) byte = static_cast<char>('a' + random.uniform(26));
  return value;
}

// The clients of one run and what they measured. Single-threaded (fibers on one event loop), so
// the shared counters need no locks.
class BenchRun {
 public:
  BenchRun(Runtime& runtime, const BenchFlags& flags, Duration timeout)
      : runtime_(runtime), flags_(flags), timeout_(timeout), value_(bench_value(flags.seed, flags.value_size)) {
    report_.flags = flags;
    report_.timeout = timeout;
  }

  // Runs every client until the duration passed or the requests were all issued.
  BenchReport run(std::vector<std::unique_ptr<kv::KvClient>>& clients) {
    const MonotonicTime start = runtime_.now();
    warmup_end_ = start + seconds_to_duration(flags_.warmup_seconds);
    measure_end_ = warmup_end_ + seconds_to_duration(flags_.duration_seconds);
    last_end_ = warmup_end_;
    {
      FiberScope scope(runtime_.process());
      for (std::size_t index = 0; index < clients.size(); ++index) {
        kv::KvClient& client = *clients[index];
        scope.spawn("bench-client-" + std::to_string(index), [this, &client, index] {
          Random random(derive_seed(flags_.seed, index));
          client_loop(client, random);
        });
      }
      scope.join();
    }
    report_.elapsed = last_end_ - warmup_end_;
    return std::move(report_);
  }

 private:
  // Whether an operation starting at `start` (after the warm-up) is part of the measurement.
  bool claim_measured_operation(MonotonicTime start) {
    if (flags_.requests == 0) return start < measure_end_;
    if (requests_claimed_ >= flags_.requests) return false;
    ++requests_claimed_;
    return true;
  }

  void client_loop(kv::KvClient& client, Random& random) {
    const proto::ReadConsistency consistency = consistency_of(flags_.consistency);
    for (;;) {
      const MonotonicTime start = runtime_.now();
      const bool measured = start >= warmup_end_;
      if (measured && !claim_measured_operation(start)) return;
      const bool read = random.uniform_double() < flags_.read_ratio;
      std::string key = bench_key(random.uniform(flags_.keys), flags_.keys, flags_.key_size);
      const Status outcome = read ? client.get(std::move(key), consistency, timeout_).status()
                                  : client.put(std::move(key), value_, timeout_).status();
      if (measured) record(read ? report_.reads : report_.writes, outcome, start, client.leader_hint());
    }
  }

  void record(OperationStats& stats, const Status& outcome, MonotonicTime start, NodeId server) {
    const MonotonicTime end = runtime_.now();
    last_end_ = std::max(last_end_, end);
    if (outcome.ok()) {
      ++stats.succeeded;
      stats.latency.record(end - start);
      ++stats.answered_by[server];  // the client's hint is the server that just answered
      return;
    }
    ++(outcome.code() == StatusCode::kTimeout ? stats.timeouts : stats.errors);
    const std::string kind{status_code_name(outcome.code())};
    ++report_.failures_by_kind[kind];
    report_.failure_examples.try_emplace(kind, outcome.message());
  }

  Runtime& runtime_;
  const BenchFlags& flags_;
  Duration timeout_;
  std::string value_;
  BenchReport report_;
  MonotonicTime warmup_end_;
  MonotonicTime measure_end_;
  MonotonicTime last_end_;
  uint64_t requests_claimed_ = 0;
};

// ---- Reports ----

double per_second(uint64_t count, Duration elapsed) {
  return elapsed.count() > 0 ? static_cast<double>(count) / to_seconds(elapsed) : 0;
}

std::string format(const char* pattern, double number) {
  char text[64];
  std::snprintf(text, sizeof text, pattern, number);
  return text;
}

std::string milliseconds_text(Duration duration) { return format("%.3f", to_milliseconds(duration)); }

std::string json_quote(std::string_view text) {
  std::string quoted = "\"";
  for (const char character : text) {
    if (character == '"' || character == '\\') {
      quoted += '\\';
      quoted += character;
    } else if (static_cast<unsigned char>(character) < 0x20) {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\u%04x", static_cast<unsigned>(character));
      quoted += escaped;
    } else {
      quoted += character;
    }
  }
  return quoted + "\"";
}

// An object built field by field, in order.
class JsonObject {
 public:
  JsonObject& add(std::string_view key, const std::string& raw_value) {
    text_ += (text_.empty() ? "" : ",") + json_quote(key) + ":" + raw_value;
    return *this;
  }
  JsonObject& add(std::string_view key, uint64_t number) { return add(key, std::to_string(number)); }
  std::string str() const { return "{" + text_ + "}"; }

 private:
  std::string text_;
};

std::string latency_json(const LatencyHistogram& latency) {
  return JsonObject()
      .add("mean", milliseconds_text(latency.mean()))
      .add("p50", milliseconds_text(latency.percentile(50)))
      .add("p90", milliseconds_text(latency.percentile(90)))
      .add("p99", milliseconds_text(latency.percentile(99)))
      .add("p99_9", milliseconds_text(latency.percentile(99.9)))
      .add("max", milliseconds_text(latency.max()))
      .str();
}

template <typename Key, typename Value>
std::string map_json(const std::map<Key, Value>& map, const std::function<std::string(const Value&)>& value_json) {
  JsonObject object;
  for (const auto& [key, value] : map) {
    if constexpr (std::is_same_v<Key, std::string>) object.add(key, value_json(value));
    else object.add(std::to_string(key), value_json(value));
  }
  return object.str();
}

std::string stats_json(const OperationStats& stats, Duration elapsed, bool with_servers) {
  JsonObject object;
  object.add("operations", stats.operations())
      .add("succeeded", stats.succeeded)
      .add("errors", stats.errors)
      .add("timeouts", stats.timeouts)
      .add("ops_per_second", format("%.1f", per_second(stats.succeeded, elapsed)))
      .add("latency_ms", latency_json(stats.latency));
  const auto count = [](const uint64_t& value) { return std::to_string(value); };
  if (with_servers) object.add("answered_by", map_json<NodeId, uint64_t>(stats.answered_by, count));
  return object.str();
}

OperationStats all_of(const BenchReport& report) {
  OperationStats all = report.reads;
  all.succeeded += report.writes.succeeded;
  all.errors += report.writes.errors;
  all.timeouts += report.writes.timeouts;
  all.latency.merge(report.writes.latency);
  for (const auto& [server, count] : report.writes.answered_by) all.answered_by[server] += count;
  return all;
}

std::string parameters_json(const BenchReport& report) {
  const BenchFlags& flags = report.flags;
  return JsonObject()
      .add("endpoints", json_quote(report.endpoints))
      .add("clients", flags.clients)
      .add("duration_seconds", flags.requests == 0 ? format("%g", flags.duration_seconds) : "null")
      .add("requests", flags.requests == 0 ? "null" : std::to_string(flags.requests))
      .add("warmup_seconds", format("%g", flags.warmup_seconds))
      .add("key_size", flags.key_size)
      .add("value_size", flags.value_size)
      .add("keys", flags.keys)
      .add("read_ratio", format("%g", flags.read_ratio))
      .add("consistency", json_quote(flags.consistency))
      .add("seed", flags.seed)
      .add("timeout_seconds", format("%g", to_seconds(report.timeout)))
      .str();
}

std::string stats_line(const char* name, const OperationStats& stats, Duration elapsed) {
  const LatencyHistogram& latency = stats.latency;
  char line[256];
  std::snprintf(line, sizeof line, "%-7s %10llu %10.1f %8llu %8llu %9.3f %9.3f %9.3f %9.3f %9.3f %9.3f\n", name,
                static_cast<unsigned long long>(stats.succeeded), per_second(stats.succeeded, elapsed),
                static_cast<unsigned long long>(stats.errors), static_cast<unsigned long long>(stats.timeouts),
                to_milliseconds(latency.mean()), to_milliseconds(latency.percentile(50)),
                to_milliseconds(latency.percentile(90)), to_milliseconds(latency.percentile(99)),
                to_milliseconds(latency.percentile(99.9)), to_milliseconds(latency.max()));
  return line;
}

// "node 1 (127.0.0.1:7001) 1234 (100.0%)", one per server that answered.
std::string answered_by_text(const char* what, const OperationStats& stats, const std::map<NodeId, std::string>& addresses) {
  if (stats.succeeded == 0) return "";
  std::string text = std::string(what) + " answered by:";
  for (const auto& [server, count] : stats.answered_by) {
    const auto address = addresses.find(server);
    text += " node " + std::to_string(server) + (address != addresses.end() ? " (" + address->second + ")" : "") + " " +
            std::to_string(count) + format(" (%.1f%%)", 100.0 * static_cast<double>(count) / static_cast<double>(stats.succeeded));
  }
  return text + "\n";
}

std::string header_text(const BenchReport& report) {
  const BenchFlags& flags = report.flags;
  std::string text = "cairn bench: " + std::to_string(flags.clients) + " clients, ";
  text += flags.requests == 0 ? format("%g s", flags.duration_seconds) : std::to_string(flags.requests) + " requests";
  text += format(" after %g s of warm-up, ", flags.warmup_seconds);
  text += format("%g%% reads", flags.read_ratio * 100) + " (" + flags.consistency + "), ";
  text += std::to_string(flags.keys) + " keys of " + std::to_string(flags.key_size) + " bytes, values of " +
          std::to_string(flags.value_size) + " bytes, seed " + std::to_string(flags.seed) +
          format(", timeout %g s\n", to_seconds(report.timeout));
  return text + "endpoints: " + report.endpoints + "\n";
}

}  // namespace

std::size_t minimum_key_size(uint64_t keys) { return std::to_string(keys <= 1 ? 0 : keys - 1).size(); }

std::string bench_key(uint64_t index, uint64_t keys, std::size_t key_size) {
  const std::size_t room_after_prefix = key_size > kKeyPrefix.size() ? key_size - kKeyPrefix.size() : 0;
  const std::size_t digits = std::max(minimum_key_size(keys), room_after_prefix);
  std::string number = std::to_string(index);
  number.insert(0, digits - std::min(digits, number.size()), '0');
  const std::size_t prefix = key_size > number.size() ? key_size - number.size() : 0;
  return std::string(kKeyPrefix.substr(0, prefix)) + number;
}

CLI::App* add_bench_command(CLI::App& app, BenchFlags& flags) {
  CLI::App* bench = app.add_subcommand(
      "bench", "Closed-loop load: --clients clients each put or get one key at a time for --duration seconds\n"
               "(or --requests operations), then throughput and latency percentiles (exit 3 if nothing succeeded)");
  bench->add_option("--clients", flags.clients, "Concurrent clients, one operation in flight each (default 16, at most 4096)")
      ->check(CLI::Range(uint32_t{1}, kMaxClients));
  CLI::Option* duration = bench->add_option("--duration", flags.duration_seconds, "Seconds to measure (default 10)")
                              ->check(CLI::Range(0.001, 7 * 86400.0));
  CLI::Option* requests = bench->add_option("--requests", flags.requests, "Measure exactly this many operations instead")
                              ->check(CLI::Range(uint64_t{1}, UINT64_MAX));
  duration->excludes(requests);
  bench->add_option("--warmup", flags.warmup_seconds, "Seconds of load before measuring, not recorded (default 1)")
      ->check(CLI::Range(0.0, 3600.0));
  bench->add_option("--key-size", flags.key_size,
                    "Bytes per key, 'bench/' and a zero-padded number (default 16; at most " +
                        std::to_string(kMaxKeySize) + ", the servers' limit)")
      ->check(CLI::Range(std::size_t{1}, kMaxKeySize));
  bench->add_option("--value-size", flags.value_size, "Bytes per value written (default 128, at most 1 MiB)")
      ->check(CLI::Range(std::size_t{0}, kMaxValueSize));
  bench->add_option("--keys", flags.keys, "How many distinct keys, chosen uniformly (default 100000)")
      ->check(CLI::Range(uint64_t{1}, UINT64_MAX));
  bench->add_option("--read-ratio", flags.read_ratio, "Fraction of operations that are gets, 0..1 (default 0: all puts)")
      ->check(CLI::Range(0.0, 1.0));
  bench->add_option("--consistency", flags.consistency, "Reads: linearizable (default), lease or stale")
      ->check(CLI::IsMember({"linearizable", "lease", "stale"}));
  bench->add_option_function<uint64_t>(
      "--seed", [&flags](const uint64_t& seed) { flags.seed = seed; flags.seed_given = true; },
      "Seed of the key and operation choices, to repeat a run (default: random, and reported)")
      // CLI11 would read "-1" as 2^64 - 1: a run would repeat another seed than the one typed.
      ->check(CLI::Validator(
          [](std::string& text) { return text.starts_with('-') ? "a seed is a number from 0 to 2^64-1, got " + text : std::string(); },
          "", "seed not negative"));
  return bench;
}

Result<BenchReport> run_bench(Runtime& runtime, const BenchFlags& flags, const std::vector<NodeId>& servers,
                              Duration timeout) {
  // Distinct client ids, random per run: the servers deduplicate writes by client id and
  // request id, and another run's client must not look like a retry of this one's.
  const uint64_t client_id_base = runtime.random().next_u64() & ~uint64_t{0xffff};
  std::vector<std::unique_ptr<kv::KvClient>> clients;
  for (uint32_t index = 0; index < flags.clients; ++index) {
    kv::KvClientOptions options;
    options.servers = servers;
    options.client_id = client_id_base | (index + 1);
    options.reply_service = services::kFirstEphemeralService + index;
    CAIRN_ASSIGN_OR_RETURN(std::unique_ptr<kv::KvClient> client, kv::KvClient::create(runtime, options));
    clients.push_back(std::move(client));
  }
  return BenchRun(runtime, flags, timeout).run(clients);
}

std::string bench_text_report(const BenchReport& report) {
  const OperationStats all = all_of(report);
  std::string text = header_text(report) + "\n";
  text += format("measured %.3f s: ", to_seconds(report.elapsed)) + std::to_string(all.operations()) + " operations, " +
          format("%.1f ops/s", per_second(all.succeeded, report.elapsed)) + " (" + std::to_string(all.succeeded) +
          " succeeded, " + std::to_string(all.errors) + " errors, " + std::to_string(all.timeouts) + " timeouts)\n\n";
  char columns[256];
  std::snprintf(columns, sizeof columns, "%-7s %10s %10s %8s %8s %9s %9s %9s %9s %9s %9s\n", "", "succeeded", "ops/s",
                "errors", "timeouts", "mean ms", "p50 ms", "p90 ms", "p99 ms", "p99.9 ms", "max ms");
  text += columns;
  if (report.reads.operations() > 0) text += stats_line("reads", report.reads, report.elapsed);
  if (report.writes.operations() > 0) text += stats_line("writes", report.writes, report.elapsed);
  text += stats_line("all", all, report.elapsed) + "\n";
  text += answered_by_text("writes", report.writes, report.addresses);
  text += answered_by_text("reads", report.reads, report.addresses);
  for (const auto& [kind, count] : report.failures_by_kind) {
    text += "failed: " + std::to_string(count) + " " + kind + " (first: " + report.failure_examples.at(kind) + ")\n";
  }
  return text;
}

std::string bench_json_report(const BenchReport& report) {
  const OperationStats all = all_of(report);
  const auto count = [](const uint64_t& value) { return std::to_string(value); };
  const auto quote = [](const std::string& value) { return json_quote(value); };
  return JsonObject()
             .add("parameters", parameters_json(report))
             .add("elapsed_seconds", format("%.6f", to_seconds(report.elapsed)))
             .add("operations", all.operations())
             .add("succeeded", all.succeeded)
             .add("errors", all.errors)
             .add("timeouts", all.timeouts)
             .add("ops_per_second", format("%.1f", per_second(all.succeeded, report.elapsed)))
             .add("reads", stats_json(report.reads, report.elapsed, true))
             .add("writes", stats_json(report.writes, report.elapsed, true))
             .add("all", stats_json(all, report.elapsed, false))
             .add("failures_by_kind", map_json<std::string, uint64_t>(report.failures_by_kind, count))
             .add("failure_examples", map_json<std::string, std::string>(report.failure_examples, quote))
             .str() +
         "\n";
}

namespace {

Result<std::unique_ptr<EpollRuntime>> client_runtime(const std::map<NodeId, std::string>& endpoints,
                                                     const std::string& log_level) {
  EpollRuntime::Options options;
  // A random id far above any server's: the servers answer over the connection it opens.
  options.node_id = (uint64_t{1} << 62) | (std::random_device{}() * uint64_t{0x9e3779b97f4a7c15} >> 2);
  options.peers = endpoints;
  options.handle_signals = false;
  parse_log_level(log_level, options.log_level);
  return EpollRuntime::create(options);
}

// Below 2^53, so that the seed survives JSON readers that hold numbers as doubles.
uint64_t random_seed() {
  std::random_device device;
  return ((uint64_t{device()} << 32) | device()) & ((uint64_t{1} << 53) - 1);
}

}  // namespace

int run_bench_command(BenchFlags flags, const BenchConnection& connection) {
  if (flags.key_size < minimum_key_size(flags.keys)) {
    std::cerr << "cairn: bench: --key-size " << flags.key_size << " is too small for --keys " << flags.keys << ": "
              << minimum_key_size(flags.keys) << " bytes are needed to tell the keys apart\n";
    return kExitUsage;
  }
  Result<std::map<NodeId, std::string>> endpoints = parse_endpoints(connection.endpoints);
  if (!endpoints.ok()) {
    std::cerr << "cairn: --endpoints: " << endpoints.status().message() << "\n";
    return kExitUsage;
  }
  if (!flags.seed_given) flags.seed = random_seed();
  Result<std::unique_ptr<EpollRuntime>> runtime = client_runtime(*endpoints, connection.log_level);
  if (!runtime.ok()) {
    std::cerr << "cairn: " << runtime.status().to_string() << "\n";
    return kExitUsage;
  }
  return (*runtime)->run([&] {
    std::vector<NodeId> servers;
    for (const auto& [id, address] : *endpoints) servers.push_back(id);
    Result<BenchReport> report = run_bench(**runtime, flags, servers, connection.timeout);
    if (!report.ok()) {
      std::cerr << "cairn: bench: " << report.status().to_string() << "\n";
      return kExitRefused;
    }
    report->endpoints = connection.endpoints;
    report->addresses = *endpoints;
    std::cout << (connection.json ? bench_json_report(*report) : bench_text_report(*report)) << std::flush;
    if (report->succeeded() > 0) return kExitDone;
    std::cerr << "cairn: bench: no operation succeeded\n";
    return kExitNoAnswer;
  });
}

}  // namespace cairn::net
