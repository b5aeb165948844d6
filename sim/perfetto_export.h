// PerfettoExport: a simulated run as a Chrome trace-event JSON file (`cairn-sim run --perfetto
// FILE`), which ui.perfetto.dev and chrome://tracing open, so that a failing seed can be looked
// at rather than only read. Every node is a process with tracks for its messages, its disk, its
// log lines, and (for clients) its operations; every message is a flow arrow from its send to
// its delivery; faults, heals, crashes and restarts are instants; every client operation is a
// slice from invoke to completion. Timer firings are left out (they are most of the events and
// explain little). Times are the simulator's global virtual time.
#pragma once

#include <cstdio>
#include <map>
#include <memory>
#include <string>

#include "core/runtime/network.h"
#include "core/runtime/status.h"
#include "sim/trace.h"

namespace cairn::sim {

class PerfettoExport final : public TraceSink {
 public:
  static Result<std::unique_ptr<PerfettoExport>> open(const std::string& path);
  ~PerfettoExport() override;  // ends the JSON document
  PerfettoExport(const PerfettoExport&) = delete;
  PerfettoExport& operator=(const PerfettoExport&) = delete;

  // The name of a node's process in the viewer ("server 2 (us-east)", "client 1003").
  void name_node(NodeId node, const std::string& name);

  void event(int64_t time_nanos, TraceEvent event, uint64_t node, uint64_t a, uint64_t b, uint64_t c,
             std::string_view detail) override;
  void note(int64_t time_nanos, uint64_t node, std::string_view text) override;

 private:
  enum Track : int { kMessages = 1, kDisk = 2, kLog = 3, kFaults = 4, kOperations = 5 };
  explicit PerfettoExport(std::FILE* file);
  // One trace event: `fields` is the rest of its JSON object after the common ones.
  void emit(const char* phase, int64_t time_nanos, uint64_t node, Track track, std::string_view name,
            const std::string& fields = {});
  void name_track(uint64_t node, Track track, const char* name);

  std::FILE* file_;
  bool first_ = true;
  std::map<uint64_t, bool> named_;  // nodes whose tracks are named
};

}  // namespace cairn::sim
