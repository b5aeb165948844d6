// StorageWorkload: every server runs the storage stack alone, the way one Raft replica uses it,
// while crashes and disk faults hit it — and checks that what comes back is what was
// acknowledged, or a reported error.
//
// A server's process loops:
//  - recover: open the write-ahead log (storage/wal) and the key-value engine (storage/kv); check
//    that nothing acknowledged is missing; replay log records the engine has not applied yet;
//  - write: append batch n to the log (acknowledged when the append returns), apply it to the
//    engine with applied index n (acknowledged when apply returns); now and then collect old
//    versions and drop log segments the engine no longer needs;
//  - read back: a log record or a key at a timestamp, compared with the model.
// A write error (a failed fsync, a full disk) makes the process close and reopen its storage, as
// a real server restarts. A recovery that refuses to open (corruption, a read error, an
// acknowledged log suffix lost and reported) stops the server: repairing it is the job of
// replication, not of this layer.
//
// What must come back is known without keeping a copy: batch n is a pure function of (seed,
// node, n) (storage_batches.h). Every disagreement that was not reported as an error is a
// violation — wrong data — and fails the STORAGE_INTEGRITY check.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/proto/scenario.pb.h"
#include "sim/checkers/register_checker.h"
#include "sim/sim_node.h"
#include "sim/simulator.h"

namespace cairn::sim {

struct StorageOutcomes {
  uint64_t batches_logged = 0;          // log appends acknowledged
  uint64_t batches_applied = 0;         // engine applies acknowledged
  uint64_t batches_replayed = 0;        // log records applied to the engine after a restart
  uint64_t write_errors = 0;            // appends, applies and collections that failed (reported)
  uint64_t reads_verified = 0;          // reads that returned exactly the expected data
  uint64_t read_errors = 0;             // reads that failed with an error (detected)
  uint64_t recoveries = 0;              // storage opened and verified after a start or reopen
  uint64_t torn_tails_reported = 0;     // log recoveries that cut off a torn tail
  uint64_t recoveries_refused = 0;      // opens that failed with a detected error
  uint64_t acknowledged_loss_reported = 0;  // ...of which: an acknowledged log suffix was cut off
  std::vector<std::string> violations;  // wrong data (at most kMaxViolations kept)
  uint64_t violation_count = 0;

  static constexpr std::size_t kMaxViolations = 20;
  void add(const StorageOutcomes& other);
  // Named counters for reports.
  std::map<std::string, uint64_t> counters() const;
};

class StorageWorkload {
 public:
  // `corruptible` lists the servers whose disks may corrupt data in this run (bit flips,
  // misdirected writes): anywhere else, a reported corruption is itself a bug (a false alarm).
  StorageWorkload(Simulator& simulator, const proto::StorageWorkload& config, std::vector<NodeId> servers,
                  std::set<NodeId> corruptible);
  ~StorageWorkload();

  // What each server's process runs.
  BootFunction boot_function();
  // Summed over the servers.
  StorageOutcomes outcomes() const;
  CheckOutcome check_integrity() const;

  struct NodeState;  // what one server's storage must hold (storage_workload.cc)

 private:
  void run_node(Runtime& runtime);

  Simulator* simulator_;
  proto::StorageWorkload config_;
  std::vector<NodeId> servers_;
  std::map<NodeId, std::unique_ptr<NodeState>> nodes_;
};

}  // namespace cairn::sim
