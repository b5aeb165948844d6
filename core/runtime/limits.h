// The size limits of Cairn, in one place: how large a message, a key, a value, a command, an
// append, a snapshot chunk, a log record and a range descriptor may be, and how many metric
// series a node and range descriptors a router keep.
// Components take their limits from here, and the static_asserts below relate the limits to
// each other, so that raising one cannot quietly break another: a value the engine accepts but
// no message can carry, a snapshot chunk larger than a frame, a simulator that delivers what TCP
// refuses.
#pragma once

#include <cstddef>
#include <cstdint>

namespace cairn::limits {

// --- Messages --------------------------------------------------------------------------------
// One serialized Envelope, the unit every transport carries: the payload of a TCP frame
// (net/frame_codec.h) and a simulated message (sim/sim_network.h) have this one limit, so a run
// in the simulator never passes what the daemon would refuse.
inline constexpr std::size_t kMessageBytesMax = std::size_t{16} << 20;
// What an Envelope and the message inside it may add to the bulk they carry (keys, values, log
// entries, snapshot chunks): addresses, service and type names, ids, terms, a status message,
// protobuf tags and lengths.
inline constexpr std::size_t kMessageOverheadBytesMax = std::size_t{64} << 10;

// --- Keys, values, commands ------------------------------------------------------------------
inline constexpr std::size_t kKeyBytesMax = 4096;
// A client's key: a stored key leaves room for what the database puts before it (a keyspace
// prefix, core/kv/range_keys.h).
inline constexpr std::size_t kClientKeyBytesMax = kKeyBytesMax - 64;
inline constexpr std::size_t kValueBytesMax = std::size_t{4} << 20;
// One replicated command: a key and at most two values (a compare-and-set carries the expected
// value and the new one) and small fields (client id, sequence, timestamps).
inline constexpr std::size_t kCommandFieldsBytesMax = 4096;
inline constexpr std::size_t kCommandBytesMax = kKeyBytesMax + 2 * kValueBytesMax + kCommandFieldsBytesMax;
// A storage write batch applies at least one command.
inline constexpr std::size_t kBatchMutationsMax = 100'000;
inline constexpr std::size_t kBatchBytesMax = std::size_t{64} << 20;
inline constexpr std::size_t kScanRowsMax = 100'000;
// A scan stops once its rows hold this many bytes (at least one row), so that its reply fits a
// message; the reply then says where to resume.
inline constexpr std::size_t kScanReplyBytesMax = std::size_t{8} << 20;

// --- The Raft log ----------------------------------------------------------------------------
// What a log entry adds to its command, counted in an append's size (index, term, type, and
// the tags and lengths around them, each at most ten bytes).
inline constexpr std::size_t kEntryOverheadBytesMax = 48;
// Entry data per append message; an append carries at least one entry, so it may pass this by
// one entry.
inline constexpr std::size_t kAppendBytesMax = std::size_t{4} << 20;
inline constexpr std::size_t kAppendBytesDefault = std::size_t{1} << 20;
// One record of the write-ahead log (a log entry, a hard state, a snapshot marker).
inline constexpr uint64_t kWalRecordBytesMax = uint64_t{256} << 20;
inline constexpr uint64_t kWalBatchRecordsBytesMax = uint64_t{1} << 30;

// --- Snapshots -------------------------------------------------------------------------------
// A snapshot chunk is cut once its rows pass the target (storage/kv/kv_snapshot.h), so it may
// exceed the target by one row: a key, a value, and the row's own fields.
inline constexpr std::size_t kSnapshotChunkTargetBytesMax = std::size_t{4} << 20;
inline constexpr std::size_t kSnapshotChunkTargetBytesDefault = std::size_t{256} << 10;
inline constexpr std::size_t kSnapshotRowOverheadBytesMax = 32;
inline constexpr std::size_t kSnapshotChunkHeaderBytesMax = 64;
// A snapshot covers a few key spans (a range's data and its range-local records), listed in its
// first chunk: each bound at most one byte longer than a key, with a length.
inline constexpr std::size_t kSnapshotSpansMax = 4;
inline constexpr std::size_t kSnapshotSpansBytesMax = 4 + kSnapshotSpansMax * 2 * (4 + kKeyBytesMax + 1);
inline constexpr std::size_t kSnapshotChunkBytesMax = kSnapshotChunkTargetBytesMax + kKeyBytesMax + kValueBytesMax +
                                                      kSnapshotRowOverheadBytesMax + kSnapshotChunkHeaderBytesMax +
                                                      kSnapshotSpansBytesMax;

// --- Ranges ----------------------------------------------------------------------------------
// A range descriptor (core/shard/range_descriptor.h): two keys, its replicas (node and kind,
// each at most 16 bytes encoded) and small fields.
inline constexpr std::size_t kRangeReplicasMax = 16;
inline constexpr std::size_t kRangeDescriptorBytesMax = 2 * (kKeyBytesMax + 8) + kRangeReplicasMax * 16 + 64;
// A range error names at most this many descriptors (the replica's own and its neighbours').
inline constexpr std::size_t kRangeErrorDescriptorsMax = 8;
// The router's range cache (core/shard/range_cache.h): descriptors it keeps at most.
inline constexpr std::size_t kRangeCacheEntriesMaxDefault = 100'000;

// --- Metrics ---------------------------------------------------------------------------------
inline constexpr std::size_t kMetricSeriesMax = 10'000;

// --- How the limits relate -------------------------------------------------------------------
static_assert(kKeyBytesMax + kValueBytesMax + kMessageOverheadBytesMax <= kMessageBytesMax,
              "a request that writes a key and a value fits one message");
static_assert(kCommandBytesMax + kMessageOverheadBytesMax <= kMessageBytesMax,
              "a request carrying one command (a compare-and-set) fits one message");
static_assert(kAppendBytesMax + kCommandBytesMax + kEntryOverheadBytesMax + kMessageOverheadBytesMax <= kMessageBytesMax,
              "an append (its data limit, passed by one entry) fits one message");
static_assert(kSnapshotChunkBytesMax + kMessageOverheadBytesMax <= kMessageBytesMax,
              "a snapshot chunk fits one message");
static_assert(kCommandBytesMax + kEntryOverheadBytesMax <= kWalRecordBytesMax, "a log entry fits one WAL record");
static_assert(kMessageBytesMax <= kWalBatchRecordsBytesMax, "an append's entries fit one WAL batch");
static_assert(kCommandBytesMax <= kBatchBytesMax, "a storage batch can apply the largest command");
static_assert(kScanReplyBytesMax + kKeyBytesMax + kValueBytesMax + kMessageOverheadBytesMax <= kMessageBytesMax,
              "a scan reply (its byte limit, passed by one row) fits one message");
static_assert(kAppendBytesDefault <= kAppendBytesMax && kSnapshotChunkTargetBytesDefault <= kSnapshotChunkTargetBytesMax,
              "the defaults are within the limits");
static_assert(kRangeErrorDescriptorsMax * kRangeDescriptorBytesMax + kMessageOverheadBytesMax <= kMessageBytesMax,
              "a range error fits one message");
static_assert(kMessageBytesMax < (std::size_t{1} << 32), "a frame's length fits its 4-byte header");

}  // namespace cairn::limits
