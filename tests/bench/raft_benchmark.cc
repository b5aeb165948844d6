// cairn-bench-raft: how fast the simulator runs the Raft key-value store.
//   - under load: committed log entries per wall-clock second, for a 3-node and a 5-node group
//     with 20 clients that never pause, side by side in one process;
//   - idle: how many times faster than real time a 5-node cluster runs when nothing but ticks
//     and heartbeats happen (the goal is at least 1,000x), with a 10 ms tick (the scenarios')
//     and a 100 ms tick (a production-like heartbeat);
//   - idle ranges: the same cluster hosting 100 ranges with and without quiescence, and 1,000
//     ranges with it (the ranges issue's goal: at least 1,000x), over 600 simulated seconds,
//     and after the first 60 (elections done: the steady state).
// Performance is measured, not asserted: this prints figures; docs/benchmarks.md records them.
//
//   build/bin/cairn-bench-raft [--rounds N] [--engine-sync-interval-ms MS]
//
// --engine-sync-interval-ms sets how often each node's engine syncs what it applied (the
// Store's default, 100 ms, when absent; anything up to the 10 ms tick syncs every tick), so that
// two settings can be run side by side with one binary.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "sim/scenario_loader.h"
#include "sim/scenario_runner.h"
#include "sim/shrink.h"

namespace cairn::sim {
namespace {

// The engine's sync interval in milliseconds (a knob range of one value, so at least 1), or -1
// for the Store's default.
int64_t engine_sync_interval_ms = -1;

proto::Scenario make_scenario(uint32_t nodes, uint32_t clients, double think_ms, double tick_ms, double seconds,
                              uint32_t ranges = 1, bool never_quiesce = false) {
  proto::Scenario scenario;
  scenario.set_name("bench_raft_" + std::to_string(nodes));
  proto::Region* region = scenario.mutable_topology()->add_regions();
  region->set_name("local");
  region->set_nodes(nodes);
  scenario.mutable_network()->mutable_local_latency_ms()->set_min(0.1);
  scenario.mutable_network()->mutable_local_latency_ms()->set_max(0.5);
  proto::RaftKvWorkload& workload = *scenario.mutable_workload()->mutable_raft_kv();
  workload.set_clients(clients);
  workload.set_keys(1000);
  workload.set_read_fraction(0.0);
  workload.mutable_think_time_ms()->set_min(think_ms);
  workload.mutable_think_time_ms()->set_max(think_ms);
  workload.set_request_timeout_ms(2000);
  workload.mutable_raft()->set_tick_ms(tick_ms);
  workload.set_groups(ranges);
  workload.mutable_raft()->set_never_quiesce(never_quiesce);
  if (engine_sync_interval_ms >= 0) {
    // A range of one value: the knob is drawn from it, so it is exactly this.
    proto::Range& interval = *workload.mutable_knob_ranges()->mutable_engine_sync_interval_ms();
    interval.set_min(static_cast<double>(engine_sync_interval_ms));
    interval.set_max(static_cast<double>(engine_sync_interval_ms));
  }
  scenario.set_duration_seconds(seconds);
  scenario.set_quiesce_seconds(0);
  scenario.add_checks(proto::RAFT_SAFETY);
  return scenario;
}

Result<RunReport> run(const proto::Scenario& built, uint64_t seed) {
  // Through the loader, so defaults and validation apply exactly as to a scenario file.
  CAIRN_ASSIGN_OR_RETURN(proto::Scenario scenario, parse_scenario(scenario_text(built), "<bench>"));
  return run_scenario(scenario, seed, RunOptions{});
}

// The idle cluster with many ranges. Each configuration runs twice, short and long (60 and 600
// simulated seconds; 10 and 60 without quiescence, which is slow); the difference is the steady
// state, once every range has elected its leader (and gone quiet).
int idle_ranges(int rounds) {
  struct Configuration {
    uint32_t ranges;
    bool never_quiesce;
  };
  std::printf("\n%-44s %10s %10s %14s %14s\n", "idle 5 nodes, 10 ms tick", "sim s", "wall s", "acceleration",
              "after start");
  for (const Configuration configuration : {Configuration{100, true}, Configuration{100, false}, Configuration{1000, false}}) {
    for (int round = 1; round <= rounds; ++round) {
      double wall[2] = {0, 0};
      const double seconds[2] = {configuration.never_quiesce ? 10.0 : 60.0, configuration.never_quiesce ? 60.0 : 600.0};
      for (int which = 0; which < 2; ++which) {
        auto report = run(make_scenario(5, 1, 60000, 10, seconds[which], configuration.ranges, configuration.never_quiesce),
                          static_cast<uint64_t>(round));
        if (!report.ok() || !report->ok) {
          std::fprintf(stderr, "idle ranges run failed\n");
          return 1;
        }
        wall[which] = report->wall_seconds;
      }
      const std::string name = std::to_string(configuration.ranges) + " ranges, " +
                               (configuration.never_quiesce ? "never quiet" : "quiescence") + ", round " +
                               std::to_string(round);
      std::printf("%-44s %10.0f %10.2f %13.0fx %13.0fx\n", name.c_str(), seconds[1], wall[1], seconds[1] / wall[1],
                  (seconds[1] - seconds[0]) / (wall[1] - wall[0]));
    }
  }
  return 0;
}

}  // namespace
}  // namespace cairn::sim

int main(int argc, char** argv) {
  using namespace cairn::sim;
  int rounds = 3;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--rounds") == 0 && i + 1 < argc) {
      rounds = std::atoi(argv[++i]);
    } else if (std::strcmp(argv[i], "--engine-sync-interval-ms") == 0 && i + 1 < argc) {
      char* end = nullptr;
      engine_sync_interval_ms = std::strtoll(argv[++i], &end, 10);
      if (*end != '\0' || engine_sync_interval_ms < 1 || engine_sync_interval_ms > 60'000) {
        std::fprintf(stderr, "cairn-bench-raft: --engine-sync-interval-ms takes 1..60000 milliseconds\n");
        return 2;
      }
    } else {
      std::fprintf(stderr, "usage: cairn-bench-raft [--rounds N] [--engine-sync-interval-ms MS]\n");
      return 2;
    }
  }
  std::printf("Raft KV in the simulator, %d alternating rounds (seed = round), engine sync interval %s\n\n", rounds,
              engine_sync_interval_ms < 0 ? "the default" : (std::to_string(engine_sync_interval_ms) + " ms").c_str());
  std::printf("%-34s %10s %10s %12s %12s\n", "run", "sim s", "wall s", "entries", "entries/s");
  double loaded[2] = {0, 0};
  const uint32_t sizes[2] = {3, 5};
  for (int round = 1; round <= rounds; ++round) {
    for (int which = 0; which < 2; ++which) {
      auto report = run(make_scenario(sizes[which], 20, 0.001, 10, 10), static_cast<uint64_t>(round));
      if (!report.ok() || !report->ok) {
        std::fprintf(stderr, "run failed: %s\n", report.ok() ? "a check failed" : report.status().to_string().c_str());
        return 1;
      }
      const double entries = static_cast<double>(report->outcomes.at("committed_entries"));
      const double rate = entries / report->wall_seconds;
      loaded[which] += rate / rounds;
      std::printf("%-34s %10.1f %10.2f %12.0f %12.0f\n",
                  (std::to_string(sizes[which]) + " nodes, 20 clients, round " + std::to_string(round)).c_str(),
                  report->sim_seconds, report->wall_seconds, entries, rate);
    }
  }
  std::printf("\ncommitted entries per wall second (mean): 3 nodes %.0f, 5 nodes %.0f (5/3 = %.2f)\n\n", loaded[0],
              loaded[1], loaded[1] / loaded[0]);

  std::printf("%-34s %10s %10s %14s\n", "idle 5-node cluster", "sim s", "wall s", "acceleration");
  for (double tick : {10.0, 100.0}) {
    double total = 0;
    for (int round = 1; round <= rounds; ++round) {
      // One client that thinks for a minute between operations: the cluster is all but idle.
      auto report = run(make_scenario(5, 1, 60000, tick, 600), static_cast<uint64_t>(round));
      if (!report.ok() || !report->ok) {
        std::fprintf(stderr, "idle run failed\n");
        return 1;
      }
      const double acceleration = report->sim_seconds / report->wall_seconds;
      total += acceleration / rounds;
      std::printf("%-34s %10.1f %10.3f %13.0fx\n",
                  ("tick " + std::to_string(static_cast<int>(tick)) + " ms, round " + std::to_string(round)).c_str(),
                  report->sim_seconds, report->wall_seconds, acceleration);
    }
    std::printf("  mean acceleration with a %d ms tick: %.0fx real time\n", static_cast<int>(tick), total);
  }
  return idle_ranges(rounds);
}
