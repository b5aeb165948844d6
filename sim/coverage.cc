// Buggify sites and coverage probes of a simulated run (see coverage.h).
#include "sim/coverage.h"

#include "core/runtime/assert.h"

namespace cairn::sim {

template <typename Value>
Value* Coverage::NameTable<Value>::find_or_add(std::string_view name, bool& added) {
  added = false;
  auto cached = by_address.find(name.data());
  if (cached != by_address.end() && cached->second.first == name) return cached->second.second;
  auto found = by_name.find(name);
  if (found == by_name.end()) {
    CAIRN_ASSERT(!name.empty(), "a fault point needs a name");
    found = by_name.emplace(std::string(name), Value{}).first;
    added = true;
  }
  // std::map nodes are stable: the cached key and value pointers stay valid.
  by_address[name.data()] = {std::string_view(found->first), &found->second};
  return &found->second;
}

bool Coverage::buggify(std::string_view site, Random& random) {
  if (buggify_probability_ <= 0) return false;
  bool added = false;
  Site* state = sites_.find_or_add(site, added);
  if (added) state->active = derive_seed(seed_, site) % 4 == 0;
  if (!state->active || !random.chance(buggify_probability_)) return false;
  ++state->fired;
  return true;
}

void Coverage::probe(NodeId node, std::string_view name) {
  bool added = false;
  ++*probes_.find_or_add(name, added);
  if (probe_listener_) probe_listener_(node, name);
}

std::map<std::string, uint64_t> Coverage::probe_hits() const {
  return {probes_.by_name.begin(), probes_.by_name.end()};
}

std::map<std::string, uint64_t> Coverage::buggify_fired() const {
  std::map<std::string, uint64_t> fired;
  for (const auto& [name, site] : sites_.by_name) {
    if (site.fired > 0) fired.emplace(name, site.fired);
  }
  return fired;
}

uint64_t Coverage::buggify_sites_active() const {
  uint64_t active = 0;
  for (const auto& [name, site] : sites_.by_name) active += site.active ? 1 : 0;
  return active;
}

}  // namespace cairn::sim
