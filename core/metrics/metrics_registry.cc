// The metrics registry and its Prometheus text rendering (see metrics_registry.h).
#include "core/metrics/metrics_registry.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <iterator>

#include "core/runtime/assert.h"

namespace cairn::metrics {
namespace {

// Doubles up to 2^53 that hold an integer are exact integers: printed without a fraction or an
// exponent, as Prometheus' own clients do.
constexpr double kLargestExactInteger = 9007199254740992.0;

bool is_name_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

// [a-zA-Z_:][a-zA-Z0-9_:]* (Prometheus metric names).
bool is_valid_metric_name(std::string_view name) {
  if (name.empty() || !(is_name_start(name.front()) || name.front() == ':')) return false;
  return std::all_of(name.begin(), name.end(), [](char c) { return is_name_start(c) || is_digit(c) || c == ':'; });
}

// [a-zA-Z_][a-zA-Z0-9_]*, and not starting with "__" (reserved for Prometheus itself).
bool is_valid_label_name(std::string_view name) {
  if (name.empty() || !is_name_start(name.front()) || name.starts_with("__")) return false;
  return std::all_of(name.begin(), name.end(), [](char c) { return is_name_start(c) || is_digit(c); });
}

std::string_view kind_name(int kind_index) {
  static constexpr std::string_view kNames[] = {"counter", "gauge", "histogram"};
  return kNames[kind_index];
}

// Label values: backslash, double quote and line feed are escaped.
void append_label_value(std::string& out, std::string_view value) {
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
}

// HELP text: backslash and line feed are escaped (quotes are not).
void append_help(std::string& out, std::string_view help) {
  for (char c : help) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
}

// A number as Prometheus parses it: integers plainly, other values in the shortest form that
// reads back as the same double, and the special values by their exposition names.
std::string format_number(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  if (value == std::floor(value) && std::fabs(value) < kLargestExactInteger) {
    return std::to_string(static_cast<int64_t>(value));
  }
  char buffer[64];
  const auto written = std::to_chars(std::begin(buffer), std::end(buffer), value, std::chars_format::general);
  CAIRN_ASSERT(written.ec == std::errc(), "formatting a metric value failed");
  return std::string(buffer, written.ptr);
}

// `{a="1",b="2"}` with `extra` (a histogram's le) last; nothing for no labels at all.
std::string format_labels(const Labels& labels, const std::pair<std::string_view, std::string>* extra = nullptr) {
  if (labels.empty() && extra == nullptr) return "";
  std::string out = "{";
  bool first = true;
  const auto append = [&](std::string_view name, std::string_view value) {
    if (!first) out += ',';
    first = false;
    out += name;
    out += "=\"";
    append_label_value(out, value);
    out += '"';
  };
  for (const auto& [name, value] : labels) append(name, value);
  if (extra != nullptr) append(extra->first, extra->second);
  out += '}';
  return out;
}

void append_sample(std::string& out, std::string_view name, std::string_view suffix, const std::string& labels,
                   const std::string& value) {
  out += name;
  out += suffix;
  out += labels;
  out += ' ';
  out += value;
  out += '\n';
}

void append_histogram(std::string& out, std::string_view name, const Labels& labels, const Histogram& histogram) {
  const std::vector<double>& bounds = histogram.upper_bounds();
  for (std::size_t bucket = 0; bucket <= bounds.size(); ++bucket) {
    const std::pair<std::string_view, std::string> le{
        "le", bucket < bounds.size() ? format_number(bounds[bucket]) : std::string("+Inf")};
    append_sample(out, name, "_bucket", format_labels(labels, &le),
                  std::to_string(histogram.cumulative_count(bucket)));
  }
  const std::string plain_labels = format_labels(labels);
  append_sample(out, name, "_sum", plain_labels, format_number(histogram.sum()));
  append_sample(out, name, "_count", plain_labels, std::to_string(histogram.count()));
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Histogram.

Histogram::Histogram(std::vector<double> upper_bounds)
    : upper_bounds_(std::move(upper_bounds)), bucket_counts_(upper_bounds_.size() + 1, 0) {
  for (std::size_t i = 0; i < upper_bounds_.size(); ++i) {
    CAIRN_ASSERT(std::isfinite(upper_bounds_[i]), "a histogram bound must be finite (+Inf is implicit)");
    CAIRN_ASSERT(i == 0 || upper_bounds_[i - 1] < upper_bounds_[i], "histogram bounds must be strictly increasing");
  }
}

void Histogram::observe(double value) {
  CAIRN_ASSERT(!std::isnan(value), "a histogram observation is NaN");
  // The first bound >= value: buckets are inclusive of their upper bound.
  const auto bound = std::lower_bound(upper_bounds_.begin(), upper_bounds_.end(), value);
  ++bucket_counts_[static_cast<std::size_t>(bound - upper_bounds_.begin())];
  ++count_;
  sum_ += value;
}

uint64_t Histogram::cumulative_count(std::size_t bucket) const {
  CAIRN_ASSERT(bucket < bucket_counts_.size(), "no histogram bucket " + std::to_string(bucket));
  uint64_t total = 0;
  for (std::size_t i = 0; i <= bucket; ++i) total += bucket_counts_[i];
  return total;
}

std::vector<double> latency_buckets_seconds() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

std::vector<double> count_buckets() {
  std::vector<double> bounds;
  for (double bound = 1; bound <= 4096; bound *= 2) bounds.push_back(bound);
  return bounds;
}

// ---------------------------------------------------------------------------------------------
// MetricsRegistry.

MetricsRegistry::Family& MetricsRegistry::family(std::string_view name, std::string_view help, Kind kind) {
  auto found = families_.find(name);
  if (found == families_.end()) {
    CAIRN_ASSERT(is_valid_metric_name(name), "invalid metric name \"" + std::string(name) + "\"");
    found = families_.emplace(std::string(name), Family{.kind = kind, .help = std::string(help), .upper_bounds = {},
                                                        .series = {}, .sink = std::nullopt})
                .first;
  }
  CAIRN_ASSERT(found->second.kind == kind, "metric " + std::string(name) + " is a " +
                                               std::string(kind_name(static_cast<int>(found->second.kind))) +
                                               ", not a " + std::string(kind_name(static_cast<int>(kind))));
  return found->second;
}

MetricsRegistry::Series& MetricsRegistry::series(Family& family, Labels labels, const std::function<Series()>& make) {
  std::sort(labels.begin(), labels.end());
  for (std::size_t i = 0; i < labels.size(); ++i) {
    CAIRN_ASSERT(is_valid_label_name(labels[i].first), "invalid label name \"" + labels[i].first + "\"");
    CAIRN_ASSERT(i == 0 || labels[i - 1].first != labels[i].first, "label " + labels[i].first + " given twice");
    CAIRN_ASSERT(family.kind != Kind::kHistogram || labels[i].first != "le", "le is a histogram's own label");
  }
  auto found = family.series.find(labels);
  if (found != family.series.end()) return found->second;
  if (series_count_ >= limits::kMetricSeriesMax) {
    if (series_dropped_ == nullptr) {
      // The one series beyond the budget, kept for saying that it was spent.
      Family& dropped = this->family("cairn_metric_series_dropped_total",
                                     "New metric series not kept: the node's series budget was spent", Kind::kCounter);
      series_dropped_ = &std::get<Counter>(dropped.series.emplace(Labels{}, Series(Counter())).first->second);
      if (&family == &dropped && labels.empty()) return dropped.series.begin()->second;  // asked for itself
    }
    series_dropped_->add();
    if (!family.sink) family.sink = make();
    return *family.sink;
  }
  ++series_count_;
  CAIRN_ASSERT(series_count_ <= limits::kMetricSeriesMax, "the series budget holds");
  return family.series.emplace(std::move(labels), make()).first->second;
}

Counter& MetricsRegistry::counter(std::string_view name, std::string_view help, Labels labels) {
  Family& counters = family(name, help, Kind::kCounter);
  return std::get<Counter>(series(counters, std::move(labels), [] { return Series(Counter()); }));
}

Gauge& MetricsRegistry::gauge(std::string_view name, std::string_view help, Labels labels) {
  Family& gauges = family(name, help, Kind::kGauge);
  return std::get<Gauge>(series(gauges, std::move(labels), [] { return Series(Gauge()); }));
}

Histogram& MetricsRegistry::histogram(std::string_view name, std::string_view help, Labels labels,
                                      std::vector<double> upper_bounds) {
  Family& histograms = family(name, help, Kind::kHistogram);
  if (histograms.series.empty()) histograms.upper_bounds = upper_bounds;
  CAIRN_ASSERT(histograms.upper_bounds == upper_bounds,
               "histogram " + std::string(name) + " registered with different bucket bounds");
  return std::get<Histogram>(series(histograms, std::move(labels), [&] { return Series(Histogram(upper_bounds)); }));
}

std::string MetricsRegistry::render_prometheus() const {
  std::string out;
  for (const auto& [name, family] : families_) {
    out += "# HELP " + name + ' ';
    append_help(out, family.help);
    out += "\n# TYPE " + name + ' ';
    out += kind_name(static_cast<int>(family.kind));
    out += '\n';
    for (const auto& [labels, series] : family.series) {
      if (const auto* counter = std::get_if<Counter>(&series)) {
        append_sample(out, name, "", format_labels(labels), std::to_string(counter->value()));
      } else if (const auto* gauge = std::get_if<Gauge>(&series)) {
        append_sample(out, name, "", format_labels(labels), format_number(gauge->value()));
      } else {
        append_histogram(out, name, labels, std::get<Histogram>(series));
      }
    }
  }
  return out;
}

}  // namespace cairn::metrics
