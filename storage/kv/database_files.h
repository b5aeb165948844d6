// Making a SQLite database's files on disk what the page cache shows, after a failed sync.
//
// Linux may drop the dirty pages of a failed fsync and mark them clean (docs/storage.md,
// "fsyncgate"): the cache keeps showing the writes, a later fsync does not write them, and a
// crash takes them back. A database reopened in the same process reads the cache and writes on
// from it — over a disk that says something else. raft_kv_storage_faults seed 886732377350: the
// truncation of a rollback journal (SQLite's commit, journal_mode=TRUNCATE) failed to sync; the
// replica restarted in the same process, saw no journal, and wrote the next transaction's
// journal over the old one, which the disk still held as hot. A crash then left a hot journal
// whose records were half old and half new: the database could never be opened again.
//
// rewrite_database_files_through_cache() writes back every byte the cache shows, so that the
// next sync has something to write, in the order that keeps every crash state consistent:
//  - a hot journal in the cache (a transaction in flight): the journal first, synced and named
//    durably, then the database: a crash in between rolls the transaction back;
//  - otherwise the database first, then the journal removed (a journal that is not hot means
//    nothing) and the directory synced: a crash in between finds the old journal, if the disk
//    still holds it, and rolls back to a state the log replays forward from.
// Call it before the database is opened again in a process where one of its syncs failed. A
// database not created yet (no directory, no file) is left alone: OK.
#pragma once

#include <string_view>

#include "core/runtime/file_system.h"

namespace cairn::storage {

Status rewrite_database_files_through_cache(FileSystem& file_system, std::string_view database_path);

}  // namespace cairn::storage
