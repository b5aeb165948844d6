// Recovery of a write-ahead log directory after a restart: which segments exist, which records
// they hold, and what a crash left half-done, repaired where that is safe and refused where it
// is not.
//
// Steps:
//  1. The directory is created (and its parent synced) if it does not exist. Every entry must be
//     a segment file name; anything else is CORRUPTION (a stray file may be a renamed segment).
//  2. Torn creation: if the LAST segment is shorter than one block, or its header is invalid and
//     every byte after block 0 is zero, a crash interrupted its creation; it holds no records
//     and is removed (and the directory synced). Reported in removed_torn_segments.
//  3. Every other segment must be wholly valid, because it was synced before the next one was
//     created: a bad header, a first index that differs from its name or does not follow the
//     previous segment, or any invalid batch, or bytes after the last batch, is CORRUPTION
//     naming the file and offset.
//  4. The last segment is walked batch by batch. At the first invalid batch (offset X), a valid
//     batch header with durable_through >= the index expected at X proves the damaged batch had
//     been synced: CORRUPTION naming file, offset and index; nothing is truncated. It is looked
//     for at every sector from the end of the last valid batch's records on, X itself included,
//     not only at later block boundaries: a misdirected write leaves a copy of its batch, header
//     first, at any sector, perhaps over the batch it destroyed (wal_segment_scanner.h).
//     Otherwise it is a torn tail: the file is truncated to X and the report says what was
//     dropped.
//  5. The last valid batch of the last segment (or its header, if it holds no batch) is written
//     again and the file and directory are synced. After a failed fsync Linux may keep showing
//     data it never wrote and marks it clean (so a plain fsync would not write it); rewriting
//     the only batch that can be in that state makes everything recovered durable before a new
//     batch claims it in its durable_through. Only the last batch can be unsynced: the writer
//     writes a batch only after the previous one was synced and read back. With
//     `verify_writes`, the rewrite is read back before the sync, and written again from memory
//     until it reads back as written (up to three times, then CORRUPTION): a rewrite that went
//     astray may have landed over the very batch it rewrites, and only verified bytes may be
//     synced over what may be acknowledged records (wal_recovery.cc says why).
// Salvage (WalOptions::salvage_damage): damage that steps 3 and 4 call CORRUPTION is skipped
// instead. The walk resumes at the next valid batch of the segment (find_resume_batch), and the
// indexes in between are listed in report.damaged and kept in the segment as damaged entries
// (read() of them is CORRUPTION). Nothing valid after the damage: a sealed segment's range ends
// before the next segment's first index; the last segment's ends where the damaged batch's own
// header says, if it is intact (its bytes are kept, and the next batch goes after them, so that
// its durable_through vouches for them again at the next open), else the count is unknown and
// the file is truncated at the damaged batch (report: last_index = first_index - 1). A torn
// tail (nothing vouches for it) is truncated exactly as without salvage.
// Read errors (EIO) anywhere are returned as errors naming the file and offset; recovery never
// truncates or removes anything because of one.
#pragma once

#include <memory>
#include <string_view>
#include <vector>

#include "core/runtime/file_system.h"
#include "core/runtime/status.h"
#include "storage/wal/wal_recovery_report.h"
#include "storage/wal/wal_segment.h"

namespace cairn::wal {

struct RecoveredLog {
  // Oldest first. Empty when the directory held no segment (a new log must be created); else
  // the last segment's file is open for writing and its end_offset is where the next batch goes.
  std::vector<std::shared_ptr<Segment>> segments;
  WalRecoveryReport report;
};

// `salvage_damage`: see "Salvage" above.
Result<RecoveredLog> recover_log(FileSystem& file_system, std::string_view directory, bool verify_writes,
                                 bool salvage_damage = false);

}  // namespace cairn::wal
