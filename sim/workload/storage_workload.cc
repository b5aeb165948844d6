// The storage workload: recover, write, read back, and judge (see storage_workload.h).
#include "sim/workload/storage_workload.h"

#include <algorithm>

#include "core/runtime/event.h"
#include "storage/kv/kv_engine.h"
#include "storage/kv/reference_kv_store.h"
#include "storage/wal/write_ahead_log.h"
#include "sim/fault_plan.h"
#include "sim/workload/storage_batches.h"

namespace cairn::sim {
namespace {

constexpr std::size_t kKeySamplesAtRecovery = 8;
// A small page cache, so that reads really go to the (faulty) disk.
constexpr int kEngineCacheKibibytes = 64;
constexpr uint64_t kGarbageCollectionLag = 20;  // versions older than this many batches go

std::span<const std::byte> bytes_of(const std::string& text) { return as_bytes(text); }

}  // namespace

void StorageOutcomes::add(const StorageOutcomes& other) {
  batches_logged += other.batches_logged;
  batches_applied += other.batches_applied;
  batches_replayed += other.batches_replayed;
  write_errors += other.write_errors;
  reads_verified += other.reads_verified;
  read_errors += other.read_errors;
  recoveries += other.recoveries;
  torn_tails_reported += other.torn_tails_reported;
  recoveries_refused += other.recoveries_refused;
  acknowledged_loss_reported += other.acknowledged_loss_reported;
  violation_count += other.violation_count;
  for (const std::string& violation : other.violations) {
    if (violations.size() < kMaxViolations) violations.push_back(violation);
  }
}

std::map<std::string, uint64_t> StorageOutcomes::counters() const {
  return {{"batches_logged", batches_logged},
          {"batches_applied", batches_applied},
          {"batches_replayed", batches_replayed},
          {"write_errors", write_errors},
          {"reads_verified", reads_verified},
          {"read_errors", read_errors},
          {"recoveries", recoveries},
          {"torn_tails_reported", torn_tails_reported},
          {"recoveries_refused", recoveries_refused},
          {"acknowledged_loss_reported", acknowledged_loss_reported},
          {"violations", violation_count}};
}

// What a server's storage must hold, kept outside its process so that it survives crashes.
struct StorageWorkload::NodeState {
  NodeState(uint64_t seed, NodeId node, const proto::StorageWorkload& config, bool corruptible)
      : batches(seed, node, config), corruption_possible(corruptible) {}

  StorageBatches batches;
  bool corruption_possible;  // this run's faults may corrupt data on this server's disk
  uint64_t acknowledged_in_log = 0;
  uint64_t acknowledged_in_engine = 0;
  storage::Timestamp highest_watermark_requested = 0;
  bool stopped = false;  // a recovery refused to open: the server waits for repair
  StorageOutcomes outcomes;
  // The model of the engine's contents as of `model_index` (garbage collection aside: reads
  // are only made at or above every watermark ever requested, where it changes nothing).
  storage::ReferenceKvStore model;
  uint64_t model_index = 0;

  storage::ReferenceKvStore& model_at(uint64_t index) {
    if (model_index > index) {
      model = storage::ReferenceKvStore();
      model_index = 0;
    }
    for (; model_index < index; ++model_index) {
      Status applied = model.apply(batches.batch(model_index + 1));
      CAIRN_ASSERT(applied.ok(), "the model refused a generated batch: " + applied.to_string());
    }
    return model;
  }

  void violation(std::string what) {
    ++outcomes.violation_count;
    if (outcomes.violations.size() < StorageOutcomes::kMaxViolations) outcomes.violations.push_back(std::move(what));
  }
};

namespace {

// One incarnation's use of the storage: from opening it to the first write error.
class StorageSession {
 public:
  StorageSession(Runtime& runtime, StorageWorkload::NodeState& state, const proto::StorageWorkload& config)
      : runtime_(runtime), state_(state), config_(config) {}

  // Returns when the storage must be reopened (a write failed) or the server must stop.
  void run() {
    if (!recover()) return;
    while (true) {
      runtime_.sleep(draw_milliseconds(runtime_.random(), config_.think_time_ms()));
      if (runtime_.random().chance(config_.read_fraction())) {
        read_back();
      } else if (!write_next()) {
        return;
      }
    }
  }

 private:
  // Every error the storage reports passes here: a corruption on a disk that cannot corrupt
  // anything in this run is a false alarm, and that is a bug too.
  void observe(const Status& error) {
    if (error.code() == StatusCode::kCorruption && !state_.corruption_possible) {
      state_.violation("node " + std::to_string(runtime_.node_id()) +
                       ": corruption reported although no fault of this run can corrupt data: " + error.to_string());
    }
  }

  // A write failed: reported, so the storage is closed and reopened. Returns false.
  bool write_failed(const Status& error) {
    observe(error);
    ++state_.outcomes.write_errors;
    return false;
  }

  // Stops the server: its storage cannot be trusted until replication repairs it. Returns false.
  bool refuse(const std::string& what, const Status& status) {
    observe(status);
    ++state_.outcomes.recoveries_refused;
    state_.stopped = true;
    runtime_.logger().log(LogLevel::kWarning, "storage", "recovery refused: " + what, {{"error", status.to_string()}});
    return false;
  }

  std::string where(uint64_t index) const {
    return "node " + std::to_string(runtime_.node_id()) + " index " + std::to_string(index);
  }

  bool recover() {
    storage::KvEngineOptions engine_options;
    engine_options.cache_kibibytes = kEngineCacheKibibytes;
    WalOptions log_options;
    log_options.max_segment_bytes = config_.wal_segment_bytes();
    auto log = WriteAheadLog::open_log(runtime_, log_options);
    if (!log.ok()) return refuse("write-ahead log", log.status());
    log_ = std::move(*log);
    const WalRecoveryReport& report = log_->recovery_report();
    if (report.torn_tail) ++state_.outcomes.torn_tails_reported;
    if (log_->last_index() < state_.acknowledged_in_log) {
      if (report.torn_tail) {
        ++state_.outcomes.acknowledged_loss_reported;
        // Each append here is a batch of its own, synced and read back before the next is
        // written, so a damaged batch that is not the last has a later one that vouches for it
        // (wal_format.h): only the last acknowledged record can pass for a torn tail.
        if (log_->last_index() + 1 < state_.acknowledged_in_log) {
          state_.violation(where(log_->last_index()) + ": a torn tail took acknowledged records " +
                           std::to_string(log_->last_index() + 1) + ".." + std::to_string(state_.acknowledged_in_log) +
                           ", more than the last batch: " + report.summary());
          return refuse("a torn tail took vouched records", Status::internal("violation"));
        }
        return refuse("acknowledged log records were cut off as a torn tail", Status::corruption(report.summary()));
      }
      state_.violation(where(log_->last_index()) + ": the log lost acknowledged records up to " +
                       std::to_string(state_.acknowledged_in_log) + " without reporting it");
      return refuse("log lost acknowledged records", Status::internal("violation"));
    }
    auto engine = storage::KvEngine::open_engine(runtime_, engine_options);
    if (!engine.ok()) return refuse("key-value engine", engine.status());
    engine_ = std::move(*engine);
    Result<uint64_t> held = StorageBatches::applied_index(*engine_);
    if (!held.ok()) return refuse("key-value engine's applied index", held.status());
    applied_in_engine_ = *held;
    const uint64_t applied = applied_in_engine_;
    if (applied < state_.acknowledged_in_engine) {
      state_.violation(where(applied) + ": the engine lost acknowledged batches up to " +
                       std::to_string(state_.acknowledged_in_engine));
      return refuse("engine lost acknowledged batches", Status::internal("violation"));
    }
    if (applied > log_->last_index() || applied + 1 < log_->first_index()) {
      state_.violation(where(applied) + ": the engine's applied index is outside the log " +
                       std::to_string(log_->first_index()) + ".." + std::to_string(log_->last_index()));
      return refuse("engine and log disagree", Status::internal("violation"));
    }
    if (!verify_log()) return false;
    if (!replay()) return false;
    verify_engine_samples();
    ++state_.outcomes.recoveries;
    return true;
  }

  // Reads back every record of the log (compaction keeps it short); a record that cannot be
  // read is reported, not fatal.
  bool verify_log() {
    for (uint64_t index = log_->first_index(); index <= log_->last_index(); ++index) check_log_record(index);
    return state_.outcomes.violation_count == 0 || refuse("log verification", Status::internal("violation"));
  }

  // Returns whether the record was read and matched.
  bool check_log_record(uint64_t index) {
    Result<WalRecord> record = log_->read(index);
    if (!record.ok()) {
      observe(record.status());
      ++state_.outcomes.read_errors;
      return false;
    }
    const std::string expected = state_.batches.payload(index);
    const std::span<const std::byte> want = bytes_of(expected);
    if (record->index != index || record->type != kWalRecordEntry ||
        !std::equal(record->payload.begin(), record->payload.end(), want.begin(), want.end())) {
      state_.violation(where(index) + ": the log returned a record that differs from the one appended");
      return false;
    }
    ++state_.outcomes.reads_verified;
    return true;
  }

  // Applies the log records the engine has not applied yet, as Raft does after a restart.
  bool replay() {
    for (uint64_t index = applied_in_engine_ + 1; index <= log_->last_index(); ++index) {
      if (!check_log_record(index)) {
        if (state_.outcomes.violation_count > 0) return refuse("replay", Status::internal("violation"));
        return refuse("a log record needed for replay cannot be read", Status::io_error(where(index)));
      }
      Status applied = engine_->apply(state_.batches.batch(index));
      if (!applied.ok()) return write_failed(applied);
      applied_in_engine_ = index;
      state_.acknowledged_in_engine = index;
      ++state_.outcomes.batches_replayed;
    }
    return true;
  }

  // The whole key space at the applied index, then single keys at older timestamps.
  void verify_engine_samples() {
    check_engine_scan(applied_in_engine_);
    for (std::size_t i = 0; i < kKeySamplesAtRecovery; ++i) check_engine_read();
  }

  void check_engine_scan(storage::Timestamp read_at) {
    const uint64_t applied = applied_in_engine_;
    if (read_at < std::max<storage::Timestamp>(state_.highest_watermark_requested, 1)) return;
    storage::ScanOptions everything;
    everything.read_timestamp = read_at;
    everything.limit = limits::kScanRowsMax;
    Result<std::vector<storage::KvPair>> found = engine_->scan(everything);
    if (!found.ok()) {
      observe(found.status());
      ++state_.outcomes.read_errors;
      return;
    }
    Result<std::vector<storage::KvPair>> expected = state_.model_at(applied).scan(everything);
    if (!expected.ok() || *expected != *found) {
      state_.violation(where(applied) + ": a scan at timestamp " + std::to_string(read_at) +
                       " differs from what was applied");
      return;
    }
    ++state_.outcomes.reads_verified;
  }

  void check_engine_read() {
    const uint64_t applied = applied_in_engine_;
    const storage::Timestamp low = std::max<storage::Timestamp>(state_.highest_watermark_requested, 1);
    const storage::Timestamp read_at = low + runtime_.random().uniform(applied + 3 - std::min(applied, low));
    const std::string key = state_.batches.key(runtime_.random().uniform(config_.keys()));
    Result<std::optional<std::string>> found = engine_->get(key, read_at);
    if (!found.ok()) {
      observe(found.status());
      ++state_.outcomes.read_errors;
      return;
    }
    Result<std::optional<std::string>> expected = state_.model_at(applied).get(key, read_at);
    if (!expected.ok() || *expected != *found) {
      state_.violation(where(applied) + ": key '" + key + "' at timestamp " + std::to_string(read_at) +
                       " reads differently from what was applied");
      return;
    }
    ++state_.outcomes.reads_verified;
  }

  void read_back() {
    if (runtime_.random().chance(0.5) && log_->last_index() >= log_->first_index()) {
      const uint64_t span = log_->last_index() - log_->first_index() + 1;
      check_log_record(log_->first_index() + runtime_.random().uniform(span));
    } else if (runtime_.random().chance(0.9)) {
      check_engine_read();
    } else {
      check_engine_scan(applied_in_engine_);
    }
  }

  bool write_next() {
    const uint64_t index = log_->last_index() + 1;
    const std::string payload = state_.batches.payload(index);
    Result<uint64_t> appended = log_->append(kWalRecordEntry, bytes_of(payload));
    if (!appended.ok()) return write_failed(appended.status());
    if (*appended != index) {
      state_.violation(where(index) + ": the log assigned index " + std::to_string(*appended));
      return false;
    }
    state_.acknowledged_in_log = index;
    ++state_.outcomes.batches_logged;
    Status applied = engine_->apply(state_.batches.batch(index));
    if (!applied.ok()) return write_failed(applied);
    applied_in_engine_ = index;
    state_.acknowledged_in_engine = index;
    ++state_.outcomes.batches_applied;
    if (config_.gc_every_batches() != 0 && index % config_.gc_every_batches() == 0) return compact(index);
    return true;
  }

  // Garbage-collects old versions and drops log segments the engine has applied.
  bool compact(uint64_t index) {
    if (index > kGarbageCollectionLag) {
      const storage::Timestamp watermark = index - kGarbageCollectionLag;
      state_.highest_watermark_requested = std::max(state_.highest_watermark_requested, watermark);
      // In steps, as a replica collects: a crash may strike between two of them.
      constexpr uint64_t kVersionsPerStep = 64;
      while (true) {
        Result<uint64_t> dropped = engine_->collect_garbage(storage::KeySpan{}, watermark, kVersionsPerStep);
        if (!dropped.ok()) return write_failed(dropped.status());
        if (*dropped < kVersionsPerStep) break;
      }
    }
    if (Status removed = log_->remove_before(applied_in_engine_); !removed.ok()) return write_failed(removed);
    return true;
  }

  Runtime& runtime_;
  StorageWorkload::NodeState& state_;
  const proto::StorageWorkload& config_;
  // Declared so that the engine closes before the log.
  std::unique_ptr<WriteAheadLog> log_;
  std::unique_ptr<storage::KvEngine> engine_;
  uint64_t applied_in_engine_ = 0;  // the last batch the engine holds
};

}  // namespace

StorageWorkload::StorageWorkload(Simulator& simulator, const proto::StorageWorkload& config, std::vector<NodeId> servers,
                                 std::set<NodeId> corruptible)
    : simulator_(&simulator), config_(config), servers_(std::move(servers)) {
  for (NodeId node : servers_) {
    nodes_[node] = std::make_unique<NodeState>(simulator.seed(), node, config_, corruptible.count(node) != 0);
  }
}

StorageWorkload::~StorageWorkload() = default;

BootFunction StorageWorkload::boot_function() {
  return [this](Runtime& runtime, const BootContext&) { run_node(runtime); };
}

void StorageWorkload::run_node(Runtime& runtime) {
  NodeState& state = *nodes_.at(runtime.node_id());
  while (!state.stopped) {
    {
      StorageSession session(runtime, state, config_);
      session.run();
    }
    if (!state.stopped) runtime.sleep(milliseconds(10));  // then reopen, as a restarted server would
  }
  Event repaired;  // never: repair from peers is replication's job
  repaired.wait();
}

StorageOutcomes StorageWorkload::outcomes() const {
  StorageOutcomes total;
  for (const auto& [node, state] : nodes_) total.add(state->outcomes);
  return total;
}

CheckOutcome StorageWorkload::check_integrity() const {
  const StorageOutcomes total = outcomes();
  CheckOutcome outcome{.check = proto::STORAGE_INTEGRITY, .passed = total.violation_count == 0, .detail = {}};
  for (const std::string& violation : total.violations) {
    if (!outcome.detail.empty()) outcome.detail += "; ";
    outcome.detail += violation;
  }
  if (total.violation_count > total.violations.size()) {
    outcome.detail += " (and " + std::to_string(total.violation_count - total.violations.size()) + " more)";
  }
  return outcome;
}

}  // namespace cairn::sim
