// `cairn bench`: closed-loop load on a cluster over the native protocol. N clients, each a fiber
// with its own KvClient, issue one put or get at a time (by --read-ratio, on uniformly chosen
// keys of a fixed width) for a duration or a number of requests, after an unrecorded warm-up.
// Latencies go into bounded histograms per operation type; timeouts and errors are counted by
// kind and never abort the run. The report says which servers answered, so a user sees where
// the load went (writes: the leader).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/kv/kv_client.h"
#include "net/cairn/latency_histogram.h"

namespace CLI {
class App;
}

namespace cairn::net {

struct BenchFlags {
  uint32_t clients = 16;
  double duration_seconds = 10;  // the run's length, unless `requests` is set
  uint64_t requests = 0;         // 0: run for duration_seconds; else exactly this many operations
  double warmup_seconds = 1;
  std::size_t key_size = 16;
  std::size_t value_size = 128;
  uint64_t keys = 100000;
  double read_ratio = 0;
  std::string consistency = "linearizable";
  uint64_t seed = 0;
  bool seed_given = false;       // else a random seed is drawn (and reported)
};

// How to reach the cluster: the global flags of `cairn`.
struct BenchConnection {
  std::string endpoints;
  Duration timeout;              // each operation's deadline
  bool json = false;
  std::string log_level = "error";
};

// Adds the `bench` subcommand, its flags and their range checks to `app`.
CLI::App* add_bench_command(CLI::App& app, BenchFlags& flags);
// Checks the flags against each other, runs the load and prints the report. Returns cairn's exit
// status: 0 the run completed (even with some failed operations), 2 bad usage, 3 nothing
// succeeded.
int run_bench_command(BenchFlags flags, const BenchConnection& connection);

// The key numbered `index` (< keys) when keys are `key_size` bytes: "bench/" and the number
// zero-padded to fill the size, e.g. "bench/0000000042" at 16 bytes. When the size is too small
// for the whole prefix, the prefix is cut short, never the number: "ben00042".
std::string bench_key(uint64_t index, uint64_t keys, std::size_t key_size);
// The fewest bytes that still tell `keys` keys apart: the digits of the largest index.
std::size_t minimum_key_size(uint64_t keys);

// What happened to one type of operation during the measured part of the run.
struct OperationStats {
  uint64_t succeeded = 0;
  uint64_t errors = 0;    // definite failures other than timeouts
  uint64_t timeouts = 0;  // no answer before --timeout
  LatencyHistogram latency;                // successful operations only
  std::map<NodeId, uint64_t> answered_by;  // server -> successful operations it answered

  uint64_t operations() const { return succeeded + errors + timeouts; }
};

struct BenchReport {
  BenchFlags flags;
  Duration timeout{};
  std::string endpoints;                      // as given, for the header
  std::map<NodeId, std::string> addresses;    // node id -> address, to name who answered
  Duration elapsed{};  // from the end of the warm-up to the last recorded operation's end
  OperationStats reads;
  OperationStats writes;
  std::map<std::string, uint64_t> failures_by_kind;  // "TIMEOUT", "UNAVAILABLE", ...
  std::map<std::string, std::string> failure_examples;  // kind -> the first message seen

  uint64_t succeeded() const { return reads.succeeded + writes.succeeded; }
};

// Runs the load from the calling fiber (which waits for the clients) against `servers`.
Result<BenchReport> run_bench(Runtime& runtime, const BenchFlags& flags, const std::vector<NodeId>& servers,
                              Duration timeout);

std::string bench_text_report(const BenchReport& report);
std::string bench_json_report(const BenchReport& report);

}  // namespace cairn::net
