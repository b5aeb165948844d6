// History checks for the replicated register (see register_checker.h).
#include "sim/checkers/register_checker.h"

#include <algorithm>
#include <map>
#include <set>

#include "core/register/register_store.h"
#include "core/runtime/time.h"

namespace cairn::sim {
namespace {

std::string describe(const proto::RegisterValue& value) {
  return "(" + std::to_string(value.sequence()) + "," + std::to_string(value.writer()) + ")";
}

std::string describe(const RegisterOperation& operation, std::size_t index) {
  return std::string(operation.write ? "write" : "read") + " #" + std::to_string(index) + " by client " +
         std::to_string(operation.client) + " [" + format_duration(Duration{operation.invoked_at}) + ", " +
         (operation.completed() ? format_duration(Duration{operation.completed_at}) : std::string("-")) + "] " +
         describe(operation.value);
}

CheckOutcome pass(proto::Check check) { return {check, true, {}}; }
CheckOutcome fail(proto::Check check, std::string detail) { return {check, false, std::move(detail)}; }

}  // namespace

CheckOutcome check_acknowledged_writes_durable(const RegisterCheckInput& input) {
  constexpr proto::Check kCheck = proto::ACKNOWLEDGED_WRITES_DURABLE;
  // The newest value any client was told about: acknowledged by a write, or returned by a read
  // (a read returns a value only once a majority holds it, so it is as committed as a write).
  const RegisterOperation* newest = nullptr;
  std::size_t newest_index = 0;
  for (std::size_t i = 0; i < input.history->size(); ++i) {
    const RegisterOperation& operation = (*input.history)[i];
    if (operation.ok() && (newest == nullptr || register_value_newer(operation.value, newest->value))) {
      newest = &operation;
      newest_index = i;
    }
  }
  if (newest == nullptr) return pass(kCheck);
  const std::size_t servers = input.durable_register_files.size();
  const std::size_t majority = servers / 2 + 1;
  // After a crash of everything, servers with an intact file serve reads; damaged ones rebuild
  // from those. Every read quorum (a majority of intact servers) must include one holding the
  // newest acknowledged write, i.e. fewer than a majority of intact servers may be behind it.
  std::size_t intact = 0;
  std::size_t behind = 0;
  std::string states;
  for (std::size_t server = 0; server < servers; ++server) {
    const auto& image = input.durable_register_files[server];
    std::string state;
    if (!image.has_value()) {
      state = "no file";  // past bootstrap, a missing file means lost state: it would rebuild
    } else {
      RegisterStore::Loaded loaded = RegisterStore::decode_file(*image);
      if (loaded.outcome != RegisterStore::LoadOutcome::kLoaded) {
        state = "damaged";
      } else if (loaded.recovering) {
        state = "recovering";
      } else {
        ++intact;
        if (register_value_newer(newest->value, loaded.value)) ++behind;
        state = describe(loaded.value);
      }
    }
    if (!states.empty()) states += ", ";
    states += "server " + std::to_string(server + 1) + ": " + state;
  }
  if (intact < majority) {
    return fail(kCheck, "only " + std::to_string(intact) + " of " + std::to_string(servers) +
                            " servers have intact state, fewer than a majority (" + states + ")");
  }
  if (behind >= majority) {
    return fail(kCheck, "the value of " + describe(*newest, newest_index) + " is missing from " +
                            std::to_string(behind) + " intact servers, a majority (" + states + ")");
  }
  return pass(kCheck);
}

CheckOutcome check_reads_see_acknowledged_writes(const RegisterHistory& history) {
  constexpr proto::Check kCheck = proto::READS_SEE_ACKNOWLEDGED_WRITES;
  // Completed operations ordered by completion time, with the newest value completed so far.
  std::vector<std::size_t> completed;
  for (std::size_t i = 0; i < history.size(); ++i) {
    if (history[i].ok()) completed.push_back(i);
  }
  std::sort(completed.begin(), completed.end(),
            [&](std::size_t a, std::size_t b) { return history[a].completed_at < history[b].completed_at; });
  std::vector<std::size_t> newest_prefix(completed.size());
  for (std::size_t k = 0; k < completed.size(); ++k) {
    newest_prefix[k] = k == 0 || register_value_newer(history[completed[k]].value, history[newest_prefix[k - 1]].value)
                           ? completed[k]
                           : newest_prefix[k - 1];
  }
  for (std::size_t i = 0; i < history.size(); ++i) {
    const RegisterOperation& read = history[i];
    if (read.write || !read.ok()) continue;
    // Operations that completed strictly before this read was invoked.
    auto end = std::lower_bound(completed.begin(), completed.end(), read.invoked_at,
                                [&](std::size_t index, int64_t time) { return history[index].completed_at < time; });
    if (end == completed.begin()) continue;
    const std::size_t before = newest_prefix[static_cast<std::size_t>(end - completed.begin()) - 1];
    if (register_value_newer(history[before].value, read.value)) {
      return fail(kCheck, describe(read, i) + " returned an older value than " + describe(history[before], before) +
                              ", which completed before the read began");
    }
  }
  return pass(kCheck);
}

CheckOutcome check_reads_return_written_values(const RegisterHistory& history) {
  constexpr proto::Check kCheck = proto::READS_RETURN_WRITTEN_VALUES;
  std::map<std::pair<uint64_t, std::string>, std::size_t> writes;  // (writer, data) -> operation
  // A version names one value: two writes under one version, or a read that returns other data
  // under a version, means replicas disagree about what that version holds.
  std::map<std::pair<uint64_t, uint64_t>, std::size_t> by_version;  // (sequence, writer) -> write
  for (std::size_t i = 0; i < history.size(); ++i) {
    const RegisterOperation& operation = history[i];
    if (!operation.write) continue;
    writes[{operation.client, operation.written_data}] = i;
    if (!operation.completed() || operation.outcome == OperationOutcome::kFailed) continue;
    auto [it, inserted] = by_version.emplace(std::make_pair(operation.value.sequence(), operation.value.writer()), i);
    if (!inserted) {
      return fail(kCheck, describe(operation, i) + " reused the version of " + describe(history[it->second], it->second) +
                              " for different data");
    }
  }
  for (std::size_t i = 0; i < history.size(); ++i) {
    const RegisterOperation& read = history[i];
    if (read.write || !read.ok()) continue;
    const proto::RegisterValue& value = read.value;
    if (value.sequence() == 0 && value.writer() == 0 && value.data().empty()) continue;  // the initial value
    auto it = writes.find({value.writer(), value.data()});
    if (it == writes.end()) {
      return fail(kCheck, describe(read, i) + " returned data '" + value.data() + "' that no client wrote");
    }
    const RegisterOperation& write = history[it->second];
    if (write.completed() && write.outcome == OperationOutcome::kFailed) {
      return fail(kCheck, describe(read, i) + " returned the data of " + describe(write, it->second) +
                              ", which failed before storing anything");
    }
    if (write.completed() && write.value.sequence() != value.sequence()) {
      return fail(kCheck, describe(read, i) + " returned the data of " + describe(write, it->second) +
                              " under another version");
    }
    auto named = by_version.find({value.sequence(), value.writer()});
    if (named != by_version.end() && history[named->second].written_data != value.data()) {
      return fail(kCheck, describe(read, i) + " returned data '" + value.data() + "' under the version of " +
                              describe(history[named->second], named->second) + ", which wrote '" +
                              history[named->second].written_data + "'");
    }
  }
  return pass(kCheck);
}

CheckOutcome check_liveness(const RegisterCheckInput& input) {
  constexpr proto::Check kCheck = proto::LIVENESS;
  const int64_t window_start = input.quiesce_started_at + (input.ended_at - input.quiesce_started_at) / 2;
  std::set<NodeId> progressed;
  for (const RegisterOperation& operation : *input.history) {
    if (operation.ok() && operation.completed_at >= window_start) progressed.insert(operation.client);
  }
  std::string stalled;
  for (NodeId client : input.clients) {
    if (progressed.count(client) == 0) stalled += (stalled.empty() ? "" : ", ") + std::to_string(client);
  }
  if (!stalled.empty()) {
    return fail(kCheck, "clients without a successful operation after " +
                            format_duration(Duration{window_start}) + " (faults healed at " +
                            format_duration(Duration{input.quiesce_started_at}) + "): " + stalled);
  }
  return pass(kCheck);
}

std::vector<CheckOutcome> run_register_checks(const std::vector<proto::Check>& checks, const RegisterCheckInput& input) {
  std::vector<CheckOutcome> outcomes;
  for (proto::Check check : checks) {
    switch (check) {
      case proto::ACKNOWLEDGED_WRITES_DURABLE: outcomes.push_back(check_acknowledged_writes_durable(input)); break;
      case proto::READS_SEE_ACKNOWLEDGED_WRITES: outcomes.push_back(check_reads_see_acknowledged_writes(*input.history)); break;
      case proto::READS_RETURN_WRITTEN_VALUES: outcomes.push_back(check_reads_return_written_values(*input.history)); break;
      case proto::LIVENESS: outcomes.push_back(check_liveness(input)); break;
      default: outcomes.push_back(fail(check, "unknown check")); break;
    }
  }
  return outcomes;
}

}  // namespace cairn::sim
