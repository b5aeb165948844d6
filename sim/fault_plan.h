// FaultPlan: which faults one seed turns on and how hard ("swarm testing", Groce et al. 2012).
// A scenario's FaultProfile lists the faults that may happen, each with the chance that a seed
// enables it and ranges for its rate, duration and magnitude; choose() draws, per seed, the
// subset that is on and a rate for each. Different seeds thus test different mixes (a seed with
// only partitions finds other bugs than one with everything at once).
//
// The plan also fixes the unreliable-storage set (the servers whose disks may corrupt data or be
// wiped) and how many servers may be down at once, so a run stays within the failures the
// cluster is designed to survive.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/proto/scenario.pb.h"
#include "core/runtime/network.h"
#include "core/runtime/random.h"

namespace cairn::sim {

struct ActiveFault {
  proto::FaultKind kind = proto::FAULT_KIND_UNSPECIFIED;
  double rate = 0;             // drawn from the profile's range, per seed
  proto::Range duration_ms;    // drawn per episode
  proto::Range magnitude;      // drawn per event
  std::string target_path;     // disk faults: only this file, or files under this directory ("dir/")
  proto::FaultTarget target = proto::ANY_SERVER;  // episodes: whom they strike
  std::string on_probe;        // episodes: start at this coverage probe instead of at random times
  // "node_crash", or aimed or triggered "node_crash@leader", "node_crash@follower@replica.vote.sent".
  std::string name() const;
};

class FaultPlan {
 public:
  static FaultPlan choose(const proto::FaultProfile& profile, const std::vector<NodeId>& servers, Random& random);

  // The fault of this kind that is neither aimed at a role nor triggered by a probe (the only
  // kind of message, disk, clock and buggify fault there is), or null.
  const ActiveFault* find(proto::FaultKind kind) const;
  bool enabled(proto::FaultKind kind) const { return find(kind) != nullptr; }
  // The fault's rate, or 0 when the seed did not enable it.
  double rate(proto::FaultKind kind) const;
  // The rate of a disk fault for an operation on `path`: 0 unless it is enabled and aimed at
  // files like this one.
  double rate_for_path(proto::FaultKind kind, std::string_view path) const;
  // The quiesce phase: disk faults (errors, corruption, slowness) stop striking new operations.
  // What they already did to the media stays.
  void heal_disk_faults() { disk_faults_healed_ = true; }
  // Every fault this seed turned on, in the scenario's order.
  const std::vector<ActiveFault>& active() const { return active_; }

  bool unreliable(NodeId node) const { return unreliable_nodes_.count(node) != 0; }
  const std::set<NodeId>& unreliable_nodes() const { return unreliable_nodes_; }
  uint32_t max_down_nodes() const { return max_down_nodes_; }

 private:
  std::vector<ActiveFault> active_;
  std::set<NodeId> unreliable_nodes_;
  uint32_t max_down_nodes_ = 0;
  bool disk_faults_healed_ = false;
};

// "message_loss" for MESSAGE_LOSS: the name used in reports and JSON.
std::string fault_kind_name(proto::FaultKind kind);

// Draws a value from a Range (min when max < min is never the case after validation).
double draw(Random& random, const proto::Range& range);
Duration draw_milliseconds(Random& random, const proto::Range& range);

}  // namespace cairn::sim
