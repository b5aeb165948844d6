// The metrics registry (core/metrics/metrics_registry.h): the exact Prometheus text it renders,
// escaping, number formatting, lookups that return the same series, histogram bucket
// boundaries, the assertions that catch misuse, and a RapidCheck property of histograms.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "core/metrics/metrics_registry.h"
#include "tests/support/reaching_property.h"

namespace cairn::metrics {
namespace {

TEST(MetricsRegistry, RendersFamiliesSortedByNameWithHelpTypeAndSeries) {
  MetricsRegistry registry;
  registry.gauge("temperature", "Degrees.").set(21.5);
  registry.counter("requests_total", "Requests served.", {{"op", "put"}}).add();
  registry.counter("requests_total", "Requests served.", {{"op", "get"}}).add(3);
  Histogram& latency = registry.histogram("latency_seconds", "Latency.", {{"op", "get"}}, {0.5, 1});
  latency.observe(0.25);
  latency.observe(0.5);
  latency.observe(2);
  EXPECT_EQ(registry.render_prometheus(),
            "# HELP latency_seconds Latency.\n"
            "# TYPE latency_seconds histogram\n"
            "latency_seconds_bucket{op=\"get\",le=\"0.5\"} 2\n"
            "latency_seconds_bucket{op=\"get\",le=\"1\"} 2\n"
            "latency_seconds_bucket{op=\"get\",le=\"+Inf\"} 3\n"
            "latency_seconds_sum{op=\"get\"} 2.75\n"
            "latency_seconds_count{op=\"get\"} 3\n"
            "# HELP requests_total Requests served.\n"
            "# TYPE requests_total counter\n"
            "requests_total{op=\"get\"} 3\n"
            "requests_total{op=\"put\"} 1\n"
            "# HELP temperature Degrees.\n"
            "# TYPE temperature gauge\n"
            "temperature 21.5\n");
}

TEST(MetricsRegistry, AHistogramWithoutLabelsRendersLeAlone) {
  MetricsRegistry registry;
  registry.histogram("sizes", "Sizes.", {}, {1}).observe(1);
  EXPECT_EQ(registry.render_prometheus(),
            "# HELP sizes Sizes.\n"
            "# TYPE sizes histogram\n"
            "sizes_bucket{le=\"1\"} 1\n"
            "sizes_bucket{le=\"+Inf\"} 1\n"
            "sizes_sum 1\n"
            "sizes_count 1\n");
}

TEST(MetricsRegistry, EscapesLabelValuesAndHelpText) {
  MetricsRegistry registry;
  registry.counter("escaped_total", "A \"help\" with \\ and\na line feed.", {{"path", "a\\b\"c\nd"}}).add();
  EXPECT_EQ(registry.render_prometheus(),
            "# HELP escaped_total A \"help\" with \\\\ and\\na line feed.\n"
            "# TYPE escaped_total counter\n"
            "escaped_total{path=\"a\\\\b\\\"c\\nd\"} 1\n");
}

TEST(MetricsRegistry, FormatsNumbersSoPrometheusParsesThem) {
  MetricsRegistry registry;
  registry.gauge("g", "", {{"v", "a"}}).set(1e15);
  registry.gauge("g", "", {{"v", "b"}}).set(-3);
  registry.gauge("g", "", {{"v", "c"}}).set(0.1);
  registry.gauge("g", "", {{"v", "d"}}).set(std::numeric_limits<double>::infinity());
  registry.gauge("g", "", {{"v", "e"}}).set(-std::numeric_limits<double>::infinity());
  registry.gauge("g", "", {{"v", "f"}}).set(std::numeric_limits<double>::quiet_NaN());
  registry.gauge("g", "", {{"v", "g"}}).set(1.5e300);
  registry.gauge("g", "", {{"v", "h"}}).set(1.0 / 3);
  registry.counter("c_total", "").add(std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(registry.render_prometheus(),
            "# HELP c_total \n"
            "# TYPE c_total counter\n"
            "c_total 18446744073709551615\n"
            "# HELP g \n"
            "# TYPE g gauge\n"
            "g{v=\"a\"} 1000000000000000\n"
            "g{v=\"b\"} -3\n"
            "g{v=\"c\"} 0.1\n"
            "g{v=\"d\"} +Inf\n"
            "g{v=\"e\"} -Inf\n"
            "g{v=\"f\"} NaN\n"
            "g{v=\"g\"} 1.5e+300\n"
            "g{v=\"h\"} 0.3333333333333333\n");
}

TEST(MetricsRegistry, TheSameNameAndLabelsGiveTheSameObjectWhateverTheLabelOrder) {
  MetricsRegistry registry;
  Counter& first = registry.counter("hits_total", "Hits.", {{"a", "1"}, {"b", "2"}});
  Counter& again = registry.counter("hits_total", "Hits.", {{"b", "2"}, {"a", "1"}});
  Counter& other = registry.counter("hits_total", "Hits.", {{"a", "1"}, {"b", "3"}});
  EXPECT_EQ(&first, &again);
  EXPECT_NE(&first, &other);
  first.add(2);
  EXPECT_EQ(again.value(), 2u);
  EXPECT_EQ(other.value(), 0u);
  Gauge& gauge = registry.gauge("level", "Level.");
  EXPECT_EQ(&gauge, &registry.gauge("level", "Level."));
  Histogram& histogram = registry.histogram("h", "H.", {}, {1, 2});
  EXPECT_EQ(&histogram, &registry.histogram("h", "H.", {}, {1, 2}));
  EXPECT_EQ(registry.series_count(), 4u);
}

TEST(MetricsRegistry, ReferencesStayValidAsMoreSeriesAreAdded) {
  MetricsRegistry registry;
  Counter& first = registry.counter("many_total", "", {{"i", "0"}});
  for (int i = 1; i < 1000; ++i) registry.counter("many_total", "", {{"i", std::to_string(i)}}).add();
  first.add(7);
  EXPECT_EQ(registry.counter("many_total", "", {{"i", "0"}}).value(), 7u);
}

TEST(MetricsRegistry, GaugesSetAndAdd) {
  MetricsRegistry registry;
  Gauge& gauge = registry.gauge("queue_depth", "Depth.");
  gauge.set(5);
  gauge.add(-1.5);
  EXPECT_DOUBLE_EQ(gauge.value(), 3.5);
}

TEST(Histogram, AValueEqualToABoundFallsInThatBucket) {
  Histogram histogram({1, 2, 4});
  histogram.observe(1);
  EXPECT_EQ(histogram.cumulative_count(0), 1u);
  histogram.observe(std::nextafter(1.0, 2.0));
  EXPECT_EQ(histogram.cumulative_count(0), 1u);
  EXPECT_EQ(histogram.cumulative_count(1), 2u);
  histogram.observe(4);
  EXPECT_EQ(histogram.cumulative_count(2), 3u);
  histogram.observe(0);
  histogram.observe(-1);
  EXPECT_EQ(histogram.cumulative_count(0), 3u);
}

TEST(Histogram, ThePlusInfBucketCountsEverythingAndEqualsCount) {
  Histogram histogram({1});
  histogram.observe(0.5);
  histogram.observe(100);
  histogram.observe(std::numeric_limits<double>::infinity());
  EXPECT_EQ(histogram.cumulative_count(0), 1u);
  EXPECT_EQ(histogram.cumulative_count(1), 3u);
  EXPECT_EQ(histogram.count(), 3u);
}

TEST(Histogram, StandardBucketsAreStrictlyIncreasingAndSpanTheirRanges) {
  const std::vector<double> latency = latency_buckets_seconds();
  ASSERT_FALSE(latency.empty());
  EXPECT_DOUBLE_EQ(latency.front(), 0.0001);
  EXPECT_DOUBLE_EQ(latency.back(), 10);
  const std::vector<double> counts = count_buckets();
  ASSERT_EQ(counts.size(), 13u);
  EXPECT_EQ(counts.front(), 1);
  EXPECT_EQ(counts.back(), 4096);
  for (const std::vector<double>* bounds : {&latency, &counts}) {
    for (std::size_t i = 1; i < bounds->size(); ++i) EXPECT_LT((*bounds)[i - 1], (*bounds)[i]);
    Histogram accepted(*bounds);  // the constructor asserts the same
  }
}

using MetricsRegistryDeathTest = ::testing::Test;

TEST_F(MetricsRegistryDeathTest, MisuseAsserts) {
  EXPECT_DEATH(Histogram({1, 1}), "strictly increasing");
  EXPECT_DEATH(Histogram({2, 1}), "strictly increasing");
  EXPECT_DEATH(Histogram({1, std::numeric_limits<double>::infinity()}), "finite");
  EXPECT_DEATH(Histogram({1}).observe(std::numeric_limits<double>::quiet_NaN()), "NaN");
  EXPECT_DEATH(
      {
        MetricsRegistry registry;
        registry.counter("x", "");
        registry.gauge("x", "");
      },
      "is a counter, not a gauge");
  EXPECT_DEATH(MetricsRegistry().counter("9lives", ""), "invalid metric name");
  EXPECT_DEATH(MetricsRegistry().counter("has-dash", ""), "invalid metric name");
  EXPECT_DEATH(MetricsRegistry().counter("ok", "", {{"bad:label", "v"}}), "invalid label name");
  EXPECT_DEATH(MetricsRegistry().counter("ok", "", {{"__reserved", "v"}}), "invalid label name");
  EXPECT_DEATH(MetricsRegistry().counter("ok", "", {{"a", "1"}, {"a", "2"}}), "given twice");
  EXPECT_DEATH(MetricsRegistry().histogram("ok", "", {{"le", "1"}}, {1}), "histogram's own label");
  EXPECT_DEATH(
      {
        MetricsRegistry registry;
        registry.histogram("h", "", {{"a", "1"}}, {1, 2});
        registry.histogram("h", "", {{"a", "2"}}, {1, 3});
      },
      "different bucket bounds");
}

TEST(MetricsRegistry, SeriesBeyondTheBudgetAreCountedAndNotKept) {
  MetricsRegistry registry;
  for (std::size_t i = 0; i < limits::kMetricSeriesMax + 5; ++i) {
    registry.counter("series_total", "", {{"i", std::to_string(i)}}).add();
  }
  EXPECT_EQ(registry.series_count(), limits::kMetricSeriesMax);
  // The five beyond the budget were refused, and counted (by the one series kept beyond it).
  EXPECT_EQ(registry.counter("cairn_metric_series_dropped_total", "").value(), 5u);
  const std::string text = registry.render_prometheus();
  EXPECT_NE(text.find("series_total{i=\"0\"} 1"), std::string::npos);
  EXPECT_EQ(text.find("series_total{i=\"" + std::to_string(limits::kMetricSeriesMax + 4) + "\"}"), std::string::npos);
  EXPECT_NE(text.find("cairn_metric_series_dropped_total 5"), std::string::npos);
  // A series kept before the budget ran out is still the same one.
  registry.counter("series_total", "", {{"i", "0"}}).add();
  EXPECT_NE(registry.render_prometheus().find("series_total{i=\"0\"} 2"), std::string::npos);
}

TEST(MetricsRegistry, NamesWithColonsAndUnderscoresAreValid) {
  MetricsRegistry registry;
  registry.counter("_private:rule_total", "", {{"_label9", "v"}}).add();
  EXPECT_NE(registry.render_prometheus().find("_private:rule_total{_label9=\"v\"} 1\n"), std::string::npos);
}

// For any observations: cumulative counts never decrease, the +Inf bucket equals count() equals
// the number of observations, each bucket holds exactly the observations <= its bound, and
// sum() is their sum. Bounds and observations are multiples of 1/8 in overlapping ranges, and
// some runs observe the bounds themselves, so that values equal to a bound are common.
RC_GTEST_PROP_CASES(Histogram, CumulativeBucketsCountAndSumMatchTheObservations, 500, ()) {
  const auto bound_steps = *rc::gen::container<std::vector<int>>(rc::gen::inRange(1, 40));
  std::vector<double> bounds;
  double bound = -20;
  for (int step : bound_steps) {
    bound += step / 8.0;
    bounds.push_back(bound);
  }
  std::vector<double> observations;
  for (int eighths : *rc::gen::container<std::vector<int>>(rc::gen::inRange(-400, 800))) {
    observations.push_back(eighths / 8.0);
  }
  if (*rc::gen::arbitrary<bool>()) observations.insert(observations.end(), bounds.begin(), bounds.end());
  Histogram histogram(bounds);
  double expected_sum = 0;
  for (double value : observations) {
    histogram.observe(value);
    expected_sum += value;
  }
  for (std::size_t bucket = 0; bucket < bounds.size(); ++bucket) {
    if (bucket > 0) RC_ASSERT(histogram.cumulative_count(bucket - 1) <= histogram.cumulative_count(bucket));
    uint64_t at_most_bound = 0;
    for (double value : observations) at_most_bound += value <= bounds[bucket] ? 1 : 0;
    RC_ASSERT(histogram.cumulative_count(bucket) == at_most_bound);
  }
  RC_ASSERT(histogram.cumulative_count(bounds.size()) == observations.size());
  RC_ASSERT(histogram.count() == observations.size());
  RC_ASSERT(std::fabs(histogram.sum() - expected_sum) <= 1e-9 * (1 + std::fabs(expected_sum)));
}

}  // namespace
}  // namespace cairn::metrics
