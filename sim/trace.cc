// Trace hashing and the optional event log (see trace.h).
#include "sim/trace.h"

#include "core/runtime/random.h"
#include "core/runtime/time.h"

namespace cairn::sim {

std::string_view trace_event_name(TraceEvent event) {
  switch (event) {
    case TraceEvent::kSend: return "send";
    case TraceEvent::kDeliver: return "deliver";
    case TraceEvent::kDrop: return "drop";
    case TraceEvent::kDuplicate: return "duplicate";
    case TraceEvent::kTimer: return "timer";
    case TraceEvent::kDiskRead: return "disk_read";
    case TraceEvent::kDiskWrite: return "disk_write";
    case TraceEvent::kDiskSync: return "disk_sync";
    case TraceEvent::kDiskMetadata: return "disk_metadata";
    case TraceEvent::kFault: return "fault";
    case TraceEvent::kHeal: return "heal";
    case TraceEvent::kNodeStart: return "node_start";
    case TraceEvent::kNodeCrash: return "node_crash";
    case TraceEvent::kClientInvoke: return "client_invoke";
    case TraceEvent::kClientComplete: return "client_complete";
  }
  return "unknown";
}

uint64_t hash_text(std::string_view text) {
  uint64_t hash = 0xcbf29ce484222325ULL;
  for (unsigned char c : text) {
    hash ^= c;
    hash *= 0x100000001b3ULL;
  }
  return hash;
}

Trace::~Trace() {
  if (log_ != nullptr) std::fclose(log_);
}

bool Trace::open_log(const std::string& path) {
  log_ = std::fopen(path.c_str(), "w");
  return log_ != nullptr;
}

void Trace::fold(uint64_t word) { hash_ = mix64(hash_ ^ word) * 0x9fb21c651e98df25ULL; }

void Trace::record(int64_t time_nanos, TraceEvent event, uint64_t node, uint64_t a, uint64_t b, uint64_t c,
                   std::string_view detail) {
  ++events_;
  fold(static_cast<uint64_t>(time_nanos));
  fold(static_cast<uint64_t>(event) | (node << 8));
  fold(a);
  fold(b);
  fold(c);
  if (log_ != nullptr) {
    std::fprintf(log_, "%s node=%llu %s a=%llu b=%llu c=%llu%s%.*s\n", format_duration(Duration{time_nanos}).c_str(),
                 static_cast<unsigned long long>(node), std::string(trace_event_name(event)).c_str(),
                 static_cast<unsigned long long>(a), static_cast<unsigned long long>(b),
                 static_cast<unsigned long long>(c), detail.empty() ? "" : " ", static_cast<int>(detail.size()),
                 detail.data());
  }
}

void Trace::note(int64_t time_nanos, uint64_t node, std::string_view text) {
  if (log_ == nullptr) return;
  std::fprintf(log_, "%s node=%llu log %.*s\n", format_duration(Duration{time_nanos}).c_str(),
               static_cast<unsigned long long>(node), static_cast<int>(text.size()), text.data());
}

std::string format_hash(uint64_t hash) {
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(hash));
  return text;
}

}  // namespace cairn::sim
