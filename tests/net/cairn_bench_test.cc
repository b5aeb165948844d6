// `cairn bench`: the latency histogram's percentiles (within 1 %, max exact, merge), the key
// format the bench writes, its flag checks, and real runs against three cairnd processes — the
// JSON report's counts, exactly --requests recorded operations with the warm-up left out, the
// writes really stored, and exit 3 when nothing succeeded.
#include <gtest/gtest.h>

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <sstream>
#include <vector>

#include "net/cairn/bench.h"
#include "net/cairn/latency_histogram.h"
#include "tests/net/cairnd_cluster.h"
#include "tests/support/test_support.h"

namespace cairn::net {
namespace {

using testing::CairndCluster;

// ---- The latency histogram ----

// Asserts `actual` is within 1 % of `expected`.
void expect_within_one_percent(Duration actual, Duration expected, const std::string& what) {
  const double error = std::abs(static_cast<double>(actual.count() - expected.count())) / static_cast<double>(expected.count());
  EXPECT_LE(error, 0.01) << what << ": got " << actual.count() << " ns, expected " << expected.count() << " ns";
}

// The exact percentile of sorted data, by the same rank rule: the smallest value with at least
// `percent` % of the data at or below it.
Duration exact_percentile(const std::vector<Duration>& sorted, double percent) {
  const auto rank = static_cast<std::size_t>(std::ceil(percent / 100 * static_cast<double>(sorted.size()) - 1e-9));
  return sorted[std::clamp<std::size_t>(rank, 1, sorted.size()) - 1];
}

TEST(LatencyHistogram, EmptyReportsZeroes) {
  LatencyHistogram histogram;
  EXPECT_EQ(histogram.count(), 0u);
  EXPECT_EQ(histogram.min(), Duration{0});
  EXPECT_EQ(histogram.max(), Duration{0});
  EXPECT_EQ(histogram.mean(), Duration{0});
  EXPECT_EQ(histogram.percentile(50), Duration{0});
  EXPECT_EQ(histogram.percentile(100), Duration{0});
}

TEST(LatencyHistogram, SmallSamplesGiveTheRightRank) {
  // Ten values a millisecond apart: a rank off by one is 10 % or more off.
  LatencyHistogram histogram;
  for (int value = 10; value >= 1; --value) histogram.record(milliseconds(value));
  expect_within_one_percent(histogram.percentile(10), milliseconds(1), "p10");
  expect_within_one_percent(histogram.percentile(50), milliseconds(5), "p50");
  expect_within_one_percent(histogram.percentile(90), milliseconds(9), "p90");
  expect_within_one_percent(histogram.percentile(91), milliseconds(10), "p91");
  expect_within_one_percent(histogram.percentile(99.9), milliseconds(10), "p99.9");
  EXPECT_EQ(histogram.max(), milliseconds(10));
  EXPECT_EQ(histogram.min(), milliseconds(1));
  EXPECT_EQ(histogram.mean(), microseconds(5500));
  EXPECT_EQ(histogram.count(), 10u);

  LatencyHistogram single;
  single.record(microseconds(1234567));
  for (double percent : {1.0, 50.0, 99.9, 100.0}) EXPECT_EQ(single.percentile(percent), microseconds(1234567));
}

TEST(LatencyHistogram, PercentilesOfKnownDataAreWithinOnePercent) {
  // 1 µs to 10 ms in 1 µs steps.
  LatencyHistogram uniform;
  for (int value = 1; value <= 10000; ++value) uniform.record(microseconds(value));
  for (double percent : {1.0, 25.0, 50.0, 90.0, 99.0, 99.9}) {
    expect_within_one_percent(uniform.percentile(percent), microseconds(static_cast<int64_t>(std::ceil(percent * 100 - 1e-9))),
                              "uniform p" + std::to_string(percent));
  }
  EXPECT_EQ(uniform.max(), microseconds(10000));
  EXPECT_EQ(uniform.percentile(100), microseconds(10000));
  EXPECT_EQ(uniform.mean(), nanoseconds(5000500));

  // 1 µs to 60 s, 0.5 % apart: every power of two of the range, many sub-buckets each.
  std::vector<Duration> values;
  for (double nanos = 1000; nanos <= 60e9; nanos *= 1.005) values.push_back(Duration{static_cast<int64_t>(nanos)});
  LatencyHistogram wide;
  for (Duration value : values) wide.record(value);
  for (double percent = 0.5; percent <= 100; percent += 0.5) {
    expect_within_one_percent(wide.percentile(percent), exact_percentile(values, percent), "wide p" + std::to_string(percent));
  }
  EXPECT_EQ(wide.max(), values.back());
  EXPECT_EQ(wide.min(), values.front());
}

TEST(LatencyHistogram, EveryValueFrom1MicrosecondTo60SecondsReadsBackWithinOnePercent) {
  // Between a tiny and a huge value, the median is the value itself as its bucket reads back
  // (not clamped to the exact minimum or maximum).
  for (double nanos = 1000; nanos <= 60e9; nanos *= 1.0137) {
    const Duration value{static_cast<int64_t>(nanos)};
    LatencyHistogram histogram;
    histogram.record(nanoseconds(1));
    histogram.record(value);
    histogram.record(seconds(100));
    expect_within_one_percent(histogram.percentile(50), value, "value " + std::to_string(value.count()));
  }
}

TEST(LatencyHistogram, MergeEqualsRecordingEverythingInOne) {
  LatencyHistogram odd, even, all;
  for (int value = 1; value <= 999; ++value) {
    (value % 2 == 1 ? odd : even).record(microseconds(value * 37));
    all.record(microseconds(value * 37));
  }
  // Into the half that holds neither the smallest nor the largest value.
  LatencyHistogram merged = even;
  merged.merge(odd);
  merged.merge(LatencyHistogram());  // an empty one changes nothing
  EXPECT_EQ(merged.count(), all.count());
  EXPECT_EQ(merged.min(), all.min());
  EXPECT_EQ(merged.max(), all.max());
  EXPECT_EQ(merged.mean(), all.mean());
  for (double percent : {1.0, 50.0, 90.0, 99.0, 99.9, 100.0}) EXPECT_EQ(merged.percentile(percent), all.percentile(percent));
  EXPECT_EQ(odd.max(), microseconds(999 * 37));
  EXPECT_EQ(even.max(), microseconds(998 * 37));
}

// ---- Keys ----

TEST(BenchKey, FixedWidthPrefixAndZeroPaddedNumber) {
  EXPECT_EQ(bench_key(42, 100000, 16), "bench/0000000042");
  EXPECT_EQ(bench_key(99999, 100000, 16), "bench/0000099999");
  EXPECT_EQ(bench_key(0, 1, 7), "bench/0");
  EXPECT_EQ(bench_key(0, 1, 6), "bench0");
  // Too small for the whole prefix: the prefix is cut, never the number.
  EXPECT_EQ(bench_key(42, 100000, 8), "ben00042");
  EXPECT_EQ(bench_key(42, 100000, 5), "00042");
  EXPECT_EQ(bench_key(0, 1, 1), "0");
  EXPECT_EQ(bench_key(3, 1000, 4096).size(), 4096u);
  EXPECT_EQ(minimum_key_size(1), 1u);
  EXPECT_EQ(minimum_key_size(10), 1u);
  EXPECT_EQ(minimum_key_size(11), 2u);
  EXPECT_EQ(minimum_key_size(100000), 5u);
  // Distinct and of the asked size at the smallest size allowed.
  std::set<std::string> keys;
  for (uint64_t index = 0; index < 1000; ++index) {
    keys.insert(bench_key(index, 1000, 3));
    EXPECT_EQ(bench_key(index, 1000, 3).size(), 3u);
  }
  EXPECT_EQ(keys.size(), 1000u);
}

// ---- The command ----

TEST(CairnBench, BadFlagsExitTwoWithAReason) {
  const std::map<std::string, std::string> cases{
      {"--clients 0", "--clients"},
      {"--clients 5000", "--clients"},
      {"--read-ratio 1.5", "--read-ratio"},
      {"--key-size 0", "--key-size"},
      {"--key-size 5000", "--key-size"},
      {"--key-size 3 --keys 100000", "too small"},
      {"--duration 1 --requests 5", "excludes"},
      {"--consistency sometimes", "--consistency"},
      {"--seed -1", "0 to 2^64-1"},
  };
  for (const auto& [flags, reason] : cases) {
    const cairn::testing::CommandOutcome outcome =
        cairn::testing::run_command(CAIRN_PATH, "--endpoints 1=127.0.0.1:1 bench " + flags);
    EXPECT_EQ(outcome.exit_code, 2) << flags << ": " << outcome.output;
    EXPECT_NE(outcome.output.find(reason), std::string::npos) << flags << ": " << outcome.output;
  }
}

TEST(CairnBench, NothingSucceededExitsThree) {
  const cairn::testing::CommandOutcome outcome = cairn::testing::run_command(
      CAIRN_PATH, "--endpoints 1=127.0.0.1:1 --timeout 0.2 bench --clients 2 --duration 0.3 --warmup 0");
  EXPECT_EQ(outcome.exit_code, 3) << outcome.output;
  EXPECT_NE(outcome.output.find("TIMEOUT"), std::string::npos) << outcome.output;
}

// Runs `cairn bench` with `flags` and parses its JSON report (the line that starts with '{').
google::protobuf::Struct run_bench_json(const std::string& endpoints, const std::string& flags) {
  const cairn::testing::CommandOutcome outcome =
      cairn::testing::run_command(CAIRN_PATH, "--endpoints " + endpoints + " --json bench " + flags);
  EXPECT_EQ(outcome.exit_code, 0) << outcome.output;
  std::istringstream lines(outcome.output);
  std::string line;
  while (std::getline(lines, line) && !line.starts_with("{")) {}
  google::protobuf::Struct report;
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(line, &report).ok()) << outcome.output;
  return report;
}

// The number at `path` (field names, outermost first).
double number_at(const google::protobuf::Struct& object, std::initializer_list<std::string> path) {
  const google::protobuf::Struct* current = &object;
  const std::string* last = nullptr;
  for (const std::string& name : path) {
    if (last != nullptr) current = &current->fields().at(*last).struct_value();
    last = &name;
  }
  return current->fields().at(*last).number_value();
}

TEST(CairnBench, MixedLoadOnThreeNodesIsReportedAndStored) {
  CairndCluster cluster(3);
  for (NodeId id : cluster.ids()) cluster.start(id, false);
  const std::string endpoints = cluster.endpoints_flag();
  const google::protobuf::Struct report =
      run_bench_json(endpoints, "--clients 4 --duration 1 --warmup 0 --read-ratio 0.5 --keys 50");
  ASSERT_TRUE(report.fields().contains("operations"));
  EXPECT_GT(number_at(report, {"operations"}), 0);
  EXPECT_GT(number_at(report, {"reads", "succeeded"}), 0);
  EXPECT_GT(number_at(report, {"writes", "succeeded"}), 0);
  EXPECT_EQ(number_at(report, {"operations"}), number_at(report, {"reads", "operations"}) + number_at(report, {"writes", "operations"}));
  EXPECT_GT(number_at(report, {"ops_per_second"}), 0);
  EXPECT_GE(number_at(report, {"elapsed_seconds"}), 0.99);
  const double p50 = number_at(report, {"all", "latency_ms", "p50"});
  const double p99 = number_at(report, {"all", "latency_ms", "p99"});
  const double max = number_at(report, {"all", "latency_ms", "max"});
  EXPECT_GT(p50, 0);
  EXPECT_LE(p50, p99);
  EXPECT_LE(p99, max);
  EXPECT_EQ(number_at(report, {"parameters", "keys"}), 50);
  // Every write is attributed to the server that answered it, a leader: one of the three (two,
  // if leadership moved during the run, as it may on a loaded machine under ASan).
  const auto& writers = report.fields().at("writes").struct_value().fields().at("answered_by").struct_value().fields();
  EXPECT_GE(writers.size(), 1u);
  double attributed = 0;
  for (const auto& [server, count] : writers) {
    EXPECT_TRUE(server == "1" || server == "2" || server == "3") << server;
    attributed += count.number_value();
  }
  EXPECT_EQ(attributed, number_at(report, {"writes", "succeeded"}));

  // The writes are really there: some key of the keyspace holds a 128-byte value.
  bool found = false;
  for (uint64_t index = 0; index < 50 && !found; ++index) {
    const cairn::testing::CommandOutcome got =
        cairn::testing::run_command(CAIRN_PATH, "--endpoints " + endpoints + " get " + bench_key(index, 50, 16));
    found = got.exit_code == 0;
    if (found) {
      EXPECT_EQ(got.output.size(), 128u + 1) << got.output;
    }
  }
  EXPECT_TRUE(found) << "no key of the bench's keyspace was written";

  // The text report names the parameters, the operation types and the server that took writes.
  const cairn::testing::CommandOutcome text =
      cairn::testing::run_command(CAIRN_PATH, "--endpoints " + endpoints + " bench --requests 10 --clients 1 --warmup 0");
  EXPECT_EQ(text.exit_code, 0) << text.output;
  for (const char* expected : {"1 clients, 10 requests", "writes", "p99.9 ms", "ops/s", "writes answered by: node "}) {
    EXPECT_NE(text.output.find(expected), std::string::npos) << expected << " missing in:\n" << text.output;
  }
}

TEST(CairnBench, RequestsRecordsExactlyThatManyOperationsAndNoWarmup) {
  CairndCluster cluster(3);
  for (NodeId id : cluster.ids()) cluster.start(id, false);
  const std::string endpoints = cluster.endpoints_flag();
  google::protobuf::Struct cold = run_bench_json(endpoints, "--requests 20 --clients 2 --warmup 0 --read-ratio 0.5");
  EXPECT_EQ(number_at(cold, {"operations"}), 20);
  EXPECT_EQ(number_at(cold, {"reads", "operations"}) + number_at(cold, {"writes", "operations"}), 20);
  EXPECT_EQ(number_at(cold, {"all", "operations"}), 20);
  // After a warm-up, still exactly 20: what ran during the warm-up is not recorded.
  google::protobuf::Struct warm = run_bench_json(endpoints, "--requests 20 --clients 2 --warmup 0.3");
  EXPECT_EQ(number_at(warm, {"operations"}), 20);
  EXPECT_EQ(number_at(warm, {"writes", "operations"}), 20);
  // Nor is the warm-up's time: half a second measured after half a second of warm-up.
  google::protobuf::Struct timed = run_bench_json(endpoints, "--duration 0.5 --clients 2 --warmup 0.5");
  EXPECT_GE(number_at(timed, {"elapsed_seconds"}), 0.49);
  EXPECT_LT(number_at(timed, {"elapsed_seconds"}), 0.9);
}

}  // namespace
}  // namespace cairn::net
