// Coverage: what the fault points of one simulated run did (core/runtime/fault_points.h) —
// which BUGGIFY sites this seed activated and how often each fired, and how often each coverage
// probe was hit. Sweeps add the counts of their seeds up, so that a scenario can require probes
// its sweep must hit, and the nemesis listens to probes to strike at the moment they mark.
//
// A site is active for a seed with probability 1/4, decided by the seed and the site's name
// alone (not by when it is first reached), and an active site fires with the run's BUGGIFY rate
// each time it is reached, drawing from the reaching node's stream: a run stays a pure function
// of its seed.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/runtime/network.h"
#include "core/runtime/random.h"

namespace cairn::sim {

class Coverage {
 public:
  explicit Coverage(uint64_t seed) : seed_(seed) {}

  // The probability that an active site fires when reached; 0 (the default) turns buggify off.
  void set_buggify_probability(double fire_probability) { buggify_probability_ = fire_probability; }
  double buggify_probability() const { return buggify_probability_; }

  // Whether `site`, reached on a node that draws from `random`, fires now.
  bool buggify(std::string_view site, Random& random);
  // `node` reached the probe `name`.
  void probe(NodeId node, std::string_view name);
  // Called at every probe hit, after it is counted.
  void set_probe_listener(std::function<void(NodeId node, std::string_view name)> listener) {
    probe_listener_ = std::move(listener);
  }

  // Hits by probe name; sites fired by name (sites reached but never fired are left out).
  std::map<std::string, uint64_t> probe_hits() const;
  std::map<std::string, uint64_t> buggify_fired() const;
  // Distinct sites reached in this run, and how many of those were active.
  uint64_t buggify_sites_reached() const { return sites_.by_name.size(); }
  uint64_t buggify_sites_active() const;

 private:
  struct Site {
    bool active = false;
    uint64_t fired = 0;
  };
  // Names are string literals: a name's first sight is found by text, later ones by address.
  template <typename Value>
  struct NameTable {
    std::map<std::string, Value, std::less<>> by_name;
    std::unordered_map<const char*, std::pair<std::string_view, Value*>> by_address;
    Value* find_or_add(std::string_view name, bool& added);
  };

  uint64_t seed_;
  double buggify_probability_ = 0;
  NameTable<Site> sites_;
  NameTable<uint64_t> probes_;
  std::function<void(NodeId, std::string_view)> probe_listener_;
};

}  // namespace cairn::sim
