// FaultPoints: the core's hooks for the simulator's search of rare paths — BUGGIFY sites and
// coverage probes (FoundationDB's BUGGIFY and CODE_PROBE).
//
//   if (faults.buggify("raft.append.one_entry")) max_bytes = 0;   // a legal, rare behaviour
//   faults.probe("raft.commit.earlier_term_indirectly");           // a rare branch was reached
//
// buggify(site) says whether the code at `site` should take a rare path that is always legal —
// tiny batches, an early compaction, a dropped reply, a slow sync — never a violation of the
// protocol. In the simulator a site is active for a seed or not, and an active site fires with
// the scenario's BUGGIFY rate (sim/sim_node.h); in production it never fires.
//
// probe(name) records that a rare branch was reached: the simulator counts hits per run and per
// sweep, a scenario can require that its sweep hit some probes, and the nemesis can strike at a
// probe (a crash just after a vote is granted). In production it does nothing.
//
// Disabled (production) both cost one predictable branch on a member of this object; only the
// simulator pays for the virtual call. Names are string literals, "component.what", in full
// words; docs/simulation.md lists the sites and probes.
//
// Both are deterministic in the simulator (they draw from the node's own random stream, in the
// order the code reaches them), so they never break a seed's replay.
#pragma once

#include <string_view>

namespace cairn {

class FaultPoints {
 public:
  bool buggify(std::string_view site) { return enabled_ && fire(site); }
  void probe(std::string_view name) {
    if (enabled_) hit(name);
  }

 protected:
  explicit FaultPoints(bool enabled) : enabled_(enabled) {}
  ~FaultPoints() = default;
  FaultPoints(const FaultPoints&) = default;
  FaultPoints& operator=(const FaultPoints&) = default;

  // Only called while enabled.
  virtual bool fire(std::string_view site) = 0;
  virtual void hit(std::string_view name) = 0;

 private:
  bool enabled_;
};

}  // namespace cairn
