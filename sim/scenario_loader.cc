// Scenario parsing, defaults and validation with located errors (see scenario_loader.h).
#include "sim/scenario_loader.h"

#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/text_format.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string_view>
#include <tuple>
#include <vector>

#include "core/runtime/file_system.h"
#include "core/runtime/limits.h"

namespace cairn::sim {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::TextFormat;

constexpr uint32_t kMaxNodes = 100;
constexpr uint32_t kMaxClients = 1000;
constexpr double kMaxLatencyMs = 60'000;
constexpr double kMaxSeconds = 1'000'000;

class CollectingErrors final : public google::protobuf::io::ErrorCollector {
 public:
  explicit CollectingErrors(std::string path) : path_(std::move(path)) {}
  void AddError(int line, int column, const std::string& message) override {
    errors_.push_back(path_ + ":" + std::to_string(line + 1) + ":" + std::to_string(column + 1) + ": " + message);
  }
  void AddWarning(int line, int column, const std::string& message) override { AddError(line, column, message); }
  const std::vector<std::string>& errors() const { return errors_; }

 private:
  std::string path_;
  std::vector<std::string> errors_;
};

// Walks the parsed scenario next to its ParseInfoTree, so that each problem can be reported at
// the line of the field (or, for a field the file omitted, of the message that lacks it).
class Validator {
 public:
  Validator(std::string path, const TextFormat::ParseInfoTree* tree) : path_(std::move(path)), root_(tree) {}

  struct Scope {
    const TextFormat::ParseInfoTree* tree;
    std::string field_path;
    int line;  // 1-based line of this message in the file, 0 if unknown
  };

  Scope root() const { return {root_, "", 1}; }

  Scope nested(const Scope& parent, const google::protobuf::Message& message, const char* field_name,
               int index = -1) const {
    const FieldDescriptor* field = message.GetDescriptor()->FindFieldByName(field_name);
    Scope scope{nullptr, join(parent.field_path, field_name, index), parent.line};
    if (parent.tree != nullptr && field != nullptr && indexable(field, index)) {
      scope.tree = parent.tree->GetTreeForNested(field, index);
      const auto location = parent.tree->GetLocation(field, index);
      if (location.line >= 0) scope.line = location.line + 1;
    }
    return scope;
  }

  void error(const Scope& scope, const google::protobuf::Message& message, const char* field_name,
             const std::string& problem, int index = -1) {
    int line = scope.line;
    const FieldDescriptor* field = message.GetDescriptor()->FindFieldByName(field_name);
    if (scope.tree != nullptr && field != nullptr && indexable(field, index) &&
        (index < 0 || index < message.GetReflection()->FieldSize(message, field))) {
      const auto location = scope.tree->GetLocation(field, index);
      if (location.line >= 0) line = location.line + 1;
    }
    errors_.push_back(path_ + ":" + std::to_string(line) + ": " + join(scope.field_path, field_name, index) + ": " +
                      problem);
  }

  void range(const Scope& parent, const google::protobuf::Message& owner, const char* field_name,
             const proto::Range& value, double low, double high, const std::string& unit) {
    const Scope scope = nested(parent, owner, field_name);
    // Written so that NaN (which the text format accepts) fails every check.
    if (!(value.min() >= low && value.min() <= high)) {
      error(scope, value, "min", "must be within [" + number(low) + ", " + number(high) + "] " + unit);
    }
    if (!(value.max() >= low && value.max() <= high)) {
      error(scope, value, "max", "must be within [" + number(low) + ", " + number(high) + "] " + unit);
    }
    if (value.max() < value.min()) error(scope, value, "max", "must not be smaller than min");
  }

  const std::vector<std::string>& errors() const { return errors_; }

  // ParseInfoTree aborts the process when a repeated field is looked up without an index or a
  // singular one with an index; such problems are reported at the enclosing message's line.
  static bool indexable(const FieldDescriptor* field, int index) { return field->is_repeated() == (index >= 0); }

  static std::string number(double value) {
    std::ostringstream text;
    text << value;
    return text.str();
  }

 private:
  static std::string join(const std::string& parent, const char* field, int index) {
    std::string path = parent.empty() ? field : parent + "." + field;
    if (index >= 0) path += "[" + std::to_string(index) + "]";
    return path;
  }

  std::string path_;
  const TextFormat::ParseInfoTree* root_;
  std::vector<std::string> errors_;
};

void set_range_if_unset(proto::Range* range, double low, double high) {
  if (range->min() == 0 && range->max() == 0) {
    range->set_min(low);
    range->set_max(high);
  }
}

bool is_probability_fault(proto::FaultKind kind) {
  switch (kind) {
    case proto::MESSAGE_LOSS:
    case proto::MESSAGE_DUPLICATION:
    case proto::MESSAGE_REORDER:
    case proto::DISK_TORN_WRITE:
    case proto::DISK_READ_ERROR:
    case proto::DISK_BIT_FLIP:
    case proto::DISK_MISDIRECTED_WRITE:
    case proto::DISK_FULL:
    case proto::DISK_SLOW:
    case proto::DISK_SYNC_FAILURE:
    case proto::BUGGIFY:
      return true;
    default:
      return false;
  }
}

bool is_targetable_disk_fault(proto::FaultKind kind) {
  return is_probability_fault(kind) && kind != proto::DISK_SLOW && kind != proto::MESSAGE_LOSS &&
         kind != proto::MESSAGE_DUPLICATION && kind != proto::MESSAGE_REORDER && kind != proto::BUGGIFY;
}

bool is_episode_fault(proto::FaultKind kind) {
  switch (kind) {
    case proto::PARTITION_SYMMETRIC:
    case proto::PARTITION_ASYMMETRIC:
    case proto::PARTITION_ISOLATE_NODE:
    case proto::PARTITION_MAJORITY_MINORITY:
    case proto::CLOG_LINK:
    case proto::CLOG_NODE:
    case proto::SWIZZLE_CLOG:
    case proto::NODE_CRASH:
    case proto::NODE_PAUSE:
    case proto::NODE_WIPE:
      return true;
    default:
      return false;
  }
}

// Episodes that strike one server, which a target can choose.
bool is_aimable_fault(proto::FaultKind kind) {
  switch (kind) {
    case proto::PARTITION_ISOLATE_NODE:
    case proto::PARTITION_MAJORITY_MINORITY:
    case proto::PARTITION_ASYMMETRIC:
    case proto::CLOG_LINK:
    case proto::CLOG_NODE:
    case proto::NODE_CRASH:
    case proto::NODE_PAUSE:
    case proto::NODE_WIPE:
    case proto::CLOCK_STEP:
      return true;
    default:
      return false;
  }
}

// "component.what": lowercase words of letters, digits and underscores, joined by dots.
bool is_probe_name(std::string_view name) {
  if (name.empty() || name.size() > 200 || name.front() == '.' || name.back() == '.') return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.';
  });
}

// Target and trigger of an episode (`fault.target`, `fault.on_probe`).
void validate_aim(Validator& validator, const Validator::Scope& entry, const proto::Fault& fault,
                  const proto::Scenario& scenario) {
  if (fault.target() != proto::ANY_SERVER) {
    if (!is_aimable_fault(fault.kind())) {
      validator.error(entry, fault, "target",
                      "only NODE_CRASH, NODE_PAUSE, NODE_WIPE, PARTITION_ISOLATE_NODE, PARTITION_MAJORITY_MINORITY, "
                      "PARTITION_ASYMMETRIC, CLOG_NODE, CLOG_LINK and CLOCK_STEP strike one server a target can choose");
    } else if (!scenario.workload().has_raft_kv()) {
      validator.error(entry, fault, "target", "leaders and followers exist in the raft_kv workload only");
    }
  }
  if (!fault.on_probe().empty()) {
    if (!is_episode_fault(fault.kind()) && fault.kind() != proto::CLOCK_STEP) {
      validator.error(entry, fault, "on_probe", "only episodes (partitions, clogs, crashes, pauses, wipes, clock steps) "
                                                "can start at a probe");
    }
    if (!is_probe_name(fault.on_probe())) {
      validator.error(entry, fault, "on_probe",
                      "'" + fault.on_probe() + "' is not a probe name (lowercase words joined by dots, as "
                      "\"replica.vote.sent\"; docs/simulation.md lists them)");
    }
  }
}

void validate_faults(Validator& validator, const Validator::Scope& root, const proto::Scenario& scenario) {
  const proto::FaultProfile& profile = scenario.faults();
  const Validator::Scope scope = validator.nested(root, scenario, "faults");
  const uint32_t servers = server_count(scenario);
  std::set<std::tuple<int, int, std::string>> kinds;  // (kind, target, on_probe)
  for (int i = 0; i < profile.faults_size(); ++i) {
    const proto::Fault& fault = profile.faults(i);
    const Validator::Scope entry = validator.nested(scope, profile, "faults", i);
    const std::string kind_name = proto::FaultKind_Name(fault.kind());
    if (fault.kind() == proto::FAULT_KIND_UNSPECIFIED) {
      validator.error(entry, fault, "kind", "every fault needs a kind");
      continue;
    }
    if (!kinds.insert({fault.kind(), fault.target(), fault.on_probe()}).second) {
      validator.error(entry, fault, "kind", kind_name + " is listed twice with the same target and trigger");
    }
    validate_aim(validator, entry, fault, scenario);
    if (fault.has_enable_probability() && !(fault.enable_probability() >= 0 && fault.enable_probability() <= 1)) {
      validator.error(entry, fault, "enable_probability", "a probability must be within [0, 1]");
    }
    if (is_probability_fault(fault.kind()) || !fault.on_probe().empty()) {
      validator.range(entry, fault, "rate", fault.rate(), 0, 1, "(a probability)");
    } else if (fault.kind() == proto::CLOCK_STEP || is_episode_fault(fault.kind())) {
      validator.range(entry, fault, "rate", fault.rate(), 0, 6000, "episodes per minute");
      if (fault.rate().min() > 0 && fault.rate().min() < 1e-6) {
        validator.error(entry, fault, "rate", "use 0 to turn an episode off; rates below 1e-6 per minute never fire");
      }
    }
    if (is_episode_fault(fault.kind())) {
      validator.range(entry, fault, "duration_ms", fault.duration_ms(), 1, 3'600'000, "ms");
    }
    if (fault.kind() == proto::CLOCK_STEP && fault.has_duration_ms()) {
      validator.range(entry, fault, "duration_ms", fault.duration_ms(), 0, 3'600'000, "ms until the step is undone (0: never)");
    }
    if (!fault.target_path().empty()) {
      if (!is_targetable_disk_fault(fault.kind())) {
        validator.error(entry, fault, "target_path", "only disk faults other than DISK_SLOW can aim at files");
      }
      std::string_view target = fault.target_path();
      if (target.ends_with('/')) target.remove_suffix(1);
      if (Status valid = validate_path(target); !valid.ok()) validator.error(entry, fault, "target_path", valid.message());
    }
    switch (fault.kind()) {
      case proto::MESSAGE_REORDER:
      case proto::DISK_SLOW:
        validator.range(entry, fault, "magnitude", fault.magnitude(), 0, kMaxLatencyMs, "ms of extra delay");
        break;
      case proto::CLOCK_OFFSET:
      case proto::CLOCK_STEP:
        validator.range(entry, fault, "magnitude", fault.magnitude(), -86'400'000, 86'400'000, "ms");
        break;
      case proto::CLOCK_DRIFT:
        validator.range(entry, fault, "magnitude", fault.magnitude(), -100'000, 100'000, "ppm");
        break;
      default:
        break;
    }
  }
  if (profile.has_max_unreliable_nodes() && profile.max_unreliable_nodes() > servers) {
    validator.error(scope, profile, "max_unreliable_nodes", "is larger than the " + std::to_string(servers) + " servers");
  }
  if (profile.has_max_down_nodes() && profile.max_down_nodes() > servers) {
    validator.error(scope, profile, "max_down_nodes", "is larger than the " + std::to_string(servers) + " servers");
  }
}

void validate_register_workload(Validator& validator, const Validator::Scope& workload, const proto::Scenario& scenario,
                                uint32_t servers, const std::set<std::string>& region_names) {
  const proto::RegisterWorkload& work = scenario.workload().register_();
  const Validator::Scope scope = validator.nested(workload, scenario.workload(), "register");
  if (work.clients() == 0 || work.clients() > kMaxClients) {
    validator.error(scope, work, "clients", "must be within [1, " + std::to_string(kMaxClients) + "]");
  }
  if (!(work.write_fraction() >= 0 && work.write_fraction() <= 1)) {
    validator.error(scope, work, "write_fraction", "a probability must be within [0, 1]");
  }
  validator.range(scope, work, "think_time_ms", work.think_time_ms(), 0, kMaxLatencyMs, "ms");
  if (!(work.request_timeout_ms() >= 0.001 && work.request_timeout_ms() <= kMaxLatencyMs)) {
    validator.error(scope, work, "request_timeout_ms", "must be within [0.001, 60000] ms");
  }
  // Below a microsecond, durations round to (almost) no simulated time at all.
  if (work.think_time_ms().max() < 0.001 && scenario.network().local_latency_ms().min() < 0.001) {
    validator.error(scope, work, "think_time_ms",
                    "with no think time and no network latency, simulated time would never advance");
  }
  if (work.value_bytes() > 256) validator.error(scope, work, "value_bytes", "at most 256 bytes");
  if (work.read_quorum() > servers) validator.error(scope, work, "read_quorum", "is larger than the " + std::to_string(servers) + " servers");
  if (work.write_quorum() > servers) validator.error(scope, work, "write_quorum", "is larger than the " + std::to_string(servers) + " servers");
  if (!work.client_region().empty() && region_names.count(work.client_region()) == 0) {
    validator.error(scope, work, "client_region", "no region named '" + work.client_region() + "'");
  }
}

void validate_storage_workload(Validator& validator, const Validator::Scope& workload, const proto::Scenario& scenario) {
  const proto::StorageWorkload& work = scenario.workload().storage();
  const Validator::Scope scope = validator.nested(workload, scenario.workload(), "storage");
  validator.range(scope, work, "think_time_ms", work.think_time_ms(), 0.001, kMaxLatencyMs, "ms");
  if (work.max_mutations_per_batch() == 0 || work.max_mutations_per_batch() > 1000) {
    validator.error(scope, work, "max_mutations_per_batch", "must be within [1, 1000]");
  }
  if (work.keys() == 0 || work.keys() > 1'000'000) validator.error(scope, work, "keys", "must be within [1, 1000000]");
  if (work.max_value_bytes() > 65536) validator.error(scope, work, "max_value_bytes", "at most 65536 bytes");
  if (!(work.read_fraction() >= 0 && work.read_fraction() <= 1)) {
    validator.error(scope, work, "read_fraction", "a probability must be within [0, 1]");
  }
  if (work.wal_segment_bytes() < 8192 || work.wal_segment_bytes() > (uint64_t{1} << 30)) {
    validator.error(scope, work, "wal_segment_bytes", "must be within [8192, 2^30] bytes");
  }
}

// Knob ranges: each bound within what Raft and the driver accept (the drawn configuration is
// then made consistent: heartbeats inside the election timeout, the lease margin below it).
void validate_knob_ranges(Validator& validator, const Validator::Scope& workload, const proto::RaftKvWorkload& work) {
  const proto::RaftKnobRanges& ranges = work.knob_ranges();
  const Validator::Scope scope = validator.nested(workload, work, "knob_ranges");
  struct Bound {
    const char* field;
    double low;
    double high;
  };
  constexpr Bound kBounds[] = {
      {"election_ticks", 3, 10'000},          {"heartbeat_ticks", 1, 1'000},
      {"max_clock_drift_ticks", 1, 1'000},    {"max_inflight_appends", 1, 4'096},
      {"max_append_bytes", 1, limits::kAppendBytesMax},
      {"compact_after_entries", 1, 1e9},
      {"compaction_keep_entries", 0, 1e9},
      {"snapshot_chunk_bytes", 64, limits::kSnapshotChunkTargetBytesMax},
      {"max_unsynced_indexes", 1, 1e9},       {"wal_segment_bytes", 16 << 10, 1 << 30},
      {"client_attempt_timeout_ms", 1, 60'000},
      {"engine_sync_interval_ms", 0, 60'000},
  };
  for (const Bound& bound : kBounds) {
    const auto* descriptor = ranges.GetDescriptor()->FindFieldByName(bound.field);
    const auto& range = static_cast<const proto::Range&>(ranges.GetReflection()->GetMessage(ranges, descriptor));
    if (range.min() == 0 && range.max() == 0) continue;  // not drawn
    validator.range(scope, ranges, bound.field, range, bound.low, bound.high, "");
  }
}

// The walkthrough's steps name servers by position: three first voters, two spares.
void validate_operations_walkthrough(Validator& validator, const Validator::Scope& scope, const proto::Scenario& scenario) {
  const proto::RaftKvWorkload& work = scenario.workload().raft_kv();
  if (work.initial_voters() > server_count(scenario)) {
    validator.error(scope, work, "initial_voters", "cannot exceed the servers of the topology");
  }
  if (!work.operations_walkthrough()) return;
  if (work.initial_voters() != 3 || server_count(scenario) < 5) {
    validator.error(scope, work, "operations_walkthrough", "needs initial_voters: 3 and at least five servers (two spares)");
  }
  if (work.groups() > 1 || work.membership_changes_per_minute() > 0 || work.leadership_transfers_per_minute() > 0) {
    validator.error(scope, work, "operations_walkthrough",
                    "runs alone: one group, no membership_changes_per_minute or leadership_transfers_per_minute");
  }
}

void validate_raft_kv_workload(Validator& validator, const Validator::Scope& workload, const proto::Scenario& scenario,
                               const std::set<std::string>& region_names) {
  const proto::RaftKvWorkload& work = scenario.workload().raft_kv();
  const Validator::Scope scope = validator.nested(workload, scenario.workload(), "raft_kv");
  if (work.clients() == 0 || work.clients() > kMaxClients) {
    validator.error(scope, work, "clients", "must be within [1, " + std::to_string(kMaxClients) + "]");
  }
  if (work.keys() == 0 || work.keys() > 100'000) validator.error(scope, work, "keys", "must be within [1, 100000]");
  double total = 0;
  for (const char* field : {"read_fraction", "lease_read_fraction", "stale_read_fraction", "cas_fraction",
                            "delete_fraction"}) {
    const auto* descriptor = work.GetDescriptor()->FindFieldByName(field);
    const double fraction = work.GetReflection()->GetDouble(work, descriptor);
    if (!(fraction >= 0 && fraction <= 1)) validator.error(scope, work, field, "a probability must be within [0, 1]");
    total += fraction;
  }
  if (total > 1 + 1e-9) validator.error(scope, work, "read_fraction", "the operation fractions add up to more than 1");
  validator.range(scope, work, "think_time_ms", work.think_time_ms(), 0.001, kMaxLatencyMs, "ms");
  if (!(work.request_timeout_ms() >= 1 && work.request_timeout_ms() <= kMaxLatencyMs)) {
    validator.error(scope, work, "request_timeout_ms", "must be within [1, 60000] ms");
  }
  if (work.groups() == 0 || work.groups() > 10000) validator.error(scope, work, "groups", "must be within [1, 10000]");
  if (work.value_bytes() > 4096) validator.error(scope, work, "value_bytes", "at most 4096 bytes");
  if (!work.client_region().empty() && region_names.count(work.client_region()) == 0) {
    validator.error(scope, work, "client_region", "no region named '" + work.client_region() + "'");
  }
  if (!(work.membership_changes_per_minute() >= 0 && work.membership_changes_per_minute() <= 600)) {
    validator.error(scope, work, "membership_changes_per_minute", "must be within [0, 600]");
  }
  if (!(work.leadership_transfers_per_minute() >= 0 && work.leadership_transfers_per_minute() <= 600)) {
    validator.error(scope, work, "leadership_transfers_per_minute", "must be within [0, 600]");
  }
  validate_knob_ranges(validator, scope, work);
  validate_operations_walkthrough(validator, scope, scenario);
  if (work.clients_stop_at_quiesce()) {
    for (int check : scenario.checks()) {
      if (check == proto::LIVENESS) {
        validator.error(scope, work, "clients_stop_at_quiesce",
                        "LIVENESS judges the clients of the quiesce phase, which this stops (REPLICAS_CATCH_UP "
                        "judges an idle cluster)");
      }
    }
  }
  const proto::RaftTuning& tuning = work.raft();
  const Validator::Scope raft = validator.nested(scope, work, "raft");
  if (!(tuning.tick_ms() >= 0.1 && tuning.tick_ms() <= 10'000)) validator.error(raft, tuning, "tick_ms", "must be within [0.1, 10000] ms");
  if (tuning.heartbeat_ticks() == 0 || tuning.election_ticks() <= tuning.heartbeat_ticks()) {
    validator.error(raft, tuning, "election_ticks", "must exceed heartbeat_ticks, which must be at least 1");
  }
  if (tuning.max_clock_drift_ticks() >= tuning.election_ticks()) {
    validator.error(raft, tuning, "max_clock_drift_ticks", "must be below election_ticks (the lease would be empty)");
  }
  if (tuning.max_inflight_appends() == 0) validator.error(raft, tuning, "max_inflight_appends", "must be at least 1");
  if (tuning.max_append_bytes() == 0) validator.error(raft, tuning, "max_append_bytes", "must be at least 1");
  if (tuning.max_append_bytes() > limits::kAppendBytesMax) {
    validator.error(raft, tuning, "max_append_bytes",
                    "must be at most " + std::to_string(limits::kAppendBytesMax) + " (an append must fit one message)");
  }
  if (tuning.compact_after_entries() == 0) validator.error(raft, tuning, "compact_after_entries", "must be at least 1");
  for (const proto::Fault& fault : scenario.faults().faults()) {
    if (fault.kind() == proto::NODE_WIPE) {
      validator.error(scope, work, "clients",
                      "NODE_WIPE is not supported with raft_kv: a replica that lost its disk must be replaced "
                      "through a membership change, which the simulator does not automate yet");
    }
  }
}

bool check_fits_workload(proto::Check check, const proto::Workload& workload) {
  switch (check) {
    case proto::OPERATIONS_COMPLETED: return workload.has_raft_kv() && workload.raft_kv().operations_walkthrough();
    case proto::STORAGE_INTEGRITY: return workload.has_storage();
    case proto::LINEARIZABLE:
    case proto::RAFT_SAFETY:
    case proto::REPLICAS_CATCH_UP:
    case proto::READ_YOUR_WRITES:
    case proto::MONOTONIC_READS: return workload.has_raft_kv();
    case proto::LIVENESS: return workload.has_register_() || workload.has_raft_kv();
    default: return workload.has_register_();
  }
}

void validate(Validator& validator, const proto::Scenario& scenario) {
  const Validator::Scope root = validator.root();
  if (scenario.name().empty()) validator.error(root, scenario, "name", "a scenario needs a name");

  const Validator::Scope topology = validator.nested(root, scenario, "topology");
  if (scenario.topology().regions_size() == 0) {
    validator.error(topology, scenario.topology(), "regions", "at least one region with nodes is required");
  }
  std::set<std::string> region_names;
  for (int i = 0; i < scenario.topology().regions_size(); ++i) {
    const proto::Region& region = scenario.topology().regions(i);
    const Validator::Scope scope = validator.nested(topology, scenario.topology(), "regions", i);
    if (region.name().empty()) validator.error(scope, region, "name", "every region needs a name");
    if (!region_names.insert(region.name()).second) {
      validator.error(scope, region, "name", "region '" + region.name() + "' is declared twice");
    }
  }
  const uint32_t servers = server_count(scenario);
  if (servers == 0 && scenario.topology().regions_size() > 0) {
    validator.error(topology, scenario.topology(), "regions", "the regions hold no nodes");
  }
  if (servers > kMaxNodes) {
    validator.error(topology, scenario.topology(), "regions", "at most " + std::to_string(kMaxNodes) + " nodes");
  }

  const Validator::Scope network = validator.nested(root, scenario, "network");
  validator.range(network, scenario.network(), "local_latency_ms", scenario.network().local_latency_ms(), 0,
                  kMaxLatencyMs, "ms");
  validator.range(network, scenario.network(), "wan_latency_ms", scenario.network().wan_latency_ms(), 0,
                  kMaxLatencyMs, "ms");
  if (scenario.network().mailbox_capacity() > 1'000'000) {
    validator.error(network, scenario.network(), "mailbox_capacity", "at most 1000000");
  }

  const Validator::Scope disk = validator.nested(root, scenario, "disk");
  for (const char* field : {"read_latency_ms", "write_latency_ms", "sync_latency_ms"}) {
    const auto* descriptor = scenario.disk().GetDescriptor()->FindFieldByName(field);
    const auto& value =
        static_cast<const proto::Range&>(scenario.disk().GetReflection()->GetMessage(scenario.disk(), descriptor));
    validator.range(disk, scenario.disk(), field, value, 0, kMaxLatencyMs, "ms");
  }
  const uint32_t sector = scenario.disk().sector_size();
  if (sector < 512 || sector > 65536 || (sector & (sector - 1)) != 0) {
    validator.error(disk, scenario.disk(), "sector_size", "must be a power of two from 512 to 65536");
  }

  const Validator::Scope workload = validator.nested(root, scenario, "workload");
  if (scenario.workload().has_register_()) {
    validate_register_workload(validator, workload, scenario, servers, region_names);
  } else if (scenario.workload().has_storage()) {
    validate_storage_workload(validator, workload, scenario);
  } else if (scenario.workload().has_raft_kv()) {
    validate_raft_kv_workload(validator, workload, scenario, region_names);
  } else {
    validator.error(workload, scenario.workload(), "register", "a workload is required: register, storage or raft_kv");
  }

  validate_faults(validator, root, scenario);

  if (!(scenario.duration_seconds() > 0 && scenario.duration_seconds() <= kMaxSeconds)) {
    validator.error(root, scenario, "duration_seconds", "must be within (0, 1000000] seconds");
  }
  if (!(scenario.quiesce_seconds() >= 0 && scenario.quiesce_seconds() <= kMaxSeconds)) {
    validator.error(root, scenario, "quiesce_seconds", "must be within [0, 1000000] seconds");
  }
  proto::Workload raft_kv_only;
  raft_kv_only.mutable_raft_kv();
  for (int i = 0; i < scenario.checks_size(); ++i) {
    if (scenario.checks(i) == proto::CHECK_UNSPECIFIED) validator.error(root, scenario, "checks", "unspecified check", i);
    const auto check = static_cast<proto::Check>(scenario.checks(i));
    if (check != proto::CHECK_UNSPECIFIED && !check_fits_workload(check, scenario.workload())) {
      validator.error(root, scenario, "checks",
                      check == proto::STORAGE_INTEGRITY ? "STORAGE_INTEGRITY judges the storage workload only"
                      : check == proto::LIVENESS ? "LIVENESS judges the register and raft_kv workloads only"
                      : check_fits_workload(check, raft_kv_only)
                          ? proto::Check_Name(check) + " judges the raft_kv workload only"
                          : proto::Check_Name(check) + " judges the register workload only",
                      i);
    }
    if ((check == proto::LIVENESS || check == proto::REPLICAS_CATCH_UP) && scenario.quiesce_seconds() <= 0) {
      validator.error(root, scenario, "checks", proto::Check_Name(check) + " needs a quiesce phase (quiesce_seconds > 0)", i);
    }
  }
  for (int i = 0; i < scenario.required_probes_size(); ++i) {
    if (!is_probe_name(scenario.required_probes(i))) {
      validator.error(root, scenario, "required_probes",
                      "'" + scenario.required_probes(i) + "' is not a probe name (docs/simulation.md lists them)", i);
    }
  }
}

std::string join_lines(const std::vector<std::string>& lines) {
  std::string text;
  for (const std::string& line : lines) {
    if (!text.empty()) text += '\n';
    text += line;
  }
  return text;
}

}  // namespace

uint32_t server_count(const proto::Scenario& scenario) {
  uint64_t count = 0;
  for (const proto::Region& region : scenario.topology().regions()) count += region.nodes();
  return static_cast<uint32_t>(std::min<uint64_t>(count, UINT32_MAX));
}

std::string check_name(proto::Check check) {
  std::string name = proto::Check_Name(check);
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
  return name;
}

void apply_defaults(proto::Scenario& scenario) {
  proto::NetworkModel& network = *scenario.mutable_network();
  set_range_if_unset(network.mutable_local_latency_ms(), 0.1, 1.0);
  set_range_if_unset(network.mutable_wan_latency_ms(), 20.0, 80.0);
  if (network.mailbox_capacity() == 0) network.set_mailbox_capacity(1024);
  proto::DiskModel& disk = *scenario.mutable_disk();
  set_range_if_unset(disk.mutable_read_latency_ms(), 0.05, 0.2);
  set_range_if_unset(disk.mutable_write_latency_ms(), 0.05, 0.2);
  set_range_if_unset(disk.mutable_sync_latency_ms(), 0.5, 3.0);
  if (disk.sector_size() == 0) disk.set_sector_size(512);
  if (scenario.workload().has_register_()) {
    proto::RegisterWorkload& work = *scenario.mutable_workload()->mutable_register_();
    set_range_if_unset(work.mutable_think_time_ms(), 10, 100);
    if (work.request_timeout_ms() == 0) work.set_request_timeout_ms(1000);
    if (work.value_bytes() == 0) work.set_value_bytes(16);
  }
  if (scenario.workload().has_raft_kv()) {
    proto::RaftKvWorkload& work = *scenario.mutable_workload()->mutable_raft_kv();
    set_range_if_unset(work.mutable_think_time_ms(), 5, 50);
    if (work.request_timeout_ms() == 0) work.set_request_timeout_ms(1000);
    if (work.keys() == 0) work.set_keys(4);
    if (work.groups() == 0) work.set_groups(1);
    if (work.value_bytes() == 0) work.set_value_bytes(16);
    proto::RaftTuning& tuning = *work.mutable_raft();
    if (tuning.tick_ms() == 0) tuning.set_tick_ms(10);
    if (tuning.election_ticks() == 0) tuning.set_election_ticks(10);
    if (tuning.heartbeat_ticks() == 0) tuning.set_heartbeat_ticks(2);
    if (tuning.max_clock_drift_ticks() == 0) tuning.set_max_clock_drift_ticks(2);
    if (tuning.compact_after_entries() == 0) tuning.set_compact_after_entries(4096);
    if (tuning.compaction_keep_entries() == 0) tuning.set_compaction_keep_entries(512);
    if (tuning.max_inflight_appends() == 0) tuning.set_max_inflight_appends(64);
    if (tuning.max_append_bytes() == 0) tuning.set_max_append_bytes(limits::kAppendBytesDefault);
  }
  if (scenario.workload().has_storage()) {
    proto::StorageWorkload& work = *scenario.mutable_workload()->mutable_storage();
    set_range_if_unset(work.mutable_think_time_ms(), 1, 10);
    if (work.max_mutations_per_batch() == 0) work.set_max_mutations_per_batch(8);
    if (work.keys() == 0) work.set_keys(64);
    if (work.max_value_bytes() == 0) work.set_max_value_bytes(512);
    if (work.wal_segment_bytes() == 0) work.set_wal_segment_bytes(64 * 1024);
  }
}

Result<proto::Scenario> parse_scenario(const std::string& text, const std::string& path) {
  proto::Scenario scenario;
  TextFormat::Parser parser;
  CollectingErrors errors(path);
  TextFormat::ParseInfoTree tree;
  parser.RecordErrorsTo(&errors);
  parser.WriteLocationsTo(&tree);
  if (!parser.ParseFromString(text, &scenario)) {
    std::vector<std::string> lines = errors.errors();
    if (lines.empty()) lines.push_back(path + ": not a valid scenario");
    return Status::invalid_argument(join_lines(lines));
  }
  apply_defaults(scenario);
  Validator validator(path, &tree);
  validate(validator, scenario);
  if (!validator.errors().empty()) return Status::invalid_argument(join_lines(validator.errors()));
  return scenario;
}

Result<proto::Scenario> load_scenario_file(const std::string& path) {
  // A directory opens as an empty stream on Linux, whose parse would list every missing field.
  if (std::error_code error; std::filesystem::is_directory(path, error)) {
    return Status::invalid_argument(path + ": is a directory; give a scenario file (.textproto) in it");
  }
  std::ifstream file(path, std::ios::binary);
  if (!file) return Status::not_found(path + ": cannot read the scenario file");
  std::ostringstream contents;
  contents << file.rdbuf();
  if (!file.good() && !file.eof()) return Status::io_error(path + ": error while reading");
  return parse_scenario(contents.str(), path);
}

}  // namespace cairn::sim
