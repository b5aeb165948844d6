// The storage fault matrix, in the manner of the FAST'17 study "Redundancy Does Not Imply Fault
// Tolerance": every file the storage stack writes, crossed with every disk fault, each cell run
// over a range of seeds of a storage scenario with only that fault (aimed at only that file)
// plus crashes. Each seed's outcome is one of:
//   clean     no fault surfaced: every read and recovery gave the acknowledged data;
//   detected  the fault surfaced as a reported error (a failed write, a failed read, a refused or
//             torn-tail recovery) and nothing wrong was ever served;
//   wrong     STORAGE_INTEGRITY failed: wrong or silently lost data;
//   crashed   the simulator process died or hung.
// The promise is that `wrong` and `crashed` stay at zero. `cairn-sim matrix` prints it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/proto/scenario.pb.h"
#include "core/runtime/status.h"
#include "sim/sweep.h"

namespace cairn::sim {

struct FaultMatrixCell {
  std::string target;        // a file or "dir/"; empty for faults that hit every file at once
  std::string fault;         // e.g. "disk_bit_flip", or "lost_unsynced_write"
  uint64_t seeds = 0;
  uint64_t faults_injected = 0;
  uint64_t clean = 0;
  uint64_t detected = 0;
  uint64_t wrong = 0;
  uint64_t crashed = 0;
  std::vector<std::string> failures;  // wrong and crashed seeds (a few), with why
  proto::Scenario scenario;           // what the cell ran: replay a failing seed with it
};

struct FaultMatrixOptions {
  uint64_t first_seed = 1;
  uint64_t last_seed = 100;
  unsigned jobs = 1;
  unsigned seed_time_limit_seconds = 600;
};

// The scenario must use the storage workload and list NODE_CRASH among its faults; each disk
// fault it lists lends its rate range to that fault's cells (others use a default).
Result<std::vector<FaultMatrixCell>> run_fault_matrix(const proto::Scenario& scenario, const FaultMatrixOptions& options);

// A Markdown table of the cells and their totals.
std::string format_fault_matrix(const std::vector<FaultMatrixCell>& cells);

}  // namespace cairn::sim
