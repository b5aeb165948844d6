// Register clients that record a history (see register_workload.h).
#include "sim/workload/register_workload.h"

#include "core/runtime/event.h"
#include "sim/fault_plan.h"
#include "sim/sim_node.h"

namespace cairn::sim {

RegisterWorkload::RegisterWorkload(Simulator& simulator, const proto::RegisterWorkload& config,
                                   std::vector<NodeId> servers)
    : simulator_(&simulator), config_(config), servers_(std::move(servers)) {}

void RegisterWorkload::add_clients(const std::string& region, const proto::DiskModel& disk) {
  for (uint32_t i = 0; i < config_.clients(); ++i) {
    const NodeId id = kFirstClientId + i;
    add_program_node(*simulator_, id, region, disk, [this](Runtime& runtime) { run_client(runtime); });
    client_ids_.push_back(id);
  }
}

void RegisterWorkload::start() {
  for (NodeId id : client_ids_) simulator_->find_node(id)->start();
}

void RegisterWorkload::stop() {
  for (NodeId id : client_ids_) simulator_->find_node(id)->shut_down();
}

void RegisterWorkload::run_client(Runtime& runtime) {
  RegisterClient::Options options;
  options.replicas = servers_;
  options.writer_id = runtime.node_id();
  options.read_quorum = config_.read_quorum();
  options.write_quorum = config_.write_quorum();
  auto created = RegisterClient::create(runtime, options);
  CAIRN_ASSERT(created.ok(), created.status().to_string());
  std::unique_ptr<RegisterClient> client = std::move(created).value();
  Random& random = runtime.random();
  const Duration deadline = Duration{static_cast<int64_t>(config_.request_timeout_ms() * 1e6)};
  uint64_t operation_number = 0;
  while (true) {
    runtime.sleep(draw_milliseconds(random, config_.think_time_ms()));
    const bool write = random.chance(config_.write_fraction());
    const std::size_t index = history_.size();
    RegisterOperation operation;
    operation.client = runtime.node_id();
    operation.write = write;
    operation.invoked_at = simulator_->now();
    if (write) {
      std::string data = "c" + std::to_string(runtime.node_id()) + "-" + std::to_string(++operation_number) + "-";
      while (data.size() < config_.value_bytes()) data += static_cast<char>('a' + random.uniform(26));
      operation.written_data = data;
    }
    history_.push_back(operation);
    simulator_->trace().record(simulator_->now(), TraceEvent::kClientInvoke, runtime.node_id(), index, write);

    RegisterResult result = write ? client->write(history_[index].written_data, deadline) : client->read(deadline);

    RegisterOperation& done = history_[index];
    done.completed_at = simulator_->now();
    done.outcome = result.outcome;
    done.value = result.value;
    simulator_->trace().record(simulator_->now(), TraceEvent::kClientComplete, runtime.node_id(), index,
                               static_cast<uint64_t>(result.outcome), result.value.sequence());
  }
}

}  // namespace cairn::sim
