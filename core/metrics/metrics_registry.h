// MetricsRegistry: the counters, gauges and histograms a node keeps about itself, and their
// rendering in the Prometheus text exposition format (version 0.0.4) for the daemon's /metrics.
//
// Every Runtime owns one registry (Runtime::metrics()); components look their metrics up by
// name and labels when they are built and keep the returned references. The registry owns every
// metric and never deletes one, so references stay valid for the registry's whole life, and a
// component that is destroyed and rebuilt (a simulated node's process restarting) finds the same
// series again and keeps counting from where it stopped.
//
// Metrics are write-only for the code that updates them: nothing in the database reads a metric
// to decide anything, so in the simulator they cannot change a run or its trace hash.
//
// Single-threaded, like everything on a Runtime: all fibers of a node run on one thread, so no
// atomics. Names and labels come from code, never from users; a malformed name or a name reused
// with another type is a bug and asserts. Series are a node-wide budget (limits::kMetricSeriesMax;
// ranges bring series of their own): beyond it a new series is not kept — its updates go to a
// sink that is never rendered — and cairn_metric_series_dropped_total counts each one refused.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "core/runtime/limits.h"

namespace cairn::metrics {

// Label name/value pairs of one series. Their order does not matter: the registry sorts them.
using Labels = std::vector<std::pair<std::string, std::string>>;

// A monotonically increasing count (requests, syncs, failures).
class Counter {
 public:
  void add(uint64_t amount = 1) { value_ += amount; }
  uint64_t value() const { return value_; }

 private:
  uint64_t value_ = 0;
};

// A value that goes up and down, set by its owner (a term, an index, 0/1 for a role).
class Gauge {
 public:
  void set(double value) { value_ = value; }
  void add(double amount) { value_ += amount; }
  double value() const { return value_; }

 private:
  double value_ = 0;
};

// Observations counted into buckets with fixed upper bounds. A bucket counts the values less
// than or equal to its bound (Prometheus' `le`); values above the last bound count only in the
// implicit +Inf bucket, whose cumulative count is count().
class Histogram {
 public:
  // `upper_bounds`: finite and strictly increasing (asserted); may be empty (only +Inf).
  explicit Histogram(std::vector<double> upper_bounds);

  // `value` must not be NaN (asserted).
  void observe(double value);

  uint64_t count() const { return count_; }
  double sum() const { return sum_; }
  const std::vector<double>& upper_bounds() const { return upper_bounds_; }
  // How many observations were <= upper_bounds()[bucket]; bucket == upper_bounds().size() is the
  // +Inf bucket, equal to count().
  uint64_t cumulative_count(std::size_t bucket) const;

 private:
  std::vector<double> upper_bounds_;
  std::vector<uint64_t> bucket_counts_;  // not cumulative; one more than the bounds: the overflow
  uint64_t count_ = 0;
  double sum_ = 0;
};

// Bucket bounds for durations in seconds: 100 µs to 10 s in a 1-2.5-5 progression.
std::vector<double> latency_buckets_seconds();
// Bucket bounds for sizes of batches: 1, 2, 4, ..., 4096.
std::vector<double> count_buckets();

class MetricsRegistry {
 public:
  // The most series (one per name and label set) a registry holds; names and labels come from
  // code, so reaching it means a label took unbounded values.

  MetricsRegistry() = default;
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  // The series `name` with `labels`, created (at zero) the first time. The same name and labels
  // give the same object. `help` describes the family; the first registration's text is kept.
  Counter& counter(std::string_view name, std::string_view help, Labels labels = {});
  Gauge& gauge(std::string_view name, std::string_view help, Labels labels = {});
  // Every series of one histogram family has the same `upper_bounds` (asserted).
  Histogram& histogram(std::string_view name, std::string_view help, Labels labels, std::vector<double> upper_bounds);

  // Every family sorted by name, each with its # HELP and # TYPE lines once, its series in the
  // order of their sorted labels.
  std::string render_prometheus() const;

  std::size_t series_count() const { return series_count_; }

 private:
  enum class Kind { kCounter, kGauge, kHistogram };
  using Series = std::variant<Counter, Gauge, Histogram>;
  struct Family {
    Kind kind = Kind::kCounter;
    std::string help;
    std::vector<double> upper_bounds;  // histograms only
    // std::map never moves its elements: references handed out stay valid.
    std::map<Labels, Series> series;
    // Where the series refused beyond the budget count (never rendered); made on first need.
    std::optional<Series> sink;
  };

  // The family `name` of `kind` (created if new), after checking the name and the kind.
  Family& family(std::string_view name, std::string_view help, Kind kind);
  // The series of `family` with `labels` (checked and sorted), created by `make` if new.
  Series& series(Family& family, Labels labels, const std::function<Series()>& make);

  std::map<std::string, Family, std::less<>> families_;
  std::size_t series_count_ = 0;
  Counter* series_dropped_ = nullptr;  // cairn_metric_series_dropped_total, the budget's last series
};

}  // namespace cairn::metrics
