// Recovery of a write-ahead log directory (see wal_recovery.h for the rules).
#include "storage/wal/wal_recovery.h"

#include <algorithm>
#include <optional>
#include <string>

#include "storage/wal/wal_segment_scanner.h"

namespace cairn::wal {
namespace {

struct SegmentName {
  std::string path;
  uint64_t first_index = 0;
};

std::string offset_text(uint64_t offset) { return "offset " + std::to_string(offset); }

Status ensure_directory(FileSystem& file_system, std::string_view directory) {
  CAIRN_ASSIGN_OR_RETURN(bool exists, file_system.exists(directory));
  if (exists) return {};
  CAIRN_RETURN_IF_ERROR(file_system.create_directory(directory).with_context("creating WAL directory"));
  // The new directory's own name lives in its parent.
  return file_system.sync_directory(parent_directory(directory)).with_context("syncing the WAL directory's parent");
}

Result<std::vector<SegmentName>> list_segments(FileSystem& file_system, std::string_view directory) {
  CAIRN_ASSIGN_OR_RETURN(std::vector<std::string> names, file_system.list(directory));
  std::vector<SegmentName> segments;
  for (const std::string& name : names) {  // sorted by name, which sorts segments by index
    std::optional<uint64_t> first_index = parse_segment_file_name(name);
    if (!first_index) {
      return Status::corruption("unexpected entry '" + name + "' in WAL directory '" + std::string(directory) +
                                "' (not a segment name such as " + segment_file_name(1) + ")");
    }
    segments.push_back(SegmentName{.path = std::string(directory) + "/" + name, .first_index = *first_index});
  }
  return segments;
}

// Whether the segment is what a crash during create_segment() leaves: too short to hold a
// record, or an invalid header followed by nothing but zeros.
Result<bool> is_torn_creation(FileSystem& file_system, const SegmentName& name) {
  CAIRN_ASSIGN_OR_RETURN(std::unique_ptr<File> file, file_system.open(name.path, OpenOptions::read()));
  CAIRN_ASSIGN_OR_RETURN(uint64_t size, file->size());
  if (size < kBlockSize) return true;
  std::vector<std::byte> block(kBlockSize);
  CAIRN_RETURN_IF_ERROR(read_exactly(*file, name.path, 0, block));
  if (decode_segment_header(block).ok()) return false;
  return zero_from(*file, name.path, kBlockSize, size);
}

Status remove_torn_creation(FileSystem& file_system, std::string_view directory, std::vector<SegmentName>& segments,
                            WalRecoveryReport& report) {
  const SegmentName& last = segments.back();
  CAIRN_ASSIGN_OR_RETURN(bool torn, is_torn_creation(file_system, last));
  if (!torn) return {};
  CAIRN_RETURN_IF_ERROR(file_system.remove(last.path).with_context("removing torn segment creation"));
  CAIRN_RETURN_IF_ERROR(file_system.sync_directory(directory).with_context("syncing WAL directory"));
  report.removed_torn_segments.push_back(last.path);
  segments.pop_back();
  return {};
}

Status damaged_sealed_segment(const std::string& path, const InvalidBatch& invalid) {
  return Status::corruption("WAL corruption in " + path + " at " + offset_text(invalid.offset) + " (index " +
                            std::to_string(invalid.expected_index) + "): " + invalid.reason +
                            "; the segment is sealed (a later segment exists), so all of it had been synced. "
                            "Nothing was truncated: repair this node's log from its peers");
}

Status damaged_synced_batch(const std::string& path, const InvalidBatch& invalid, const VouchingBatch& vouching) {
  // A voucher off a block boundary, or at the damaged batch's own offset, is not where the writer
  // put it: the copy a misdirected write left behind (and maybe the cause of the damage).
  const bool out_of_place = vouching.offset % kBlockSize != 0 || vouching.offset <= invalid.offset;
  return Status::corruption("WAL corruption in " + path + " at " + offset_text(invalid.offset) + " (index " +
                            std::to_string(invalid.expected_index) + "): " + invalid.reason + "; the batch header at " +
                            offset_text(vouching.offset) +
                            (out_of_place ? " (out of place: a misdirected write of batch " +
                                                std::to_string(vouching.header.first_index) + ")"
                                          : std::string()) +
                            " is durable through index " + std::to_string(vouching.header.durable_through) +
                            ", so the damaged batch had been synced: this is damage, not a torn write. "
                            "Nothing was truncated: repair this node's log from its peers");
}

// Cuts the last segment's file at the invalid batch and records what was dropped.
Status truncate_torn_tail(Segment& segment, const InvalidBatch& invalid, uint64_t file_size,
                          WalRecoveryReport& report) {
  CAIRN_ASSIGN_OR_RETURN(bool all_zero, zero_from(*segment.file, segment.path, invalid.offset, file_size));
  CAIRN_RETURN_IF_ERROR(segment.file->truncate(invalid.offset)
                            .with_context("truncating the torn tail of " + segment.path + " at " +
                                          offset_text(invalid.offset)));
  report.torn_tail = WalTornTail{.segment_path = segment.path,
                                 .offset = invalid.offset,
                                 .bytes_dropped = file_size - invalid.offset,
                                 .all_zero = all_zero,
                                 .reason = invalid.reason};
  return {};
}

// How often recovery writes the tail when it does not read back. The tail may hold acknowledged
// records; three failures in a row mean the disk cannot be trusted with them.
constexpr int kTailWriteAttempts = 3;

// Writes `bytes` at `offset` and (if `verify_writes`) reads them back, without syncing.
Status write_tail_once(Segment& segment, uint64_t offset, std::span<const std::byte> bytes, bool verify_writes) {
  CAIRN_RETURN_IF_ERROR(segment.file->write(offset, bytes)
                            .with_context("rewriting the tail of " + segment.path + " at " + offset_text(offset)));
  if (!verify_writes) return {};
  std::vector<std::byte> buffer;
  return read_back(*segment.file, segment.path, offset, bytes, "rewritten WAL tail", buffer);
}

// Step 5 of wal_recovery.h: writes the last valid batch (or the header block) again and syncs.
//
// Unlike an append, the rewrite is read back BEFORE it is synced, and written again from memory
// until it reads back. The batch it rewrites may be acknowledged and its only copy, and a
// rewrite that went astray can land over that very batch, shifted by a few sectors (its zero
// padding over the header, say). Synced, and with a crash before the retry, that damage would be
// vouched for by nothing (the stray copy is of the damaged batch itself, whose durable_through
// is below its own first index) and the next open would drop acknowledged records as a torn
// tail. Verified first, the sync only ever makes the intended bytes durable at their place;
// what a stray write did elsewhere is either past the end (dropped with the tail) or inside
// batches that this one vouches for (reported as CORRUPTION).
Status make_tail_durable(Segment& segment, const BatchWalk& walk, std::span<const std::byte> header_block,
                         bool verify_writes) {
  std::vector<std::byte> extent;
  uint64_t offset = 0;
  if (walk.last_batch.empty()) {
    extent.assign(header_block.begin(), header_block.end());
  } else {
    extent.resize(batch_extent(walk.last_batch.size() - kBatchHeaderSize));
    std::copy(walk.last_batch.begin(), walk.last_batch.end(), extent.begin());
    offset = walk.last_batch_offset;
  }
  Status written;
  for (int attempt = 0; attempt < kTailWriteAttempts; ++attempt) {
    written = write_tail_once(segment, offset, extent, verify_writes);
    // Only a mismatch is worth another try: a failed write or read is returned as it is.
    if (written.code() != StatusCode::kCorruption) break;
  }
  if (written.code() == StatusCode::kCorruption) {
    return written.with_context(std::to_string(kTailWriteAttempts) + " attempts to rewrite the tail failed");
  }
  CAIRN_RETURN_IF_ERROR(written);
  return segment.file->sync().with_context("syncing " + segment.path);
}

// Where the search for a vouching header starts: right after the last bytes that the walk
// validated (the header's meaningful bytes when no batch is valid). The padding after them is
// where a misdirected write may have put the copy that vouches for the invalid batch after it.
uint64_t vouching_search_start(const BatchWalk& walk) {
  if (walk.last_batch.empty()) return kSegmentHeaderSize;
  return walk.last_batch_offset + walk.last_batch.size();
}

// What recovery of one segment needs to know besides the segment itself.
struct SegmentContext {
  bool is_last = false;
  bool verify_writes = true;
  bool salvage_damage = false;
  // The first index of the next segment (sealed segments only): where a damaged end of this
  // one must stop.
  std::optional<uint64_t> next_segment_first_index;
};

// Entries for indexes [first_index, last_index] that a salvaging recovery could not read.
void add_damaged_records(BatchWalk& walk, uint64_t offset, uint64_t first_index, uint64_t last_index) {
  for (uint64_t index = first_index; index <= last_index; ++index) {
    walk.records.push_back(RecordLocation{.offset = offset, .payload_length = 0, .damaged = true});
  }
}

// The header at `offset` if it is valid, starts at `expected_index` and fits in the file: then
// the damaged batch's record count (and extent) can be trusted even though its records cannot.
Result<std::optional<BatchHeader>> trusted_header_at(File& file, const std::string& path, uint64_t salt,
                                                     uint64_t offset, uint64_t file_size, uint64_t expected_index) {
  if (file_size - offset < kBatchHeaderSize) return std::optional<BatchHeader>();
  std::vector<std::byte> bytes(kBatchHeaderSize);
  CAIRN_RETURN_IF_ERROR(read_exactly(file, path, offset, bytes));
  Result<BatchHeader> header = decode_batch_header(bytes, salt);
  if (!header.ok() || header->first_index != expected_index ||
      header->records_length > file_size - offset - kBatchHeaderSize) {
    return std::optional<BatchHeader>();
  }
  return std::optional<BatchHeader>(*header);
}

// Salvage (WalOptions::salvage_damage): skips the invalid batch that `walk` stopped at, which is
// known to have been synced, records the indexes it loses in the report, and resumes the walk
// at the next valid batch of the segment, if any. With nothing valid after it, the range ends
// before the next segment's first index (a sealed segment), or where the damaged batch's own
// header says (a last segment whose header is intact: the bytes are kept and the next batch
// goes after them, so that no index that was acknowledged is ever given to another record).
// Otherwise (last segment, header unreadable) how many records were lost is unknown: the file
// is truncated at the damaged batch, so that the next open cannot mistake those bytes for
// anything, and the next append reuses the first lost index.
Status skip_damaged_batch(Segment& segment, BatchWalk& walk, uint64_t file_size, const SegmentContext& context,
                          WalRecoveryReport& report) {
  const InvalidBatch invalid = *walk.invalid;
  WalDamagedRange range{.path = segment.path,
                        .offset = invalid.offset,
                        .first_index = invalid.expected_index,
                        .last_index = invalid.expected_index - 1,
                        .reason = invalid.reason};
  CAIRN_ASSIGN_OR_RETURN(std::optional<VouchingBatch> resume,
                         find_resume_batch(*segment.file, segment.path, segment.salt, invalid.offset + kBlockSize,
                                           file_size, invalid.expected_index));
  walk.invalid.reset();
  if (resume) {
    range.last_index = resume->header.first_index - 1;
    add_damaged_records(walk, invalid.offset, range.first_index, range.last_index);
    report.damaged.push_back(range);
    CAIRN_ASSIGN_OR_RETURN(BatchWalk rest, walk_batches(*segment.file, segment.path, segment.salt,
                                                        resume->header.first_index, file_size, resume->offset));
    walk.records.insert(walk.records.end(), rest.records.begin(), rest.records.end());
    if (!rest.last_batch.empty()) {
      walk.last_batch = std::move(rest.last_batch);
      walk.last_batch_offset = rest.last_batch_offset;
    }
    walk.end_offset = rest.end_offset;
    walk.invalid = std::move(rest.invalid);
    return {};
  }
  if (context.next_segment_first_index) {
    range.last_index = *context.next_segment_first_index - 1;
  } else {
    CAIRN_ASSIGN_OR_RETURN(std::optional<BatchHeader> header,
                           trusted_header_at(*segment.file, segment.path, segment.salt, invalid.offset, file_size,
                                             invalid.expected_index));
    if (header) {
      range.last_index = header->first_index + header->record_count - 1;
      walk.end_offset = invalid.offset + batch_extent(header->records_length);
    } else {
      CAIRN_RETURN_IF_ERROR(segment.file->truncate(invalid.offset)
                                .with_context("truncating the damaged tail of " + segment.path + " at " +
                                              offset_text(invalid.offset)));
    }
  }
  add_damaged_records(walk, invalid.offset, range.first_index, range.last_index);
  report.damaged.push_back(range);
  return {};
}

// Walks a segment's batches and decides about each invalid one (wal_recovery.h, steps 3 and 4):
// a torn tail is truncated, damage to synced batches is CORRUPTION or, when salvaging, skipped.
Result<BatchWalk> walk_segment(Segment& segment, uint64_t file_size, const SegmentContext& context,
                               WalRecoveryReport& report) {
  CAIRN_ASSIGN_OR_RETURN(BatchWalk walk,
                         walk_batches(*segment.file, segment.path, segment.salt, segment.first_index, file_size));
  while (walk.invalid) {
    if (!context.is_last) {
      if (!context.salvage_damage) return damaged_sealed_segment(segment.path, *walk.invalid);
    } else {
      CAIRN_ASSIGN_OR_RETURN(std::optional<VouchingBatch> vouching,
                             find_vouching_batch(*segment.file, segment.path, segment.salt,
                                                 vouching_search_start(walk), file_size,
                                                 walk.invalid->expected_index));
      if (!vouching) {
        CAIRN_RETURN_IF_ERROR(truncate_torn_tail(segment, *walk.invalid, file_size, report));
        walk.invalid.reset();
        break;
      }
      if (!context.salvage_damage) return damaged_synced_batch(segment.path, *walk.invalid, *vouching);
    }
    CAIRN_RETURN_IF_ERROR(skip_damaged_batch(segment, walk, file_size, context, report));
  }
  return walk;
}

// Opens, validates and indexes one segment; for the last one, also repairs a torn tail.
Result<std::shared_ptr<Segment>> recover_segment(FileSystem& file_system, const SegmentName& name,
                                                 std::optional<uint64_t> expected_first_index,
                                                 const SegmentContext& context, WalRecoveryReport& report) {
  auto segment = std::make_shared<Segment>();
  segment->path = name.path;
  CAIRN_ASSIGN_OR_RETURN(segment->file, file_system.open(name.path, context.is_last ? OpenOptions::read_write()
                                                                                     : OpenOptions::read()));
  CAIRN_ASSIGN_OR_RETURN(uint64_t size, segment->file->size());
  if (size < kBlockSize) {
    return Status::corruption("WAL corruption in " + name.path + ": the file has " + std::to_string(size) +
                              " bytes, less than its header block");
  }
  std::vector<std::byte> header_block(kBlockSize);
  CAIRN_RETURN_IF_ERROR(read_exactly(*segment->file, name.path, 0, header_block));
  Result<SegmentHeader> header = decode_segment_header(header_block);
  if (!header.ok()) return header.status().with_context("WAL corruption in " + name.path + " at offset 0");
  if (header->first_index != name.first_index) {
    return Status::corruption("WAL corruption in " + name.path + ": its header says it starts at index " +
                              std::to_string(header->first_index));
  }
  if (expected_first_index && header->first_index != *expected_first_index) {
    return Status::corruption("WAL corruption in " + name.path + ": it starts at index " +
                              std::to_string(header->first_index) + " but the previous segment ends before index " +
                              std::to_string(*expected_first_index) + " (a segment is missing or overlaps)");
  }
  segment->first_index = header->first_index;
  segment->salt = header->salt;

  CAIRN_ASSIGN_OR_RETURN(BatchWalk walk, walk_segment(*segment, size, context, report));
  segment->records = std::move(walk.records);
  segment->end_offset = walk.end_offset;
  if (context.is_last) CAIRN_RETURN_IF_ERROR(make_tail_durable(*segment, walk, header_block, context.verify_writes));
  return segment;
}

uint64_t readable_records(const Segment& segment) {
  return static_cast<uint64_t>(std::count_if(segment.records.begin(), segment.records.end(),
                                             [](const RecordLocation& record) { return !record.damaged; }));
}

}  // namespace

Result<RecoveredLog> recover_log(FileSystem& file_system, std::string_view directory, bool verify_writes,
                                 bool salvage_damage) {
  RecoveredLog recovered;
  WalRecoveryReport& report = recovered.report;
  CAIRN_RETURN_IF_ERROR(ensure_directory(file_system, directory));
  CAIRN_ASSIGN_OR_RETURN(std::vector<SegmentName> names, list_segments(file_system, directory));
  if (!names.empty()) CAIRN_RETURN_IF_ERROR(remove_torn_creation(file_system, directory, names, report));

  std::optional<uint64_t> expected_first_index;
  for (std::size_t i = 0; i < names.size(); ++i) {
    const bool is_last = i + 1 == names.size();
    const SegmentContext context{
        .is_last = is_last,
        .verify_writes = verify_writes,
        .salvage_damage = salvage_damage,
        .next_segment_first_index = is_last ? std::nullopt : std::optional<uint64_t>(names[i + 1].first_index)};
    CAIRN_ASSIGN_OR_RETURN(std::shared_ptr<Segment> segment,
                           recover_segment(file_system, names[i], expected_first_index, context, report));
    expected_first_index = segment->next_index();
    report.records += readable_records(*segment);
    recovered.segments.push_back(std::move(segment));
  }
  if (recovered.segments.empty()) return recovered;
  // A crash may have come between a segment's creation and its directory sync.
  CAIRN_RETURN_IF_ERROR(file_system.sync_directory(directory).with_context("syncing WAL directory"));
  report.segments = recovered.segments.size();
  report.first_index = recovered.segments.front()->first_index;
  report.last_index = recovered.segments.back()->next_index() - 1;
  return recovered;
}

}  // namespace cairn::wal
