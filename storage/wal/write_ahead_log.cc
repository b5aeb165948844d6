// The write-ahead log: opening, group-committed appends, reads by index and compaction (see
// write_ahead_log.h).
#include "storage/wal/write_ahead_log.h"

#include <algorithm>
#include <cstring>
#include <mutex>

#include "core/runtime/assert.h"
#include "storage/wal/wal_format.h"
#include "storage/wal/wal_recovery.h"

namespace cairn {
namespace {

// The read-back buffer is reused between batches up to this size: ordinary group commits then
// cost no allocation (or, above the allocator's mmap threshold, no page faults) per batch.
constexpr std::size_t kKeptReadBackBufferBytes = std::size_t{1} << 20;

// Lays out one batch (header, records, zero padding) for a segment with `salt`, and the
// location each record will have once the batch is written at `offset`. Frees each group's
// payload copy once it is in the batch, so that the write path holds the queue plus one batch,
// not the batch twice.
std::vector<std::byte> encode_batch(std::vector<wal::PendingGroup>& groups, const wal::BatchHeader& header,
                                    uint64_t salt, uint64_t offset, std::vector<wal::RecordLocation>& locations) {
  std::vector<std::byte> buffer(wal::batch_extent(header.records_length));  // zero-filled: the padding
  wal::encode_batch_header(header, salt, std::span<std::byte, wal::kBatchHeaderSize>(buffer.data(),
                                                                                     wal::kBatchHeaderSize));
  locations.reserve(header.record_count);
  uint64_t position = wal::kBatchHeaderSize;
  uint64_t index = header.first_index;
  for (wal::PendingGroup& group : groups) {
    std::size_t payload_offset = 0;
    for (std::size_t i = 0; i < group.record_count(); ++i) {
      const uint32_t length = group.payload_lengths[i];
      const auto payload = std::span<const std::byte>(group.payloads).subspan(payload_offset, length);
      const auto header_bytes = std::span<std::byte, wal::kRecordHeaderSize>(buffer.data() + position,
                                                                             wal::kRecordHeaderSize);
      wal::encode_record_header({.payload_length = length, .index = index, .type = group.types[i]}, payload, salt,
                                header_bytes);
      std::copy(payload.begin(), payload.end(),
                buffer.begin() + static_cast<std::ptrdiff_t>(position + wal::kRecordHeaderSize));
      locations.push_back(wal::RecordLocation{.offset = offset + position, .payload_length = length});
      position += wal::record_size(length);
      payload_offset += length;
      ++index;
    }
    std::vector<std::byte>().swap(group.payloads);
  }
  CAIRN_ASSERT(position == wal::kBatchHeaderSize + header.records_length, "WAL batch layout is inconsistent");
  return buffer;
}

}  // namespace

Result<std::unique_ptr<WriteAheadLog>> WriteAheadLog::open_log(Runtime& runtime, WalOptions options,
                                                               uint64_t first_index_if_new) {
  CAIRN_RETURN_IF_ERROR(validate_wal_options(options));
  if (first_index_if_new == 0) return Status::invalid_argument("the first index of a new WAL must be at least 1");
  FileSystem& file_system = runtime.file_system();
  CAIRN_ASSIGN_OR_RETURN(wal::RecoveredLog recovered,
                         wal::recover_log(file_system, options.directory, options.verify_writes,
                                          options.salvage_damage));
  WalRecoveryReport& report = recovered.report;
  if (recovered.segments.empty()) {
    uint64_t syncs = 0;
    CAIRN_ASSIGN_OR_RETURN(std::shared_ptr<wal::Segment> segment,
                           wal::create_segment(file_system, options.directory, first_index_if_new,
                                               runtime.random().next_u64(), options.verify_writes, syncs));
    recovered.segments.push_back(std::move(segment));
    report.created = true;
    report.segments = 1;
    report.first_index = first_index_if_new;
    report.last_index = first_index_if_new - 1;
  }
  const bool dropped_something =
      report.torn_tail.has_value() || !report.removed_torn_segments.empty() || !report.damaged.empty();
  if (report.torn_tail.has_value()) runtime.probe("wal.recovery.torn_tail_truncated");
  if (!report.removed_torn_segments.empty()) runtime.probe("wal.recovery.torn_segment_removed");
  if (!report.damaged.empty()) runtime.probe("wal.recovery.damaged_batch_salvaged");
  runtime.logger().log(dropped_something ? LogLevel::kWarning : LogLevel::kInfo, "wal", "opened",
                       {{"directory", options.directory}, {"recovery", report.summary()}});
  return std::unique_ptr<WriteAheadLog>(
      new WriteAheadLog(runtime, std::move(options), std::move(recovered.segments), std::move(report)));
}

WriteAheadLog::WriteAheadLog(Runtime& runtime, WalOptions options,
                             std::vector<std::shared_ptr<wal::Segment>> recovered_segments, WalRecoveryReport report)
    : runtime_(&runtime),
      options_(std::move(options)),
      recovery_report_(std::move(report)),
      segments_(std::move(recovered_segments)),
      last_index_(segments_.back()->next_index() - 1),
      // An empty segment has its header block; a batch in it also needs its own header.
      batch_budget_(options_.max_segment_bytes / wal::kBlockSize * wal::kBlockSize - wal::kBlockSize -
                    wal::kBatchHeaderSize),
      metrics_(find_metrics(runtime.metrics())),
      queue_(last_index_ + 1, options_.max_pending_records, options_.max_pending_bytes),
      writer_scope_(runtime.process()) {
  CAIRN_ASSERT(!segments_.empty(), "a WAL needs a segment to write to");
  writer_scope_.spawn("wal-writer", [this] { run_writer(); });
}

WriteAheadLog::~WriteAheadLog() {
  // The writer first: it uses everything else. Groups it held or that were queued resolve
  // CANCELLED as their promises are destroyed.
  writer_scope_.cancel();
}

WriteAheadLog::Metrics WriteAheadLog::find_metrics(metrics::MetricsRegistry& registry) {
  return Metrics{
      .fsync_seconds = registry.histogram("cairn_wal_fsync_seconds", "Time one WAL batch's fsync took, in seconds.", {},
                                          metrics::latency_buckets_seconds()),
      .records_per_sync = registry.histogram("cairn_wal_records_per_sync",
                                             "Records made durable by one WAL batch fsync (group commit).", {},
                                             metrics::count_buckets()),
      .syncs = registry.counter("cairn_wal_syncs_total", "WAL batch fsyncs issued."),
      .sync_failures = registry.counter("cairn_wal_sync_failures_total", "WAL batch fsyncs that failed.")};
}

Status WriteAheadLog::validate_group(std::span<const WalRecordInput> records) const {
  if (records.empty()) return Status::invalid_argument("a WAL append needs at least one record");
  uint64_t bytes = 0;
  for (std::size_t i = 0; i < records.size(); ++i) {
    if (records[i].type == 0) {
      return Status::invalid_argument("WAL record " + std::to_string(i) + " has type 0, which is reserved");
    }
    if (records[i].payload.size() > options_.max_record_bytes) {
      return Status::invalid_argument("WAL record " + std::to_string(i) + " has " +
                                      std::to_string(records[i].payload.size()) +
                                      " payload bytes, more than max_record_bytes (" +
                                      std::to_string(options_.max_record_bytes) + ")");
    }
    bytes += wal::record_size(records[i].payload.size());
  }
  if (!queue_.fits_alone(records.size(), bytes)) {
    return Status::invalid_argument("a WAL batch of " + std::to_string(records.size()) + " records and " +
                                    std::to_string(bytes) + " bytes exceeds max_pending_records (" +
                                    std::to_string(options_.max_pending_records) + ") or max_pending_bytes (" +
                                    std::to_string(options_.max_pending_bytes) + ")");
  }
  return {};
}

Result<uint64_t> WriteAheadLog::append(uint8_t type, std::span<const std::byte> payload) {
  const WalRecordInput record{.type = type, .payload = payload};
  return append_batch(std::span<const WalRecordInput>(&record, 1));
}

Result<uint64_t> WriteAheadLog::append_batch(std::span<const WalRecordInput> records) {
  CAIRN_RETURN_IF_ERROR(validate_group(records));
  CAIRN_ASSIGN_OR_RETURN(Future<uint64_t> durable, queue_.push(records));
  return durable.get();
}

void WriteAheadLog::run_writer() {
  while (true) {
    // A writer that waits lets more appends gather into one batch; one that takes a single
    // group writes the smallest batch there is.
    if (runtime_->buggify("wal.writer.waits_for_more")) runtime_->sleep(milliseconds(1 + runtime_->random().uniform(5)));
    const uint64_t budget = runtime_->buggify("wal.writer.one_group_per_batch") ? 1 : batch_budget_;
    std::vector<wal::PendingGroup> groups = queue_.take(budget);
    if (groups.empty()) return;  // the log failed: nothing will be written again
    const Status written = write_batch(groups);
    if (!written.ok()) {
      const Status sticky = fail(written);
      for (wal::PendingGroup& group : groups) group.done.set_error(sticky);
      return;
    }
    for (wal::PendingGroup& group : groups) group.done.set_value(group.first_index);
  }
}

Status WriteAheadLog::write_batch(std::vector<wal::PendingGroup>& groups) {
  const uint64_t first_index = groups.front().first_index;
  CAIRN_ASSERT(first_index == last_index_ + 1, "WAL batch starts at " + std::to_string(first_index) +
                                                   " after last index " + std::to_string(last_index_));
  uint64_t records_length = 0;
  uint64_t record_count = 0;
  for (const wal::PendingGroup& group : groups) {
    records_length += group.encoded_bytes;
    record_count += group.record_count();
  }
  const uint64_t extent = wal::batch_extent(records_length);
  // Roll over to a new segment if this batch would overflow the current one. The current one
  // needs no further sync to be sealed: its last batch was synced before this one was taken.
  if (!segments_.back()->records.empty() &&
      (segments_.back()->end_offset + extent > options_.max_segment_bytes ||
       runtime_->buggify("wal.segment.rolled_over_early"))) {
    CAIRN_RETURN_IF_ERROR(start_segment(first_index));
  }
  std::shared_ptr<wal::Segment> segment = segments_.back();
  const uint64_t offset = segment->end_offset;

  // Every batch before this one is synced, so everything up to last_index_ is durable.
  const wal::BatchHeader header{.record_count = static_cast<uint32_t>(record_count),
                                .first_index = first_index,
                                .records_length = records_length,
                                .durable_through = last_index_};
  std::vector<wal::RecordLocation> locations;
  const std::vector<std::byte> buffer = encode_batch(groups, header, segment->salt, offset, locations);
  CAIRN_RETURN_IF_ERROR(segment->file->write(offset, buffer)
                            .with_context("writing a WAL batch to " + segment->path + " at offset " +
                                          std::to_string(offset)));
  ++counters_.syncs;
  CAIRN_RETURN_IF_ERROR(sync_batch(*segment, record_count));
  CAIRN_RETURN_IF_ERROR(verify_batch(*segment, offset, buffer, first_index, first_index + record_count - 1));

  segment->records.insert(segment->records.end(), locations.begin(), locations.end());
  segment->end_offset = offset + extent;
  last_index_ = first_index + record_count - 1;
  ++counters_.batches_written;
  counters_.records_written += record_count;
  return {};
}

Status WriteAheadLog::sync_batch(const wal::Segment& segment, uint64_t record_count) {
  const MonotonicTime started = runtime_->now();
  if (runtime_->buggify("wal.sync.slow")) runtime_->sleep(milliseconds(5 + runtime_->random().uniform(50)));
  // A failed fsync: the log refuses appends until reopened, as after a real one.
  const Status synced = runtime_->buggify("wal.sync.failed") ? Status::io_error("fsync failed (buggify)")
                                                              : segment.file->sync();
  metrics_.fsync_seconds.observe(to_seconds(runtime_->now() - started));
  metrics_.records_per_sync.observe(static_cast<double>(record_count));
  metrics_.syncs.add();
  if (!synced.ok()) metrics_.sync_failures.add();
  return synced.with_context("syncing " + segment.path);
}

Status WriteAheadLog::verify_batch(const wal::Segment& segment, uint64_t offset, std::span<const std::byte> batch,
                                  uint64_t first_index, uint64_t last_index) {
  if (!options_.verify_writes) return {};
  ++counters_.batches_read_back;
  const Status verified = wal::read_back(*segment.file, segment.path, offset, batch, "WAL batch", read_back_buffer_);
  // Kept for the next batch, unless a big one would pin its size for good.
  if (read_back_buffer_.capacity() > kKeptReadBackBufferBytes) std::vector<std::byte>().swap(read_back_buffer_);
  if (verified.ok()) return {};
  ++counters_.read_back_failures;
  // The batch is synced but wrong (or unreadable): its records must not be acknowledged. What
  // the medium holds is left to recovery, exactly as after a failed fsync.
  return Status(verified.code(), verified.message() + "; records " + std::to_string(first_index) + " to " +
                                     std::to_string(last_index) + " are not acknowledged");
}

Status WriteAheadLog::start_segment(uint64_t first_index) {
  uint64_t syncs = 0;
  Result<std::shared_ptr<wal::Segment>> created =
      wal::create_segment(runtime_->file_system(), options_.directory, first_index, runtime_->random().next_u64(),
                          options_.verify_writes, syncs);
  counters_.syncs += syncs;
  if (!created.ok()) return created.status();
  segments_.push_back(std::move(created).value());
  ++counters_.segments_created;
  runtime_->logger().log(LogLevel::kDebug, "wal", "segment started",
                         {{"path", segments_.back()->path}, {"first_index", first_index}});
  return {};
}

Status WriteAheadLog::fail(const Status& status) {
  if (queue_.failure().ok()) {
    runtime_->logger().log(LogLevel::kError, "wal", "failed; appends are refused until the log is reopened",
                           {{"directory", options_.directory}, {"error", status.to_string()}});
    queue_.fail(status);
  }
  return queue_.failure();
}

std::shared_ptr<wal::Segment> WriteAheadLog::segment_holding(uint64_t index) const {
  auto after = std::upper_bound(segments_.begin(), segments_.end(), index,
                                [](uint64_t value, const std::shared_ptr<wal::Segment>& segment) {
                                  return value < segment->first_index;
                                });
  CAIRN_ASSERT(after != segments_.begin(), "no WAL segment holds index " + std::to_string(index));
  return *std::prev(after);
}

Result<WalRecord> WriteAheadLog::read(uint64_t index) {
  if (index < first_index() || index > last_index_) {
    return Status::out_of_range("WAL index " + std::to_string(index) + " is outside the log [" +
                                std::to_string(first_index()) + ", " + std::to_string(last_index_) + "]");
  }
  // Held across the blocking read: remove_before may drop the segment from the list meanwhile.
  std::shared_ptr<wal::Segment> segment = segment_holding(index);
  return wal::read_record(*segment, index);
}

Status WriteAheadLog::remove_before(uint64_t index) {
  std::lock_guard lock(removal_mutex_);
  FileSystem& file_system = runtime_->file_system();
  while (true) {
    if (!queue_.failure().ok()) return queue_.failure();
    if (segments_.size() < 2 || segments_[1]->first_index > index) return {};
    // Old segments may stay longer than asked: removal is a promise of space, not of content.
    if (runtime_->buggify("wal.segment.removal_deferred")) return {};
    // Out of the list first, so that reads see the new first index at once.
    std::shared_ptr<wal::Segment> removed = segments_.front();
    segments_.erase(segments_.begin());
    Status status = file_system.remove(removed->path);
    if (status.ok()) {
      ++counters_.syncs;
      status = file_system.sync_directory(options_.directory);
    }
    if (!status.ok()) return fail(status.with_context("removing WAL segment " + removed->path));
    ++counters_.segments_removed;
  }
}

std::vector<WalSegmentInfo> WriteAheadLog::segments() const {
  std::vector<WalSegmentInfo> infos;
  infos.reserve(segments_.size());
  for (const auto& segment : segments_) {
    infos.push_back(WalSegmentInfo{.path = segment->path,
                                   .first_index = segment->first_index,
                                   .record_count = segment->records.size(),
                                   .bytes = segment->end_offset});
  }
  return infos;
}

}  // namespace cairn
