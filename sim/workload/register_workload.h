// RegisterWorkload: the clients of the replicated register in a simulated run. Each client is
// its own simulated node (in the scenario's client region) running one fiber that loops: think,
// then read or write with a deadline, and record the operation in the shared history. Written
// data is unique per operation ("c1001-17-..."), so a checker can tell exactly which write a
// read returned.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/proto/scenario.pb.h"
#include "sim/simulator.h"
#include "sim/workload/register_history.h"

namespace cairn::sim {

class RegisterWorkload {
 public:
  static constexpr NodeId kFirstClientId = 1001;

  RegisterWorkload(Simulator& simulator, const proto::RegisterWorkload& config, std::vector<NodeId> servers);

  // Adds the client nodes to the simulator (call before start()).
  void add_clients(const std::string& region, const proto::DiskModel& disk);
  void start();
  // Stops every client; operations still in flight stay incomplete (their outcome unknown).
  void stop();

  const std::vector<NodeId>& client_ids() const { return client_ids_; }
  const RegisterHistory& history() const { return history_; }

 private:
  void run_client(Runtime& runtime);

  Simulator* simulator_;
  proto::RegisterWorkload config_;
  std::vector<NodeId> servers_;
  std::vector<NodeId> client_ids_;
  RegisterHistory history_;
};

}  // namespace cairn::sim
