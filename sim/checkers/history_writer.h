// Writes a generic history (history.h) as Cairn's JSON-lines history format, the format that
// `cairn-sim run --history FILE` produces and `cairn-sim check-history` reads back
// (history_file.h describes it): one completed operation per line.
#pragma once

#include <string>

#include "core/runtime/status.h"
#include "sim/checkers/history.h"

namespace cairn::sim::linearizability {

std::string format_json_lines(const History& history);
Status write_json_lines_file(const std::string& path, const History& history);

}  // namespace cairn::sim::linearizability
