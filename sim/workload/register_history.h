// The history of a register workload: every operation a client invoked, with when it started,
// when (and whether) it completed, and what it read or wrote. Checkers judge a run from this
// history alone, as Jepsen does, never from the nodes' internals.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/proto/register.pb.h"
#include "core/register/register_client.h"

namespace cairn::sim {

struct RegisterOperation {
  uint64_t client = 0;
  bool write = false;
  int64_t invoked_at = 0;     // global virtual nanoseconds
  int64_t completed_at = -1;  // -1: still in flight when the run ended (outcome unknown)
  OperationOutcome outcome = OperationOutcome::kUnknown;
  std::string written_data;   // writes: the data the client tried to write
  proto::RegisterValue value; // ok reads: the value read; completed writes: the version written

  bool completed() const { return completed_at >= 0; }
  bool ok() const { return completed() && outcome == OperationOutcome::kOk; }
};

using RegisterHistory = std::vector<RegisterOperation>;

}  // namespace cairn::sim
