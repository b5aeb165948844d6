// The virtual-time event loop (see simulator.h).
#include "sim/simulator.h"

#include "core/runtime/assert.h"
#include "sim/sim_network.h"
#include "sim/sim_node.h"

namespace cairn::sim {

Simulator::Simulator(uint64_t seed)
    : seed_(seed),
      scheduler_(Scheduler::Options{.order = Scheduler::Order::kRandom, .seed = derive_seed(seed, "scheduler")}),
      installation_(scheduler_),
      tiebreak_(derive_seed(seed, "tiebreak")),
      coverage_(derive_seed(seed, "buggify")) {}

Simulator::~Simulator() {
  // Unwind every node's fibers while the scheduler, the network and the disks still exist.
  for (auto& [id, node] : nodes_) node->shut_down();
  nodes_.clear();
  network_.reset();
}

TimerId Simulator::schedule(Duration delay, std::function<void()> callback) {
  return schedule_at(now_ + std::max<int64_t>(0, delay.count()), std::move(callback));
}

TimerId Simulator::schedule_at(int64_t at, std::function<void()> callback) {
  CAIRN_ASSERT(at >= now_, "scheduling an event in the past");
  return events_.add(at, tiebreak_.next_u64(), std::move(callback));
}

void Simulator::run_until(int64_t until) { run_until(until, nullptr); }

bool Simulator::run_until(int64_t until, const std::function<bool()>& done) {
  while (true) {
    scheduler_.run_until_idle();
    if (done && done()) return true;
    const auto next = events_.next_due();
    if (!next || *next > until) break;
    now_ = *next;
    std::function<void()> callback = events_.pop_due(now_);
    ++events_processed_;
    callback();
  }
  if (now_ < until) now_ = until;
  return done && done();
}

void Simulator::install_network(std::unique_ptr<SimNetwork> network) { network_ = std::move(network); }

SimNode& Simulator::add_node(std::unique_ptr<SimNode> node) {
  CAIRN_ASSERT(network_ != nullptr, "install the network before adding nodes");
  const NodeId id = node->node_id();
  CAIRN_ASSERT(nodes_.count(id) == 0, "node id " + std::to_string(id) + " used twice");
  SimNode& added = *node;
  nodes_.emplace(id, std::move(node));
  network_->add_node(id, added.region());
  return added;
}

SimNode* Simulator::find_node(NodeId id) {
  auto it = nodes_.find(id);
  return it == nodes_.end() ? nullptr : it->second.get();
}

void Simulator::count_fault(const std::string& kind, uint64_t node, uint64_t detail, std::string_view label) {
  CAIRN_ASSERT(!kind.empty(), "a fault has a kind");
  ++faults_[kind];
  // The label (a buggify site's name) is for the reader only: the hash folds the numbers alone.
  trace_.record(now_, TraceEvent::kFault, node, hash_text(kind), detail, 0,
                label.empty() ? kind : kind + " " + std::string(label));
}

}  // namespace cairn::sim
