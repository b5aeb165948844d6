// The exit statuses of every `cairn` command, as `cairn --help` documents them.
#pragma once

namespace cairn::net {

inline constexpr int kExitDone = 0;      // done
inline constexpr int kExitRefused = 1;   // the key does not exist, or the cluster refused the request
inline constexpr int kExitUsage = 2;     // bad usage
inline constexpr int kExitNoAnswer = 3;  // no answer in time (a write may or may not have been applied)

}  // namespace cairn::net
