// Trace: the record of everything externally visible in a simulated run. Every send, delivery,
// drop, timer, disk operation, fault and client operation is folded into a 64-bit hash, so two
// runs of the same binary, scenario and seed can be compared by one number (they must match);
// optionally each event is also written as a line to an event log for debugging a seed.
//
// Events are typed fields, not formatted text, so that hashing costs a few multiplications and
// changing a log message never changes a hash.
#pragma once

#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <string_view>

namespace cairn::sim {

enum class TraceEvent : uint8_t {
  kSend,
  kDeliver,
  kDrop,
  kDuplicate,
  kTimer,
  kDiskRead,
  kDiskWrite,
  kDiskSync,
  kDiskMetadata,
  kFault,
  kHeal,
  kNodeStart,
  kNodeCrash,
  kClientInvoke,
  kClientComplete,
};

std::string_view trace_event_name(TraceEvent event);

// FNV-1a of a string, for folding names and paths into the trace.
uint64_t hash_text(std::string_view text);

class Trace {
 public:
  Trace() = default;
  ~Trace();
  Trace(const Trace&) = delete;
  Trace& operator=(const Trace&) = delete;

  // Starts writing one line per event to `path`. Returns false if the file cannot be opened.
  bool open_log(const std::string& path);

  // Folds an event into the hash. `a`, `b`, `c` are event-specific numbers (ids, sizes,
  // offsets); `detail` is written to the log only.
  void record(int64_t time_nanos, TraceEvent event, uint64_t node, uint64_t a = 0, uint64_t b = 0, uint64_t c = 0,
              std::string_view detail = {});
  // A free-form line in the event log (log messages of nodes); not part of the hash.
  void note(int64_t time_nanos, uint64_t node, std::string_view text);

  uint64_t hash() const { return hash_; }
  uint64_t events() const { return events_; }
  bool logging() const { return log_ != nullptr; }

 private:
  void fold(uint64_t word);

  uint64_t hash_ = 0x6a09e667f3bcc908ULL;
  uint64_t events_ = 0;
  std::FILE* log_ = nullptr;
};

// "%016llx" of a hash.
std::string format_hash(uint64_t hash);

}  // namespace cairn::sim
