// Seed sweeps with one forked process per seed (see sweep.h).
#include "sim/sweep.h"

#include <algorithm>
#include <charconv>
#include <chrono>

#include <unistd.h>

#include "core/runtime/random.h"

namespace cairn::sim {

std::size_t SweepResult::failed() const {
  return static_cast<std::size_t>(std::count_if(outcomes.begin(), outcomes.end(), [](const SeedOutcome& o) { return !o.ok; }));
}

std::optional<uint64_t> SweepResult::first_failing_seed() const {
  for (const SeedOutcome& outcome : outcomes) {
    if (!outcome.ok) return outcome.seed;
  }
  return std::nullopt;
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

bool parse_fresh_seed_count(const std::string& text, uint64_t& count) {
  constexpr std::string_view kPrefix = "fresh:";
  if (!text.starts_with(kPrefix)) return false;
  const std::string_view digits = std::string_view(text).substr(kPrefix.size());
  const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), count);
  return error == std::errc() && end == digits.data() + digits.size() && count > 0 && count <= 1'000'000'000;
}

uint64_t draw_fresh_seed_base() {
  // The simulator itself never reads a clock; choosing which seeds to run is the caller's business.
  const auto now = std::chrono::system_clock::now().time_since_epoch().count();
  const uint64_t mixed = mix64(static_cast<uint64_t>(now) ^ (static_cast<uint64_t>(::getpid()) << 32));
  constexpr uint64_t kLow = 1'000'000;
  constexpr uint64_t kHigh = uint64_t{1} << 40;
  return kLow + mixed % (kHigh - kLow);
}

SweepResult run_sweep(const proto::Scenario& scenario, const SweepOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  // The full 64-bit range wraps the count to 0 and runs nothing; no sweep could finish it anyway.
  const std::size_t count = static_cast<std::size_t>(options.last_seed - options.first_seed + 1);
  auto request_at = [&](std::size_t index) { return IsolatedRunRequest{.seed = options.first_seed + index}; };
  SweepResult result;
  result.outcomes = run_isolated_all(scenario, count, request_at, options.jobs,
                                     IsolationLimits{.time_limit_seconds = options.seed_time_limit_seconds},
                                     options.on_progress, [&](const SeedOutcome& outcome) {
                                       return options.stop_at_first_failure && !outcome.ok;
                                     });
  result.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

}  // namespace cairn::sim
