// Benchmarks of the foundation, each beside a baseline measured in the same run:
//  - a fiber switch through the Scheduler (yield between two fibers) vs a bare Boost.Context
//    switch pair (the floor) vs two OS threads handing a token over a condition variable (what
//    fibers replace);
//  - spawning and finishing a fiber;
//  - a message through a bounded Channel between two fibers;
//  - the simulator: loop events per wall-second and simulated seconds per wall-second for the
//    quickstart scenario, and for an idle five-node cluster (faults off, no clients).
// Run: build/bin/cairn-bench-runtime (make bench). Figures and machine: docs/benchmarks.md.
#include <benchmark/benchmark.h>

#include <boost/context/fiber.hpp>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "core/runtime/channel.h"
#include "core/runtime/fiber_scope.h"
#include "core/runtime/scheduler.h"
#include "sim/scenario_loader.h"
#include "sim/scenario_runner.h"

namespace cairn {
namespace {

void BM_SchedulerYieldSwitch(benchmark::State& state) {
  Scheduler scheduler(Scheduler::Options{});
  Scheduler::Installation installation(scheduler);
  Process process(scheduler, "bench");
  bool stop = false;
  for (int i = 0; i < 2; ++i) {
    process.root().spawn("yielder", [&] {
      while (!stop) scheduler.yield();
    });
  }
  for (auto _ : state) scheduler.run_one();  // one switch into a fiber and back out
  stop = true;
  scheduler.run_until_idle();
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SchedulerYieldSwitch);

void BM_BareBoostContextSwitch(benchmark::State& state) {
  namespace ctx = boost::context;
  bool stop = false;
  ctx::fiber fiber([&stop](ctx::fiber&& caller) {
    while (!stop) caller = std::move(caller).resume();
    return std::move(caller);
  });
  for (auto _ : state) fiber = std::move(fiber).resume();
  stop = true;
  fiber = std::move(fiber).resume();
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_BareBoostContextSwitch);

void BM_ThreadConditionVariableHandoff(benchmark::State& state) {
  std::mutex mutex;
  std::condition_variable changed;
  int turn = 0;  // 0: benchmark thread, 1: partner
  bool stop = false;
  std::thread partner([&] {
    std::unique_lock lock(mutex);
    while (true) {
      changed.wait(lock, [&] { return turn == 1 || stop; });
      if (stop) return;
      turn = 0;
      changed.notify_one();
    }
  });
  for (auto _ : state) {
    std::unique_lock lock(mutex);
    turn = 1;
    changed.notify_one();
    changed.wait(lock, [&] { return turn == 0; });
  }
  {
    std::lock_guard lock(mutex);
    stop = true;
  }
  changed.notify_one();
  partner.join();
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ThreadConditionVariableHandoff)->UseRealTime();

void BM_SpawnAndFinishFiber(benchmark::State& state) {
  Scheduler scheduler(Scheduler::Options{});
  Scheduler::Installation installation(scheduler);
  Process process(scheduler, "bench");
  uint64_t ran = 0;
  for (auto _ : state) {
    process.root().spawn("short", [&] { ++ran; });
    scheduler.run_one();
  }
  benchmark::DoNotOptimize(ran);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SpawnAndFinishFiber);

void BM_ChannelMessageBetweenFibers(benchmark::State& state) {
  Scheduler scheduler(Scheduler::Options{});
  Scheduler::Installation installation(scheduler);
  Process process(scheduler, "bench");
  Channel<uint64_t> channel(static_cast<std::size_t>(state.range(0)));
  const uint64_t messages = 100'000;
  for (auto _ : state) {
    process.root().spawn("producer", [&] {
      for (uint64_t i = 0; i < messages; ++i) (void)channel.send(i);
    });
    process.root().spawn("consumer", [&] {
      for (uint64_t i = 0; i < messages; ++i) benchmark::DoNotOptimize(channel.receive());
    });
    scheduler.run_until_idle();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * messages));
}
BENCHMARK(BM_ChannelMessageBetweenFibers)->Arg(1)->Arg(64);

proto::Scenario load(const std::string& name) {
  auto scenario = sim::load_scenario_file(std::string(CAIRN_SOURCE_DIR) + "/scenarios/" + name);
  if (!scenario.ok()) std::abort();
  return *scenario;
}

void report_simulation(benchmark::State& state, const proto::Scenario& scenario) {
  double simulated = 0;
  double wall = 0;
  uint64_t events = 0;
  uint64_t seed = 1;
  for (auto _ : state) {
    auto report = sim::run_scenario(scenario, seed++, sim::RunOptions{});
    simulated += report->sim_seconds;
    wall += report->wall_seconds;
    events += report->loop_events;
  }
  state.counters["sim_seconds_per_wall_second"] = simulated / wall;
  state.counters["loop_events_per_wall_second"] = static_cast<double>(events) / wall;
}

void BM_SimulateQuickstart(benchmark::State& state) { report_simulation(state, load("quickstart.textproto")); }
BENCHMARK(BM_SimulateQuickstart)->Unit(benchmark::kMillisecond)->Iterations(20);

void BM_SimulateIdleFiveNodeCluster(benchmark::State& state) {
  proto::Scenario idle = load("quickstart.textproto");
  idle.clear_faults();
  idle.mutable_workload()->mutable_register_()->set_clients(1);
  // One client thinking for a minute between operations: the cluster is idle almost always.
  idle.mutable_workload()->mutable_register_()->mutable_think_time_ms()->set_min(60'000);
  idle.mutable_workload()->mutable_register_()->mutable_think_time_ms()->set_max(60'000);
  idle.set_duration_seconds(3600);
  idle.set_quiesce_seconds(0);
  idle.clear_checks();
  report_simulation(state, idle);
}
BENCHMARK(BM_SimulateIdleFiveNodeCluster)->Unit(benchmark::kMillisecond)->Iterations(5);

}  // namespace
}  // namespace cairn

BENCHMARK_MAIN();
