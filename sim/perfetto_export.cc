// A run as Chrome trace events for Perfetto (see perfetto_export.h).
#include "sim/perfetto_export.h"

#include <cerrno>
#include <cstring>

#include "sim/json_writer.h"

namespace cairn::sim {
namespace {

std::string microseconds(int64_t time_nanos) {
  char text[32];
  std::snprintf(text, sizeof text, "%lld.%03lld", static_cast<long long>(time_nanos / 1000),
                static_cast<long long>(time_nanos % 1000));
  return text;
}

// The first word of a description: the message type of "RaftMessage RAFT_APPEND ...".
std::string_view first_words(std::string_view detail, int words) {
  std::size_t end = 0;
  for (int i = 0; i < words && end != std::string_view::npos; ++i) end = detail.find(' ', end == 0 ? 0 : end + 1);
  return end == std::string_view::npos ? detail : detail.substr(0, end);
}

}  // namespace

Result<std::unique_ptr<PerfettoExport>> PerfettoExport::open(const std::string& path) {
  std::FILE* file = std::fopen(path.c_str(), "w");
  if (file == nullptr) return Status::io_error("cannot write the Perfetto trace '" + path + "': " + std::strerror(errno));
  return std::unique_ptr<PerfettoExport>(new PerfettoExport(file));
}

PerfettoExport::PerfettoExport(std::FILE* file) : file_(file) {
  std::fputs("{\"displayTimeUnit\":\"ms\",\"traceEvents\":[\n", file_);
  name_node(0, "cluster (faults and heals)");
}

PerfettoExport::~PerfettoExport() {
  std::fputs("\n]}\n", file_);
  std::fclose(file_);
}

void PerfettoExport::emit(const char* phase, int64_t time_nanos, uint64_t node, Track track, std::string_view name,
                          const std::string& fields) {
  std::string line = first_ ? "" : ",\n";
  first_ = false;
  line += "{\"ph\":\"" + std::string(phase) + "\",\"ts\":" + microseconds(time_nanos) + ",\"pid\":" +
          std::to_string(node) + ",\"tid\":" + std::to_string(static_cast<int>(track)) +
          ",\"name\":" + json_quote(name) + fields + "}";
  std::fwrite(line.data(), 1, line.size(), file_);
}

void PerfettoExport::name_track(uint64_t node, Track track, const char* name) {
  emit("M", 0, node, track, "thread_name", ",\"args\":{\"name\":" + json_quote(name) + "}");
}

void PerfettoExport::name_node(NodeId node, const std::string& name) {
  emit("M", 0, node, kMessages, "process_name", ",\"args\":{\"name\":" + json_quote(name) + "}");
  emit("M", 0, node, kMessages, "process_sort_index", ",\"args\":{\"sort_index\":" + std::to_string(node) + "}");
  if (named_[node]) return;
  named_[node] = true;
  name_track(node, kMessages, "messages");
  name_track(node, kDisk, "disk");
  name_track(node, kLog, "log");
  name_track(node, kFaults, "faults");
  name_track(node, kOperations, "operations");
}

void PerfettoExport::event(int64_t time_nanos, TraceEvent event, uint64_t node, uint64_t a, uint64_t b, uint64_t c,
                           std::string_view detail) {
  const std::string args = detail.empty() ? "" : ",\"args\":{\"detail\":" + json_quote(detail) + "}";
  // Flows bind to the slice they start or end in: each send and delivery is a 1 µs slice.
  const std::string flow_slice = ",\"dur\":1" + args;
  switch (event) {
    case TraceEvent::kSend:
      emit("X", time_nanos, node, kMessages, "send " + std::string(first_words(detail, 2)), flow_slice);
      emit("s", time_nanos, node, kMessages, "message", ",\"cat\":\"message\",\"id\":" + std::to_string(b));
      break;
    case TraceEvent::kDeliver:
      emit("X", time_nanos, node, kMessages, "receive " + std::string(first_words(detail, 2)), flow_slice);
      emit("f", time_nanos, node, kMessages, "message",
           ",\"cat\":\"message\",\"bp\":\"e\",\"id\":" + std::to_string(b));
      break;
    case TraceEvent::kDrop:
      emit("i", time_nanos, node, kMessages, "drop (" + std::string(detail) + ") to " + std::to_string(a),
           ",\"s\":\"t\"");
      break;
    case TraceEvent::kDiskRead:
    case TraceEvent::kDiskWrite:
    case TraceEvent::kDiskSync:
    case TraceEvent::kDiskMetadata:
      emit("i", time_nanos, node, kDisk, std::string(trace_event_name(event)) + " " + std::string(detail), ",\"s\":\"t\"");
      break;
    case TraceEvent::kFault:
    case TraceEvent::kHeal:
      emit("i", time_nanos, node, kFaults, std::string(trace_event_name(event)) + " " + std::string(detail),
           ",\"s\":\"p\"");
      break;
    case TraceEvent::kNodeStart:
    case TraceEvent::kNodeCrash:
      emit("i", time_nanos, node, kFaults, std::string(trace_event_name(event)) + " (incarnation " + std::to_string(a) + ")",
           ",\"s\":\"p\"");
      break;
    case TraceEvent::kClientInvoke:
      emit("B", time_nanos, node, kOperations, detail.empty() ? "operation " + std::to_string(a) : std::string(detail));
      break;
    case TraceEvent::kClientComplete:
      emit("E", time_nanos, node, kOperations, "", args);
      break;
    case TraceEvent::kDuplicate:  // the copy gets a flow of its own
      emit("X", time_nanos, node, kMessages, "duplicate", flow_slice);
      emit("s", time_nanos, node, kMessages, "message", ",\"cat\":\"message\",\"id\":" + std::to_string(c));
      break;
    case TraceEvent::kTimer:
      break;
  }
  (void)c;
}

void PerfettoExport::note(int64_t time_nanos, uint64_t node, std::string_view text) {
  emit("i", time_nanos, node, kLog, text.substr(0, 120), ",\"s\":\"t\",\"args\":{\"line\":" + json_quote(text) + "}");
}

}  // namespace cairn::sim
