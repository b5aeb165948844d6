// Applier: the Store's apply fiber. The Store's loop hands it the committed entries of every
// range (and the snapshots to export), in order, and goes on persisting and sending while they
// are applied: applying never holds up the Raft loop (a long batch once cost a leader its
// leadership, regressions/raft_kv_snapshots_long_garbage_collection). Jobs run one at a time in
// the order submitted, so a range's batches apply in log order.
//
// What it did goes back as reports, which the loop takes after an ApplierWake in its inbox:
//  - applied: a range's entries and their results (the loop answers proposals and tells Raft
//    how far the range applied, Raft::applied_to);
//  - exported: a snapshot of a range captured now, described by the state machine's own
//    metadata, which may be later than the index Raft asked for (ready.h allows it: the data and
//    its description agree, and both are committed);
//  - durable: the applied index of each range as of the engine's last sync (the log may be
//    compacted only below it).
//
// Durability: the state machines apply without a sync each (storage/kv/kv_engine.h); the
// engine is synced when a state machine asks and when the loop submits a sync (every
// StoreOptions::engine_sync_interval that follows applies). An error applying or syncing fails the applier, and the Store
// with it: its state machines may be between batches that a restart recovers.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/node/raft_observer.h"
#include "core/node/store_inbox.h"
#include "core/node/state_machine.h"
#include "core/runtime/runtime.h"
#include "core/runtime/wait_list.h"

namespace cairn::node {

struct ApplyJob {
  enum class Kind : uint8_t { kApply, kExport, kSync };
  Kind kind = Kind::kApply;
  RangeId range = 0;
  std::shared_ptr<node::StateMachine> state_machine = nullptr;  // kApply, kExport
  std::vector<proto::RaftEntry> entries = {};                       // kApply: committed, in order
  proto::RaftMembership membership_after = {};                      // kApply
  proto::RaftMessage snapshot_message = {};                         // kExport: the RAFT_SNAPSHOT to send
  std::size_t chunk_bytes = 0;                                      // kExport
};

struct ApplierReport {
  enum class Kind : uint8_t { kApplied, kExported, kDurable };
  Kind kind = Kind::kApplied;
  RangeId range = 0;
  // kApplied: the entries applied and one result each.
  std::vector<proto::RaftEntry> entries = {};
  std::vector<std::string> results = {};
  // kExported: the message with the snapshot's own description, and its chunks (or the error).
  proto::RaftMessage snapshot_message = {};
  Result<std::vector<std::string>> chunks = std::vector<std::string>{};
  // kDurable: each range's applied index as of the sync.
  std::map<RangeId, uint64_t> durable_applied = {};
};

class Applier {
 public:
  // `sync` makes every state machine's applies durable (the shared engine's sync); the wake-ups
  // go to `inbox`.
  // `observer` (may be null) hears of every entry as it is applied.
  Applier(Runtime& runtime, std::function<Status()> sync, StoreInbox& inbox, RaftObserver* observer);
  Applier(const Applier&) = delete;
  Applier& operator=(const Applier&) = delete;

  // From the loop; never blocks. The loop bounds what it submits by queued_bytes().
  void submit(ApplyJob job);
  std::vector<ApplierReport> take_reports();
  // Blocks the calling fiber until every submitted job is done (or the applier failed).
  void wait_idle();
  bool idle() const { return jobs_.empty() && !running_; }
  // Bytes of entry data submitted and not yet applied.
  std::size_t queued_bytes() const { return queued_bytes_; }
  const Status& failed() const { return failure_; }

  // The apply fiber's body: returns once the applier failed (or is cancelled with its fiber).
  void run();

 private:
  Status perform(ApplyJob& job);
  Status apply(ApplyJob& job);
  Status export_snapshot(ApplyJob& job);
  Status sync();
  void report(ApplierReport report);

  Runtime* runtime_;
  std::function<Status()> sync_;
  StoreInbox* inbox_;
  RaftObserver* observer_;
  std::deque<ApplyJob> jobs_;
  std::vector<ApplierReport> reports_;
  std::size_t queued_bytes_ = 0;
  bool running_ = false;  // a job taken and not finished
  // Each range's last applied index since the last sync: durable at the next one.
  std::map<RangeId, uint64_t> applied_since_sync_;
  Status failure_;
  WaitList work_;
  WaitList idle_;
};

}  // namespace cairn::node
