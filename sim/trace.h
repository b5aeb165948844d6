// Trace: the record of everything externally visible in a simulated run. Every send, delivery,
// drop, timer, disk operation, fault and client operation is folded into a 64-bit hash, so two
// runs of the same binary, scenario and seed can be compared by one number (they must match).
// Sinks (TraceSink) may also receive every event and every node log line: the event log of
// `--trace-log` (one readable line each) and the Perfetto export of `--perfetto`.
//
// Events are typed fields, not formatted text, so that hashing costs a few multiplications and
// changing a log message never changes a hash. Text for the sinks (a message's payload, a path)
// is built only while a sink listens: callers check logging() first.
#pragma once

#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace cairn::sim {

enum class TraceEvent : uint8_t {
  kSend,            // node: sender; a: receiver; b: message id; c: hash of the payload type
  kDeliver,         // node: receiver; a: sender; b: message id; c: hash of the payload type
  kDrop,            // node: sender; a: receiver; b: hash of the reason; c: message id
  kDuplicate,       // node: sender; a: receiver; b: id of the original; c: id of the copy
  kTimer,           // a: the node's timer id
  kDiskRead,        // a: hash of the path; b: offset; c: bytes (-1: failed)
  kDiskWrite,       // a: hash of the path; b: offset or new size; c: bytes (negative: failed, no space, truncate)
  kDiskSync,        // a: hash of the path; b: inode; c: durable bytes (-1: failed)
  kDiskMetadata,    // a: hash of the path; b: operation (1 open, 2 remove, 3 rename, 4 mkdir); c: detail
  kFault,           // a: hash of the kind; b: detail (a link count, a clock jump)
  kHeal,            // a: hash of what ended
  kNodeStart,       // a: incarnation
  kNodeCrash,       // a: incarnation
  kClientInvoke,    // node: client; a: operation number; b: function
  kClientComplete,  // node: client; a: operation number; b: outcome; c: hash of the value read
};

std::string_view trace_event_name(TraceEvent event);

// FNV-1a of a string, for folding names and paths into the trace.
uint64_t hash_text(std::string_view text);

// Receives every event and log line of a run, in order.
class TraceSink {
 public:
  virtual ~TraceSink() = default;
  virtual void event(int64_t time_nanos, TraceEvent event, uint64_t node, uint64_t a, uint64_t b, uint64_t c,
                     std::string_view detail) = 0;
  virtual void note(int64_t time_nanos, uint64_t node, std::string_view text) = 0;
};

class Trace {
 public:
  Trace() = default;
  Trace(const Trace&) = delete;
  Trace& operator=(const Trace&) = delete;

  // Starts writing one readable line per event to `path`. Returns false if it cannot be opened.
  bool open_log(const std::string& path);
  // Adds a sink the trace does not own (it must outlive the run).
  void add_sink(TraceSink* sink) { sinks_.push_back(sink); }

  // Folds an event into the hash and hands it to the sinks. `a`, `b`, `c` are event-specific
  // numbers (TraceEvent says which); `detail` reaches the sinks only.
  void record(int64_t time_nanos, TraceEvent event, uint64_t node, uint64_t a = 0, uint64_t b = 0, uint64_t c = 0,
              std::string_view detail = {});
  // A free-form line for the sinks (log lines of nodes); not part of the hash.
  void note(int64_t time_nanos, uint64_t node, std::string_view text);

  uint64_t hash() const { return hash_; }
  uint64_t events() const { return events_; }
  // Whether any sink listens (so text for it is worth building).
  bool logging() const { return !sinks_.empty(); }

 private:
  void fold(uint64_t word);

  uint64_t hash_ = 0x6a09e667f3bcc908ULL;
  uint64_t events_ = 0;
  std::unique_ptr<TraceSink> log_;
  std::vector<TraceSink*> sinks_;
};

// "%016llx" of a hash.
std::string format_hash(uint64_t hash);

}  // namespace cairn::sim
