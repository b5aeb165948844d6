// Benchmark of the linearizability checker on long generated histories: a key-value map with
// 20 keys and 10 concurrent processes, and a single cas register with 5 processes, at 10k and
// 50k operations. Histories are produced by really executing random operations (each takes
// effect at a random instant inside its interval) with 1% of them of unknown outcome, half of
// those never applied — so every history is linearizable and the checker must prove it.
// Run: build/bin/cairn-bench-linearizability. Figures: docs/simulation.md.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <map>
#include <random>

#include "core/runtime/assert.h"
#include "sim/checkers/linearizability_checker.h"

namespace cairn::sim::linearizability {
namespace {

struct Workload {
  int processes = 1;
  int keys = 1;
  int values = 5;
  std::size_t operations = 0;
};

struct Planned {
  Operation operation;
  int64_t effect = 0;
  bool applied = true;
};

// Intervals: each process issues one operation at a time, with a random think time and duration.
std::vector<Planned> plan(const Workload& workload, std::mt19937_64& random) {
  std::vector<int64_t> clock(static_cast<std::size_t>(workload.processes), 0);
  std::vector<Planned> planned;
  for (std::size_t i = 0; i < workload.operations; ++i) {
    const auto process = static_cast<std::size_t>(random() % static_cast<uint64_t>(workload.processes));
    Planned next;
    Operation& operation = next.operation;
    operation.process = process;
    operation.key = workload.keys > 1 ? "k" + std::to_string(random() % static_cast<uint64_t>(workload.keys)) : "";
    const uint64_t draw = random() % 10;
    operation.function = draw < 5 ? Function::kRead : draw < 8 ? Function::kWrite : Function::kCas;
    operation.invoke_time = clock[process] + static_cast<int64_t>(random() % 20) + 1;
    operation.complete_time = operation.invoke_time + static_cast<int64_t>(random() % 100);
    clock[process] = operation.complete_time;
    // Distinct effect instants: scaled time plus the operation's index.
    next.effect = (operation.invoke_time + static_cast<int64_t>(random() % static_cast<uint64_t>(
                                                                    operation.complete_time - operation.invoke_time + 1))) *
                      static_cast<int64_t>(workload.operations) +
                  static_cast<int64_t>(i);
    if (operation.function != Function::kRead) {
      operation.value = std::to_string(random() % static_cast<uint64_t>(workload.values));
    }
    if (random() % 100 == 0) {
      operation.outcome = Outcome::kUnknown;
      next.applied = random() % 2 == 0;
    }
    planned.push_back(next);
  }
  return planned;
}

History generate(const Workload& workload, uint64_t seed) {
  std::mt19937_64 random(seed);
  std::vector<Planned> planned = plan(workload, random);
  std::vector<std::size_t> order(planned.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return planned[a].effect < planned[b].effect; });
  std::map<std::string, std::string> model;
  for (std::size_t index : order) {
    Operation& operation = planned[index].operation;
    auto found = model.find(operation.key);
    const Value current = found == model.end() ? Value{} : Value{found->second};
    if (operation.function == Function::kCas) {
      operation.expected = random() % 2 == 0 ? current : Value{std::to_string(random() % 5)};
    }
    if (!planned[index].applied) continue;
    if (operation.function == Function::kRead) operation.value = current;
    if (operation.function == Function::kWrite) model[operation.key] = *operation.value;
    if (operation.function == Function::kCas) {
      if (operation.expected == current) {
        model[operation.key] = *operation.value;
      } else if (operation.outcome == Outcome::kOk) {
        operation.outcome = Outcome::kFail;
      }
    }
  }
  History history;
  for (Planned& entry : planned) {
    if (entry.operation.outcome == Outcome::kUnknown) entry.operation.complete_time = kNeverCompleted;
    history.push_back(std::move(entry.operation));
  }
  return history;
}

void run_checker(benchmark::State& state, const Workload& workload) {
  const History history = generate(workload, 42);
  CheckResult last;
  for (auto _ : state) {
    Result<CheckResult> result = check_linearizability(history, ModelKind::kKeyValue);
    CAIRN_ASSERT(result.ok() && result->verdict == Verdict::kLinearizable, "a generated history must check");
    last = std::move(*result);
    benchmark::DoNotOptimize(last);
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(history.size()));
  state.counters["operations"] = static_cast<double>(history.size());
  state.counters["partitions"] = static_cast<double>(last.stats.partitions);
  state.counters["states"] = static_cast<double>(last.stats.states_explored);
  state.counters["unknown"] = static_cast<double>(last.stats.unknown_operations);
}

void BM_KeyValue20Keys10Processes(benchmark::State& state) {
  run_checker(state, {.processes = 10, .keys = 20, .values = 5, .operations = static_cast<std::size_t>(state.range(0))});
}
BENCHMARK(BM_KeyValue20Keys10Processes)->Arg(10'000)->Arg(50'000)->Unit(benchmark::kMillisecond);

void BM_CasRegister5Processes(benchmark::State& state) {
  run_checker(state, {.processes = 5, .keys = 1, .values = 5, .operations = static_cast<std::size_t>(state.range(0))});
}
BENCHMARK(BM_CasRegister5Processes)->Arg(10'000)->Arg(50'000)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace cairn::sim::linearizability

BENCHMARK_MAIN();
