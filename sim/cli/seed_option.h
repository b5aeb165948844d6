// What a --seed of cairn-sim may be: an unsigned 64-bit number. CLI11 reads "-1" into an
// unsigned option as 2^64 - 1 (the negation wraps), so a run would silently take another seed
// than the one typed; a sign is refused with a usage error instead.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

namespace cairn::sim {

inline const CLI::Validator kSeedNotNegative(
    [](std::string& text) {
      return text.starts_with('-') ? std::string("a seed is a number from 0 to 2^64-1, got " + text) : std::string();
    },
    "", "seed not negative");

}  // namespace cairn::sim
