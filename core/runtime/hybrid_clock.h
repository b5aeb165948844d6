// HybridClock: a node's hybrid logical clock (Kulkarni et al., "Logical Physical Clocks and
// Consistent Snapshots", 2014). Its timestamps follow the wall clock (Runtime::wall_now()) yet
// never go backwards, even when the wall clock steps back, and exceed every timestamp the node
// has observed from elsewhere, so that commit timestamps of different ranges and nodes compare
// in the order of cause and effect.
//
// A timestamp is one uint64: milliseconds since the Unix epoch in the high 48 bits, a logical
// counter in the low 16 — so it orders as a number, fits the storage engine's signed 64-bit
// column (until the year 6429), and reads as a date (format_hlc). A logical counter that
// overflows carries into the milliseconds: the clock runs a little ahead of the wall, never
// backwards.
//
// The maximum clock offset: a timestamp from elsewhere more than max_offset ahead of this node's
// wall clock is evidence of a broken clock (here or there). observe() refuses it rather than drag
// this clock along, since every later timestamp of this node would carry the error — unless this
// clock already reached it: then nothing is dragged, and refusing would only stall a client that
// saw what this node made or applied. Telling which clock is wrong is the ClockOffsetMonitor's job
// (core/kv/clock_offset_monitor.h).
//
// A committed timestamp is different: it is in the data already (a leader whose clock was ahead
// committed it before anyone could tell), and every later commit of its range goes above it
// anyway. observe_committed() folds it in whatever its distance, so that this node's clock agrees
// with the data it serves and clients that read it are not refused until the wall catches up.
#pragma once

#include <cstdint>
#include <string>

#include "core/runtime/status.h"
#include "core/runtime/time.h"

namespace cairn {

class Runtime;

using HlcTimestamp = uint64_t;

inline constexpr int kHlcLogicalBits = 16;
inline constexpr uint64_t kHlcLogicalMax = (uint64_t{1} << kHlcLogicalBits) - 1;
inline constexpr uint64_t kHlcWallMillisecondsMax = (uint64_t{1} << (63 - kHlcLogicalBits)) - 1;

constexpr HlcTimestamp make_hlc(uint64_t wall_ms, uint64_t logical) { return (wall_ms << kHlcLogicalBits) | logical; }
constexpr uint64_t hlc_wall_ms(HlcTimestamp timestamp) { return timestamp >> kHlcLogicalBits; }
constexpr uint64_t hlc_logical(HlcTimestamp timestamp) { return timestamp & kHlcLogicalMax; }
// The timestamp `duration` before `timestamp` (its logical part kept), or 0 if that is before the epoch.
HlcTimestamp hlc_minus(HlcTimestamp timestamp, Duration duration);
// "2026-12-07T16:53:07.123Z+4": the wall part in UTC and the logical counter.
std::string format_hlc(HlcTimestamp timestamp);

class HybridClock {
 public:
  HybridClock(Runtime& runtime, Duration max_offset);

  // A timestamp above every one this clock returned or observed, and at or above the wall clock.
  HlcTimestamp now();
  // Folds in a timestamp from elsewhere, so that later now() exceed it. FAILED_PRECONDITION
  // (nothing folded in) if it is more than max_offset ahead of this node's wall clock and above
  // every timestamp this clock returned or observed.
  Status observe(HlcTimestamp remote);
  // Folds in a timestamp that a replicated log committed, however far ahead of the wall clock.
  void observe_committed(HlcTimestamp committed);
  // The highest timestamp returned or observed so far (0 before any).
  HlcTimestamp last() const { return last_; }
  Duration max_offset() const { return max_offset_; }

 private:
  // This node's wall clock as an HLC timestamp with logical 0 (0 before the epoch).
  HlcTimestamp wall_timestamp() const;

  Runtime* runtime_;
  Duration max_offset_;
  HlcTimestamp last_ = 0;
};

}  // namespace cairn
