// Episodic fault injection and healing (see nemesis.h).
#include "sim/nemesis.h"

#include <algorithm>
#include <cmath>
#include <tuple>

#include "core/runtime/assert.h"
#include "sim/sim_node.h"

namespace cairn::sim {
namespace {

bool is_episode(proto::FaultKind kind) {
  switch (kind) {
    case proto::PARTITION_SYMMETRIC:
    case proto::PARTITION_ASYMMETRIC:
    case proto::PARTITION_ISOLATE_NODE:
    case proto::PARTITION_MAJORITY_MINORITY:
    case proto::CLOG_LINK:
    case proto::CLOG_NODE:
    case proto::SWIZZLE_CLOG:
    case proto::NODE_CRASH:
    case proto::NODE_PAUSE:
    case proto::NODE_WIPE:
    case proto::CLOCK_STEP:
      return true;
    default:
      return false;
  }
}

}  // namespace

Nemesis::Nemesis(Simulator& simulator, const FaultPlan& plan, std::vector<NodeId> servers, std::vector<NodeId> clients,
                 const ClusterView* view)
    : simulator_(&simulator),
      plan_(&plan),
      servers_(std::move(servers)),
      clients_(std::move(clients)),
      view_(view),
      random_(simulator.stream("nemesis")) {
  CAIRN_ASSERT(!servers_.empty(), "the nemesis needs servers to strike");
}

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
  for (std::size_t index = 0; index < plan_->active().size(); ++index) {
    const ActiveFault& fault = plan_->active()[index];
    if (!is_episode(fault.kind) || fault.rate <= 0) continue;
    if (fault.on_probe.empty()) {
      schedule_next(index);
    } else {
      triggers_[fault.on_probe].push_back(index);
    }
  }
  if (!triggers_.empty()) {
    simulator_->coverage().set_probe_listener([this](NodeId node, std::string_view name) { on_probe(node, name); });
  }
}

void Nemesis::schedule_next(std::size_t index) {
  const ActiveFault& fault = plan_->active()[index];
  // In floating point: a tiny rate means a wait far beyond any int64 of nanoseconds.
  const double mean_seconds = 60.0 / fault.rate;
  const double wait_seconds = -std::log(1.0 - random_.uniform_double()) * mean_seconds;
  const double remaining_seconds = static_cast<double>(until_ - simulator_->now()) / 1e9;
  if (!(wait_seconds < remaining_seconds)) return;
  const Duration wait{static_cast<int64_t>(wait_seconds * 1e9)};
  schedule_tracked(wait, [this, index] {
    if (healed_) return;
    begin_episode(plan_->active()[index], 0);
    schedule_next(index);
  });
}

void Nemesis::on_probe(NodeId node, std::string_view name) {
  if (healed_ || simulator_->now() >= until_) return;
  if (std::find(servers_.begin(), servers_.end(), node) == servers_.end()) return;
  auto found = triggers_.find(name);
  if (found == triggers_.end()) return;
  for (std::size_t index : found->second) {
    if (!random_.chance(plan_->active()[index].rate)) continue;
    // Not inside the fiber that hit the probe: at once, but from the loop, after the fibers
    // that are ready have run (the one that hit it is on its way to its next blocking point).
    schedule_tracked(Duration{0}, [this, index, node] {
      if (!healed_) begin_episode(plan_->active()[index], node);
    });
  }
}

void Nemesis::schedule_tracked(Duration delay, std::function<void()> action) {
  auto id = std::make_shared<TimerId>(0);
  *id = simulator_->schedule(delay, [this, id, action = std::move(action)] {
    pending_.erase(*id);
    action();
  });
  pending_.insert(*id);
}

void Nemesis::end_network_episode_after(Duration duration, const ActiveFault& fault, std::function<void()> end) {
  schedule_tracked(duration, [this, name = fault_kind_name(fault.kind), end = std::move(end)] {
    end();
    simulator_->trace().record(simulator_->now(), TraceEvent::kHeal, 0, hash_text(name), 0, 0, name);
  });
}

std::vector<NodeId> Nemesis::up_servers() const {
  std::vector<NodeId> up;
  for (NodeId server : servers_) {
    if (down_.count(server) == 0 && paused_.count(server) == 0) up.push_back(server);
  }
  return up;
}

NodeId Nemesis::random_server() { return servers_[random_.uniform(servers_.size())]; }

NodeId Nemesis::subject_of(const ActiveFault& fault, NodeId trigger) {
  if (fault.target == proto::ANY_SERVER || view_ == nullptr) return trigger;
  const std::vector<uint64_t> groups = view_->groups_with_leader();
  if (groups.empty()) return trigger;
  const uint64_t group = groups[random_.uniform(groups.size())];
  if (fault.target == proto::LEADER) return view_->leader_of(group);
  const std::vector<NodeId> followers = view_->followers_of(group);
  if (followers.empty()) return view_->leader_of(group);
  return followers[random_.uniform(followers.size())];
}

void Nemesis::move_into_minority(std::vector<NodeId>& minority, std::vector<NodeId>& majority, NodeId subject) {
  CAIRN_ASSERT(!minority.empty() && minority.size() < majority.size(), "a minority is smaller than the rest");
  auto in_majority = std::find(majority.begin(), majority.end(), subject);
  if (in_majority == majority.end()) return;  // already in the minority (or not a server)
  std::swap(*in_majority, minority.front());
}

std::pair<std::vector<NodeId>, std::vector<NodeId>> Nemesis::split(std::size_t first_size) {
  std::vector<NodeId> shuffled = servers_;
  for (std::size_t i = shuffled.size(); i > 1; --i) std::swap(shuffled[i - 1], shuffled[random_.uniform(i)]);
  if (first_size == 0) first_size = 1 + random_.uniform(shuffled.size() - 1);
  return {std::vector<NodeId>(shuffled.begin(), shuffled.begin() + first_size),
          std::vector<NodeId>(shuffled.begin() + first_size, shuffled.end())};
}

void Nemesis::begin_episode(const ActiveFault& fault, NodeId trigger) {
  const Duration duration = draw_milliseconds(random_, fault.duration_ms);
  const NodeId subject = subject_of(fault, trigger);
  switch (fault.kind) {
    case proto::PARTITION_SYMMETRIC:
    case proto::PARTITION_ASYMMETRIC:
    case proto::PARTITION_ISOLATE_NODE:
    case proto::PARTITION_MAJORITY_MINORITY:
      partition(fault, duration, subject);
      break;
    case proto::CLOG_LINK:
    case proto::CLOG_NODE:
      clog(fault, duration, subject);
      break;
    case proto::SWIZZLE_CLOG:
      swizzle_clog(fault, duration);
      break;
    case proto::NODE_CRASH:
    case proto::NODE_PAUSE:
    case proto::NODE_WIPE:
      take_down(fault, duration, subject);
      break;
    case proto::CLOCK_STEP: {
      const NodeId server = subject != 0 ? subject : random_server();
      const Duration jump = draw_milliseconds(random_, fault.magnitude);
      simulator_->find_node(server)->clock().step(jump);
      simulator_->count_fault("clock_step", server, static_cast<uint64_t>(jump.count()));
      if (duration > Duration{0}) {
        uncorrected_steps_[server] += jump;
        end_network_episode_after(duration, fault, [this, server, jump] {
          simulator_->find_node(server)->clock().step(-jump);
          uncorrected_steps_[server] -= jump;
        });
      }
      break;
    }
    default:
      break;
  }
}

void Nemesis::partition(const ActiveFault& fault, Duration duration, NodeId subject) {
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
  if (fault.kind == proto::PARTITION_ISOLATE_NODE) {
    if (subject == 0) subject = random_server();
    std::vector<NodeId> everyone_else;
    for (NodeId server : servers_) {
      if (server != subject) everyone_else.push_back(server);
    }
    everyone_else.insert(everyone_else.end(), clients_.begin(), clients_.end());
    cut({subject}, everyone_else, true);
  } else {
    std::vector<NodeId> first;
    std::vector<NodeId> second;
    if (fault.kind == proto::PARTITION_MAJORITY_MINORITY) {
      const std::size_t largest_minority = (servers_.size() - 1) / 2;
      if (largest_minority == 0) return;
      std::tie(first, second) = split(1 + random_.uniform(largest_minority));
      // An aimed split puts its subject in the minority: a leader cut off from its quorum while
      // clients on its side still reach it (the deposed leader that must stop serving reads).
      if (subject != 0) move_into_minority(first, second, subject);
    } else if (fault.kind == proto::PARTITION_ASYMMETRIC && subject != 0) {
      // Aimed: no server can send to the subject, which still sends to all of them — a leader
      // whose heartbeats and transfers go out while every answer and every vote request is lost
      // (clients, as always, on random sides).
      second = {subject};
      for (NodeId server : servers_) {
        if (server != subject) first.push_back(server);
      }
    } else {
      subject = 0;
      std::tie(first, second) = split(0);
    }
    // Clients live in the same network: each ends up on one side or the other.
    for (NodeId client : clients_) (random_.chance(0.5) ? first : second).push_back(client);
    cut(first, second, fault.kind != proto::PARTITION_ASYMMETRIC);
  }
  const uint64_t episode = simulator_->network().block(links);
  simulator_->count_fault(fault.name(), subject, links.size());
  end_network_episode_after(duration, fault, [this, episode] { simulator_->network().unblock(episode); });
}

std::vector<Link> Nemesis::links_of(NodeId node) const {
  std::vector<Link> links;
  for (const auto& [id, other] : simulator_->nodes()) {
    if (id == node) continue;
    links.emplace_back(node, id);
    links.emplace_back(id, node);
  }
  return links;
}

void Nemesis::clog(const ActiveFault& fault, Duration duration, NodeId subject) {
  std::vector<Link> links;
  if (subject == 0) subject = random_server();
  if (fault.kind == proto::CLOG_LINK) {
    if (servers_.size() < 2) return;
    NodeId other = subject;
    while (other == subject) other = random_server();
    links.emplace_back(subject, other);
  } else {
    links = links_of(subject);
  }
  const uint64_t episode = simulator_->network().clog(links);
  simulator_->count_fault(fault.name(), subject, links.size());
  end_network_episode_after(duration, fault, [this, episode] { simulator_->network().unclog(episode); });
}

void Nemesis::swizzle_clog(const ActiveFault& fault, Duration duration) {
  // A random subset, clogged one by one in the first half of the episode and unclogged one by
  // one, in another random order, in the second half.
  std::vector<NodeId> subset = servers_;
  for (std::size_t i = subset.size(); i > 1; --i) std::swap(subset[i - 1], subset[random_.uniform(i)]);
  subset.resize(1 + random_.uniform(subset.size()));
  std::vector<NodeId> unclog_order = subset;
  for (std::size_t i = unclog_order.size(); i > 1; --i) std::swap(unclog_order[i - 1], unclog_order[random_.uniform(i)]);
  const int64_t half = duration.count() / 2;
  auto clogs = std::make_shared<std::map<NodeId, uint64_t>>();  // node -> its clog episode
  std::vector<int64_t> clog_at(subset.size());
  std::vector<int64_t> unclog_at(subset.size());
  for (int64_t& at : clog_at) at = static_cast<int64_t>(random_.uniform(static_cast<uint64_t>(half) + 1));
  for (int64_t& at : unclog_at) at = half + static_cast<int64_t>(random_.uniform(static_cast<uint64_t>(half) + 1));
  std::sort(clog_at.begin(), clog_at.end());
  std::sort(unclog_at.begin(), unclog_at.end());
  simulator_->count_fault(fault.name(), 0, subset.size());
  for (std::size_t i = 0; i < subset.size(); ++i) {
    schedule_tracked(Duration{clog_at[i]}, [this, node = subset[i], clogs] {
      (*clogs)[node] = simulator_->network().clog(links_of(node));
    });
    schedule_tracked(Duration{unclog_at[i]}, [this, node = unclog_order[i], clogs, name = fault.name()] {
      auto found = clogs->find(node);
      if (found == clogs->end()) return;
      simulator_->network().unclog(found->second);
      clogs->erase(found);
      simulator_->trace().record(simulator_->now(), TraceEvent::kHeal, node, hash_text(name), 0, 0, name);
    });
  }
}

void Nemesis::take_down(const ActiveFault& fault, Duration duration, NodeId target) {
  if (down_.size() + paused_.size() >= plan_->max_down_nodes()) return;
  if (target == 0) {
    std::vector<NodeId> candidates = up_servers();
    if (fault.kind == proto::NODE_WIPE) {
      std::erase_if(candidates, [this](NodeId node) { return !plan_->unreliable(node); });
    }
    if (candidates.empty()) return;
    target = candidates[random_.uniform(candidates.size())];
  }
  if (down_.count(target) != 0 || paused_.count(target) != 0) return;
  // A wipe strikes only unreliable storage.
  if (fault.kind == proto::NODE_WIPE && !plan_->unreliable(target)) return;
  SimNode* node = simulator_->find_node(target);
  simulator_->count_fault(fault.name(), target);
  if (fault.kind == proto::NODE_PAUSE) {
    node->pause();
    paused_.insert(target);
    scheduled_unpauses_[target] = simulator_->schedule(duration, [this, target] {
      scheduled_unpauses_.erase(target);
      paused_.erase(target);
      simulator_->find_node(target)->unpause();
      simulator_->trace().record(simulator_->now(), TraceEvent::kHeal, target, hash_text("node_pause"), 0, 0,
                                 "node_pause");
    });
    return;
  }
  if (fault.kind == proto::NODE_WIPE) {
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
  for (const auto& [server, jump] : uncorrected_steps_) simulator_->find_node(server)->clock().step(-jump);
  uncorrected_steps_.clear();
  simulator_->trace().record(simulator_->now(), TraceEvent::kHeal, 0, hash_text("all"), 0, 0, "all");
}

}  // namespace cairn::sim
