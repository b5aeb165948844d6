// The scenario that the tests of failure reporting start from: register_partitions with quorums
// too small to intersect (read_quorum + write_quorum <= 3 servers), so most seeds read stale
// values. It is shortened to 8 + 4 simulated seconds, still failing on every seed the tests use,
// because the sweep, replay and shrink tests run it dozens of times (the sanitizer build too).
// Needs CAIRN_SOURCE_DIR, as every simulator test target defines it.
#pragma once

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

namespace cairn::testing {

inline std::string sloppy_register_scenario_text(int read_quorum, int write_quorum) {
  std::ifstream source(std::string(CAIRN_SOURCE_DIR) + "/scenarios/register_partitions.textproto");
  std::stringstream text;
  text << source.rdbuf();
  std::string scenario = text.str();
  const auto replace = [&scenario](const std::string& from, const std::string& to) {
    const std::size_t at = scenario.find(from);
    if (at == std::string::npos) throw std::runtime_error("register_partitions.textproto lacks " + from);
    scenario.replace(at, from.size(), to);
  };
  replace("request_timeout_ms: 500", "request_timeout_ms: 500 read_quorum: " + std::to_string(read_quorum) +
                                         " write_quorum: " + std::to_string(write_quorum));
  replace("duration_seconds: 20", "duration_seconds: 8");
  replace("quiesce_seconds: 8", "quiesce_seconds: 4");
  return scenario;
}

}  // namespace cairn::testing
