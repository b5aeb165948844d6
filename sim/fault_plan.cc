// Per-seed choice of faults for swarm testing (see fault_plan.h).
#include "sim/fault_plan.h"

#include <algorithm>
#include <cctype>

namespace cairn::sim {

double draw(Random& random, const proto::Range& range) {
  if (range.max() <= range.min()) return range.min();
  return random.uniform_double_between(range.min(), range.max());
}

Duration draw_milliseconds(Random& random, const proto::Range& range) {
  return Duration{static_cast<int64_t>(draw(random, range) * 1e6)};
}

std::string fault_kind_name(proto::FaultKind kind) {
  std::string name = proto::FaultKind_Name(kind);
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
  return name;
}

std::string ActiveFault::name() const {
  std::string text = fault_kind_name(kind);
  if (target != proto::ANY_SERVER) text += target == proto::LEADER ? "@leader" : "@follower";
  if (!on_probe.empty()) text += "@" + on_probe;
  return text;
}

FaultPlan FaultPlan::choose(const proto::FaultProfile& profile, const std::vector<NodeId>& servers, Random& random) {
  FaultPlan plan;
  const uint32_t minority = servers.empty() ? 0 : static_cast<uint32_t>((servers.size() - 1) / 2);
  for (const proto::Fault& fault : profile.faults()) {
    const double enable = fault.has_enable_probability() ? fault.enable_probability() : 1.0;
    // Draw both numbers whatever the outcome, so that one fault's choice does not shift the
    // random numbers of the next.
    const bool on = random.chance(enable);
    const double rate = draw(random, fault.rate());
    if (!on) continue;
    plan.active_.push_back(ActiveFault{.kind = fault.kind(),
                                       .rate = rate,
                                       .duration_ms = fault.duration_ms(),
                                       .magnitude = fault.magnitude(),
                                       .target_path = fault.target_path(),
                                       .target = fault.target(),
                                       .on_probe = fault.on_probe()});
  }
  const uint32_t unreliable =
      std::min<uint32_t>(profile.has_max_unreliable_nodes() ? profile.max_unreliable_nodes() : minority,
                         static_cast<uint32_t>(servers.size()));
  std::vector<NodeId> shuffled = servers;
  for (std::size_t i = shuffled.size(); i > 1; --i) std::swap(shuffled[i - 1], shuffled[random.uniform(i)]);
  plan.unreliable_nodes_.insert(shuffled.begin(), shuffled.begin() + unreliable);
  plan.max_down_nodes_ = profile.has_max_down_nodes() ? profile.max_down_nodes() : minority;
  return plan;
}

const ActiveFault* FaultPlan::find(proto::FaultKind kind) const {
  for (const ActiveFault& fault : active_) {
    if (fault.kind == kind && fault.target == proto::ANY_SERVER && fault.on_probe.empty()) return &fault;
  }
  return nullptr;
}

double FaultPlan::rate(proto::FaultKind kind) const {
  const ActiveFault* fault = find(kind);
  return fault == nullptr ? 0.0 : fault->rate;
}

double FaultPlan::rate_for_path(proto::FaultKind kind, std::string_view path) const {
  const ActiveFault* fault = find(kind);
  if (fault == nullptr || disk_faults_healed_) return 0.0;
  const std::string& target = fault->target_path;
  // A directory target also covers syncs of the directory itself ("wal/" and "wal").
  const bool aimed_here =
      target.empty() || path == target ||
      (target.back() == '/' && (path.starts_with(target) || path == std::string_view(target).substr(0, target.size() - 1)));
  return aimed_here ? fault->rate : 0.0;
}

}  // namespace cairn::sim
