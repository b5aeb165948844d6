// RuntimeVfs: a SQLite VFS ("virtual file system") whose every operation goes to a Runtime, so
// that SQLite's I/O, clock, sleeps and randomness are simulated, fault-injected and replayable in
// the simulator and real in cairnd — the technique FoundationDB used to test its SQLite engine.
//
// What it adds on top of forwarding:
//  - Page checksums (page_checksum.h). Every whole page written to a main database is sealed with
//    a CRC32C that covers its page number; every whole page read from a main database, and every
//    page copy read back from its rollback journal, is verified. A bad page is reported as
//    SQLITE_IOERR_DATA, so SQLite fails the statement instead of serving it.
//  - Read-back of every write. Each write is read back and compared before it counts as done, so
//    a write that went to the wrong place or changed on its way is an error while the
//    transaction can still be rolled back, rather than silent damage found later. Whole database
//    pages are read back at the file's next sync (a commit syncs the database before it is
//    done), a run of adjacent pages per read; every other write at once. On a real disk the
//    read-back sees the page cache, so it guards the path up to the cache; the checksums guard
//    the medium.
//  - Whole rollback journals. SQLite takes a damaged journal header or record for the end of the
//    journal and stops rolling back there, silently. So every journal read is checked: against
//    the copy of the journal this connection wrote (kept in memory), and record by record (page
//    checksum, page number, SQLite's record checksum); and a journal write that does not read
//    back is repaired at once by rewriting the journal from that copy, before the stray bytes
//    can reach a sync.
//  - Errors with a story: SQLite carries only a code, so the VFS keeps the last failure as a
//    Status that names the file, the offset and the cause (last_error()).
//  - Fiber safety: in the simulator a file operation parks the calling fiber, and a crash of the
//    node cancels the fiber by throwing at that point. An exception must never unwind through
//    SQLite's C frames, so the VFS catches it, fails the operation, and keeps the exception;
//    the caller rethrows it once SQLite has returned (take_interruption()).
//
// Contract and limits:
//  - One connection per database file (exclusive locking mode): locks are no-ops, and opening a
//    main database that this VFS already has open fails.
//  - Rollback-journal modes only. WAL mode needs shared-memory methods this VFS does not offer;
//    opening a -wal file fails with SQLITE_CANTOPEN.
//  - Paths are the Runtime FileSystem's: relative, '/'-separated (file_system.h).
//  - With `require_page_checksums`, a main database must carry 8 reserved bytes per page; other
//    databases are refused with an error rather than silently left unchecked.
//  - Temporary files SQLite asks for without a name are created under `temporary_directory` and
//    removed when closed.
//  - Create the VFS, open connections with its name(), close them all, then destroy the VFS.
#pragma once

#include <cstdint>
#include <exception>
#include <map>
#include <memory>
#include <set>
#include <string>

#include "core/runtime/runtime.h"
#include "core/runtime/status.h"

struct sqlite3_vfs;

namespace cairn::storage {

struct RuntimeVfsOptions {
  bool require_page_checksums = true;
  bool read_back_writes = true;
  std::string temporary_directory = "sqlite-temp";
};

struct RuntimeVfsCounters {
  uint64_t reads = 0;
  uint64_t writes = 0;
  uint64_t syncs = 0;
  uint64_t pages_sealed = 0;
  uint64_t pages_verified = 0;
  uint64_t checksum_failures = 0;
  uint64_t read_back_mismatches = 0;
  uint64_t journal_repairs = 0;  // journals rewritten from memory after a write went astray
};

class RuntimeVfs {
 public:
  // Registers a new VFS (with a process-unique name) that uses `runtime`.
  static Result<std::unique_ptr<RuntimeVfs>> create(Runtime& runtime, RuntimeVfsOptions options = {});
  ~RuntimeVfs();
  RuntimeVfs(const RuntimeVfs&) = delete;
  RuntimeVfs& operator=(const RuntimeVfs&) = delete;

  // The name to pass to sqlite3_open_v2().
  const char* name() const { return name_.c_str(); }

  // The most recent failure of an operation, or OK. clear_last_error() before a call to learn
  // what that call hit.
  const Status& last_error() const { return last_error_; }
  void clear_last_error() { last_error_ = Status{}; }

  // An exception (fiber cancelled, timeout expired) that interrupted a file operation inside
  // SQLite; null if none. The caller must rethrow it after SQLite returns.
  std::exception_ptr take_interruption();
  // Rethrows a pending interruption, if any.
  void rethrow_interruption();

  const RuntimeVfsCounters& counters() const { return counters_; }

  // --- Internals used by the C callbacks (runtime_vfs.cc) -----------------------------------
  struct DatabaseLayout {
    uint32_t page_size = 0;  // 0 until learned from page 1
    uint32_t reserved_bytes = 0;
  };
  Runtime& runtime() { return *runtime_; }
  const RuntimeVfsOptions& options() const { return options_; }
  RuntimeVfsCounters& mutable_counters() { return counters_; }
  DatabaseLayout& layout(const std::string& database_path) { return layouts_[database_path]; }
  std::set<std::string>& open_databases() { return open_databases_; }
  void record_error(Status status) { last_error_ = std::move(status); }
  void record_interruption(std::exception_ptr exception);
  std::string next_temporary_path();

 private:
  RuntimeVfs(Runtime& runtime, RuntimeVfsOptions options, std::string name);

  Runtime* runtime_;
  RuntimeVfsOptions options_;
  std::string name_;
  std::unique_ptr<sqlite3_vfs> vfs_;
  Status last_error_;
  std::exception_ptr interruption_;
  RuntimeVfsCounters counters_;
  std::map<std::string, DatabaseLayout> layouts_;
  std::set<std::string> open_databases_;
  uint64_t last_temporary_file_ = 0;
};

}  // namespace cairn::storage
