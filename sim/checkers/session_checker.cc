// Read-your-writes and monotonic reads per client (see session_checker.h).
#include "sim/checkers/session_checker.h"

namespace cairn::sim {
namespace {

using linearizability::Function;
using linearizability::Operation;
using linearizability::Outcome;

constexpr std::size_t kMaxReported = 5;

// What one client has established about one key: the newest own acknowledged write, and the
// newest write a read returned.
struct KeyFloor {
  uint64_t own_write = 0;
  uint64_t read = 0;
};

bool has_delete_since(const WriteOrder& order, const std::string& key, uint64_t index) {
  auto found = order.delete_indexes.find(key);
  return found != order.delete_indexes.end() && found->second.lower_bound(index) != found->second.end();
}

void report(std::vector<std::string>& list, std::string text) {
  if (list.size() < kMaxReported) list.push_back(std::move(text));
}

std::string read_text(const Operation& read) {
  return "client " + std::to_string(read.process) + " read " + read.key + " = " +
         linearizability::describe_value(read.value) + " at " + std::to_string(read.complete_time) + " ns";
}

// A read of `key` returned the write at `index` (0: the key absent). Judges it against the floor.
void judge_read(const Operation& read, std::optional<uint64_t> index, const WriteOrder& order, KeyFloor& floor,
                SessionViolations& violations) {
  const auto precedes = [&](uint64_t bound) {
    return index.has_value() ? *index < bound : bound > 0 && !has_delete_since(order, read.key, bound);
  };
  if (precedes(floor.own_write)) {
    report(violations.read_your_writes, read_text(read) + ", older than its own write at index " +
                                            std::to_string(floor.own_write));
  }
  if (precedes(floor.read)) {
    report(violations.monotonic_reads, read_text(read) + ", older than the write at index " +
                                           std::to_string(floor.read) + " it had already read");
  }
  if (index.has_value()) floor.read = std::max(floor.read, *index);
}

}  // namespace

SessionViolations check_sessions(const linearizability::History& history, const WriteOrder& order) {
  SessionViolations violations;
  std::map<std::pair<uint64_t, std::string>, KeyFloor> floors;  // (client, key) ->
  for (std::size_t position = 0; position < history.size(); ++position) {
    const Operation& operation = history[position];
    if (operation.outcome != Outcome::kOk || operation.complete_time == linearizability::kNeverCompleted) continue;
    KeyFloor& floor = floors[{operation.process, operation.key}];
    if (operation.function != Function::kRead) {
      auto acknowledged = order.acknowledged_request.find(position);
      if (acknowledged == order.acknowledged_request.end()) continue;
      auto applied = order.request_index.find(acknowledged->second);
      if (applied != order.request_index.end()) floor.own_write = std::max(floor.own_write, applied->second);
      continue;
    }
    if (!operation.value.has_value()) {
      judge_read(operation, std::nullopt, order, floor, violations);
      continue;
    }
    auto written = order.value_index.find(*operation.value);
    if (written == order.value_index.end()) continue;  // never seen applied: not ours to judge
    judge_read(operation, written->second, order, floor, violations);
  }
  return violations;
}

}  // namespace cairn::sim
