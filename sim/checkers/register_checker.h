// Checks that decide whether a register run passed. Each takes the recorded history (and, for
// durability, what each server's disk would hold after a crash) and returns pass or fail with
// an explanation naming the operations involved.
//
//  acknowledged_writes_durable   if every server crashed now and restarted from its disk, every
//                                read quorum would still see the newest value a client was told
//                                about (by an acknowledged write or a successful read);
//  reads_see_acknowledged_writes a read that started after an operation completed returns that
//                                operation's value or a newer one (real-time order);
//  reads_return_written_values   every value read was written by some client (or is the initial
//                                empty value): nothing is invented or corrupted;
//  liveness                      in the second half of the quiesce phase, every client
//                                completes at least one operation successfully.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/proto/scenario.pb.h"
#include "sim/workload/register_history.h"

namespace cairn::sim {

struct CheckOutcome {
  proto::Check check = proto::CHECK_UNSPECIFIED;
  bool passed = false;
  std::string detail;  // why it failed (empty when it passed)
};

struct RegisterCheckInput {
  const RegisterHistory* history = nullptr;
  // Per server: the durable image of its register file (nullopt: no such file on the medium).
  std::vector<std::optional<std::vector<std::byte>>> durable_register_files;
  std::vector<NodeId> clients;
  int64_t quiesce_started_at = 0;
  int64_t ended_at = 0;
};

CheckOutcome check_acknowledged_writes_durable(const RegisterCheckInput& input);
CheckOutcome check_reads_see_acknowledged_writes(const RegisterHistory& history);
CheckOutcome check_reads_return_written_values(const RegisterHistory& history);
CheckOutcome check_liveness(const RegisterCheckInput& input);

// Runs the listed checks in order.
std::vector<CheckOutcome> run_register_checks(const std::vector<proto::Check>& checks, const RegisterCheckInput& input);

}  // namespace cairn::sim
