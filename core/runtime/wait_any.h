// wait_any: blocks until the first of several futures resolves, and says which one.
#pragma once

#include <cstddef>
#include <initializer_list>
#include <span>

#include "core/runtime/future.h"

namespace cairn {

// Returns the index of a resolved completion (the lowest index if several are). Throws
// FiberCancelled / TimeoutExpired like every blocking call; combine with with_timeout for a
// deadline.
std::size_t wait_any(std::span<Completion* const> completions);

inline std::size_t wait_any(std::initializer_list<Completion*> completions) {
  return wait_any(std::span<Completion* const>(completions.begin(), completions.size()));
}

}  // namespace cairn
