// Trace hashing, its sinks, and the readable event log (see trace.h).
#include "sim/trace.h"

#include "core/runtime/random.h"
#include "core/runtime/time.h"

namespace cairn::sim {
namespace {

// The names of an event's node and numbers in the event log; an empty name hides a number the
// detail text already shows (a hash of it).
struct EventFields {
  std::string_view node, a, b, c;
};

EventFields fields_of(TraceEvent event) {
  switch (event) {
    case TraceEvent::kSend: return {"from", "to", "message", ""};
    case TraceEvent::kDeliver: return {"to", "from", "message", ""};
    case TraceEvent::kDrop: return {"from", "to", "", "message"};
    case TraceEvent::kDuplicate: return {"from", "to", "message", "copy"};
    case TraceEvent::kTimer: return {"node", "timer", "", ""};
    case TraceEvent::kDiskRead:
    case TraceEvent::kDiskWrite: return {"node", "", "offset", "bytes"};
    case TraceEvent::kDiskSync: return {"node", "", "inode", "durable_bytes"};
    case TraceEvent::kDiskMetadata: return {"node", "", "operation", "detail"};
    case TraceEvent::kFault: return {"node", "", "detail", ""};
    case TraceEvent::kHeal: return {"node", "", "", ""};
    case TraceEvent::kNodeStart:
    case TraceEvent::kNodeCrash: return {"node", "incarnation", "", ""};
    case TraceEvent::kClientInvoke: return {"client", "operation", "function", ""};
    case TraceEvent::kClientComplete: return {"client", "operation", "outcome", ""};
  }
  return {"node", "a", "b", "c"};
}

// One line per event: "1.234567s send from=1 to=2 message=88 RaftMessage RAFT_APPEND term=3 ...".
class EventLog final : public TraceSink {
 public:
  explicit EventLog(std::FILE* file) : file_(file) {}
  ~EventLog() override { std::fclose(file_); }

  void event(int64_t time_nanos, TraceEvent event, uint64_t node, uint64_t a, uint64_t b, uint64_t c,
             std::string_view detail) override {
    const EventFields names = fields_of(event);
    std::string line = format_duration(Duration{time_nanos}) + " " + std::string(trace_event_name(event));
    const auto field = [&](std::string_view name, uint64_t value) {
      if (name.empty()) return;
      // The disk's failure markers are the top few values: shown as -1, -2, -3.
      const std::string text = value >= UINT64_MAX - 15 ? std::to_string(static_cast<int64_t>(value)) : std::to_string(value);
      line += " " + std::string(name) + "=" + text;
    };
    field(names.node, node);
    field(names.a, a);
    field(names.b, b);
    field(names.c, c);
    if (!detail.empty()) line += " " + std::string(detail);
    line += "\n";
    std::fwrite(line.data(), 1, line.size(), file_);
  }

  void note(int64_t time_nanos, uint64_t node, std::string_view text) override {
    std::fprintf(file_, "%s log node=%llu %.*s\n", format_duration(Duration{time_nanos}).c_str(),
                 static_cast<unsigned long long>(node), static_cast<int>(text.size()), text.data());
  }

 private:
  std::FILE* file_;
};

}  // namespace

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

bool Trace::open_log(const std::string& path) {
  std::FILE* file = std::fopen(path.c_str(), "w");
  if (file == nullptr) return false;
  log_ = std::make_unique<EventLog>(file);
  sinks_.push_back(log_.get());
  return true;
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
  for (TraceSink* sink : sinks_) sink->event(time_nanos, event, node, a, b, c, detail);
}

void Trace::note(int64_t time_nanos, uint64_t node, std::string_view text) {
  for (TraceSink* sink : sinks_) sink->note(time_nanos, node, text);
}

std::string format_hash(uint64_t hash) {
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(hash));
  return text;
}

}  // namespace cairn::sim
