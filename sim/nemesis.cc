// Episodic fault injection and healing (see nemesis.h).
#include "sim/nemesis.h"

#include <algorithm>
#include <cmath>
#include <tuple>

#include "sim/sim_node.h"

namespace cairn::sim {
namespace {
constexpr proto::FaultKind kEpisodeKinds[] = {
    proto::PARTITION_SYMMETRIC, proto::PARTITION_ASYMMETRIC, proto::PARTITION_ISOLATE_NODE,
    proto::PARTITION_MAJORITY_MINORITY, proto::CLOG_LINK, proto::CLOG_NODE, proto::NODE_CRASH,
    proto::NODE_PAUSE, proto::NODE_WIPE, proto::CLOCK_STEP,
};
}  // namespace

Nemesis::Nemesis(Simulator& simulator, const FaultPlan& plan, std::vector<NodeId> servers, std::vector<NodeId> clients)
    : simulator_(&simulator),
      plan_(&plan),
      servers_(std::move(servers)),
      clients_(std::move(clients)),
      random_(simulator.stream("nemesis")) {}

void Nemesis::apply_clock_faults() {
  for (NodeId server : servers_) {
    SimNode* node = simulator_->find_node(server);
    if (const ActiveFault* offset = plan_->find(proto::CLOCK_OFFSET)) {
      node->clock().set_offset(draw_milliseconds(random_, offset->magnitude));
      simulator_->count_fault("clock_offset", server);
    }
    if (const ActiveFault* drift = plan_->find(proto::CLOCK_DRIFT)) {
      node->clock().set_drift_ppm(draw(random_, drift->magnitude), simulator_->now());
      simulator_->count_fault("clock_drift", server);
    }
  }
}

void Nemesis::start(int64_t until) {
  until_ = until;
  for (proto::FaultKind kind : kEpisodeKinds) {
    if (plan_->rate(kind) > 0) schedule_next(kind);
  }
}

void Nemesis::schedule_next(proto::FaultKind kind) {
  // In floating point: a tiny rate means a wait far beyond any int64 of nanoseconds.
  const double mean_seconds = 60.0 / plan_->rate(kind);
  const double wait_seconds = -std::log(1.0 - random_.uniform_double()) * mean_seconds;
  const double remaining_seconds = static_cast<double>(until_ - simulator_->now()) / 1e9;
  if (!(wait_seconds < remaining_seconds)) return;
  const Duration wait{static_cast<int64_t>(wait_seconds * 1e9)};
  schedule_tracked(wait, [this, kind] {
    if (healed_) return;
    begin_episode(kind);
    schedule_next(kind);
  });
}

void Nemesis::schedule_tracked(Duration delay, std::function<void()> action) {
  auto id = std::make_shared<TimerId>(0);
  *id = simulator_->schedule(delay, [this, id, action = std::move(action)] {
    pending_.erase(*id);
    action();
  });
  pending_.insert(*id);
}

void Nemesis::end_network_episode_after(Duration duration, proto::FaultKind kind, std::function<void()> end) {
  schedule_tracked(duration, [this, kind, end = std::move(end)] {
    end();
    simulator_->trace().record(simulator_->now(), TraceEvent::kHeal, 0, hash_text(fault_kind_name(kind)));
  });
}

std::vector<NodeId> Nemesis::up_servers() const {
  std::vector<NodeId> up;
  for (NodeId server : servers_) {
    if (down_.count(server) == 0 && paused_.count(server) == 0) up.push_back(server);
  }
  return up;
}

std::pair<std::vector<NodeId>, std::vector<NodeId>> Nemesis::split(std::size_t first_size) {
  std::vector<NodeId> shuffled = servers_;
  for (std::size_t i = shuffled.size(); i > 1; --i) std::swap(shuffled[i - 1], shuffled[random_.uniform(i)]);
  if (first_size == 0) first_size = 1 + random_.uniform(shuffled.size() - 1);
  return {std::vector<NodeId>(shuffled.begin(), shuffled.begin() + first_size),
          std::vector<NodeId>(shuffled.begin() + first_size, shuffled.end())};
}

void Nemesis::begin_episode(proto::FaultKind kind) {
  const ActiveFault* fault = plan_->find(kind);
  const Duration duration = draw_milliseconds(random_, fault->duration_ms);
  switch (kind) {
    case proto::PARTITION_SYMMETRIC:
    case proto::PARTITION_ASYMMETRIC:
    case proto::PARTITION_ISOLATE_NODE:
    case proto::PARTITION_MAJORITY_MINORITY:
      partition(kind, duration);
      break;
    case proto::CLOG_LINK:
    case proto::CLOG_NODE:
      clog(kind, duration);
      break;
    case proto::NODE_CRASH:
    case proto::NODE_PAUSE:
    case proto::NODE_WIPE:
      take_down(kind, duration);
      break;
    case proto::CLOCK_STEP: {
      const NodeId server = servers_[random_.uniform(servers_.size())];
      const Duration jump = draw_milliseconds(random_, fault->magnitude);
      simulator_->find_node(server)->clock().step(jump);
      simulator_->count_fault("clock_step", server, static_cast<uint64_t>(jump.count()));
      break;
    }
    default:
      break;
  }
}

void Nemesis::partition(proto::FaultKind kind, Duration duration) {
  if (servers_.size() < 2) return;
  std::vector<Link> links;
  auto cut = [&links](const std::vector<NodeId>& from, const std::vector<NodeId>& to, bool both_ways) {
    for (NodeId a : from) {
      for (NodeId b : to) {
        links.emplace_back(a, b);
        if (both_ways) links.emplace_back(b, a);
      }
    }
  };
  NodeId subject = 0;
  if (kind == proto::PARTITION_ISOLATE_NODE) {
    subject = servers_[random_.uniform(servers_.size())];
    std::vector<NodeId> everyone_else;
    for (NodeId server : servers_) {
      if (server != subject) everyone_else.push_back(server);
    }
    everyone_else.insert(everyone_else.end(), clients_.begin(), clients_.end());
    cut({subject}, everyone_else, true);
  } else {
    std::vector<NodeId> first;
    std::vector<NodeId> second;
    if (kind == proto::PARTITION_MAJORITY_MINORITY) {
      const std::size_t largest_minority = (servers_.size() - 1) / 2;
      if (largest_minority == 0) return;
      std::tie(first, second) = split(1 + random_.uniform(largest_minority));
    } else {
      std::tie(first, second) = split(0);
    }
    // Clients live in the same network: each ends up on one side or the other.
    for (NodeId client : clients_) (random_.chance(0.5) ? first : second).push_back(client);
    cut(first, second, kind != proto::PARTITION_ASYMMETRIC);
  }
  const uint64_t episode = simulator_->network().block(links);
  simulator_->count_fault(fault_kind_name(kind), subject, links.size());
  end_network_episode_after(duration, kind, [this, episode] { simulator_->network().unblock(episode); });
}

void Nemesis::clog(proto::FaultKind kind, Duration duration) {
  std::vector<Link> links;
  NodeId subject = servers_[random_.uniform(servers_.size())];
  if (kind == proto::CLOG_LINK) {
    if (servers_.size() < 2) return;
    NodeId other = subject;
    while (other == subject) other = servers_[random_.uniform(servers_.size())];
    links.emplace_back(subject, other);
  } else {
    for (const auto& [id, node] : simulator_->nodes()) {
      if (id == subject) continue;
      links.emplace_back(subject, id);
      links.emplace_back(id, subject);
    }
  }
  const uint64_t episode = simulator_->network().clog(links);
  simulator_->count_fault(fault_kind_name(kind), subject, links.size());
  end_network_episode_after(duration, kind, [this, episode] { simulator_->network().unclog(episode); });
}

void Nemesis::take_down(proto::FaultKind kind, Duration duration) {
  if (down_.size() + paused_.size() >= plan_->max_down_nodes()) return;
  std::vector<NodeId> candidates = up_servers();
  if (kind == proto::NODE_WIPE) {
    std::erase_if(candidates, [this](NodeId node) { return !plan_->unreliable(node); });
  }
  if (candidates.empty()) return;
  const NodeId target = candidates[random_.uniform(candidates.size())];
  SimNode* node = simulator_->find_node(target);
  simulator_->count_fault(fault_kind_name(kind), target);
  if (kind == proto::NODE_PAUSE) {
    node->pause();
    paused_.insert(target);
    scheduled_unpauses_[target] = simulator_->schedule(duration, [this, target] {
      scheduled_unpauses_.erase(target);
      paused_.erase(target);
      simulator_->find_node(target)->unpause();
      simulator_->trace().record(simulator_->now(), TraceEvent::kHeal, target, hash_text("node_pause"));
    });
    return;
  }
  if (kind == proto::NODE_WIPE) {
    node->wipe();
  } else {
    node->crash();
  }
  down_.insert(target);
  scheduled_restarts_[target] = simulator_->schedule(duration, [this, target] {
    scheduled_restarts_.erase(target);
    bring_up(target);
  });
}

void Nemesis::bring_up(NodeId target) {
  if (down_.erase(target) == 0) return;
  simulator_->find_node(target)->start();
}

void Nemesis::heal_all() {
  healed_ = true;
  for (TimerId id : pending_) simulator_->cancel(id);
  pending_.clear();
  simulator_->network().heal_all();
  for (const auto& [target, timer] : scheduled_unpauses_) simulator_->cancel(timer);
  scheduled_unpauses_.clear();
  for (NodeId target : paused_) simulator_->find_node(target)->unpause();
  paused_.clear();
  for (const auto& [target, timer] : scheduled_restarts_) simulator_->cancel(timer);
  scheduled_restarts_.clear();
  while (!down_.empty()) bring_up(*down_.begin());
  simulator_->trace().record(simulator_->now(), TraceEvent::kHeal, 0, hash_text("all"));
}

}  // namespace cairn::sim
