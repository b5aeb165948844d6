// wait_any: blocks until the first of several futures resolves, and says which one.
#pragma once

#include <cstddef>
#include <initializer_list>
#include <span>
#include <vector>

#include "core/runtime/future.h"

namespace cairn {

// Returns the index of a resolved completion (the lowest index if several are). Throws
// FiberCancelled / TimeoutExpired like every blocking call; combine with with_timeout for a
// deadline.
std::size_t wait_any(std::span<Completion* const> completions);

inline std::size_t wait_any(std::initializer_list<Completion*> completions) {
  return wait_any(std::span<Completion* const>(completions.begin(), completions.size()));
}

// Hands each future's result to `on_result(index, result)` in the order they resolve, and stops
// early when on_result returns true ("that is enough", e.g. a quorum was reached). Futures left
// unread resolve on their own later; nothing waits for them.
template <typename T, typename OnResult>
void for_each_in_completion_order(std::vector<Future<T>>& futures, OnResult&& on_result) {
  std::vector<std::size_t> pending;
  for (std::size_t i = 0; i < futures.size(); ++i) pending.push_back(i);
  std::vector<Completion*> completions;
  while (!pending.empty()) {
    completions.clear();
    for (std::size_t i : pending) completions.push_back(&futures[i].completion());
    const std::size_t position = wait_any(completions);
    const std::size_t index = pending[position];
    pending.erase(pending.begin() + static_cast<std::ptrdiff_t>(position));
    if (on_result(index, futures[index].get())) return;
  }
}

}  // namespace cairn
