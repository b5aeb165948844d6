// The version every Cairn binary reports (cairnd, cairn, cairn-sim --version): one number for
// the whole tree, raised when an issue lands that changes what users see.
#pragma once

namespace cairn {

inline constexpr const char* kCairnVersion = "0.3.0";

}  // namespace cairn
