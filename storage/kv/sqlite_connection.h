// SqliteConnection: one SQLite database opened through a RuntimeVfs, with SQLite's result codes
// turned into Status values that tell the whole story (the VFS's file-and-offset detail plus
// SQLite's message), and interruptions (a cancelled fiber) rethrown once SQLite has returned.
//
// Not a general wrapper: it sets up exactly what the key-value engine relies on — exclusive
// locking, a rollback journal truncated at every commit (TRUNCATE), a sync at every commit
// (synchronous=FULL), temporary storage in memory, and 8 reserved bytes per page for the VFS's
// page checksums.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "core/runtime/runtime.h"
#include "core/runtime/status.h"
#include "storage/vfs/runtime_vfs.h"

struct sqlite3;

namespace cairn::storage {

struct SqliteConnectionOptions {
  std::string path;            // a FileSystem path
  uint32_t page_size = 4096;   // for a new database
  int cache_kibibytes = 8192;  // SQLite's page cache
  RuntimeVfsOptions vfs = {};
};

class SqliteConnection {
 public:
  static Result<std::unique_ptr<SqliteConnection>> open_database(Runtime& runtime, SqliteConnectionOptions options);
  ~SqliteConnection();
  SqliteConnection(const SqliteConnection&) = delete;
  SqliteConnection& operator=(const SqliteConnection&) = delete;

  // Runs SQL that returns no rows.
  Status execute(std::string_view sql);
  // The Status for a SQLite result code just returned by a call on this connection (OK for
  // SQLITE_OK, SQLITE_ROW, SQLITE_DONE). Rethrows an interruption first.
  Status check(int result_code, std::string_view doing);

  sqlite3* handle() { return database_; }
  RuntimeVfs& vfs() { return *vfs_; }
  const std::string& path() const { return path_; }

 private:
  SqliteConnection(std::unique_ptr<RuntimeVfs> vfs, std::string path) : vfs_(std::move(vfs)), path_(std::move(path)) {}
  Status configure(const SqliteConnectionOptions& options);

  std::unique_ptr<RuntimeVfs> vfs_;  // outlives the database handle
  std::string path_;
  sqlite3* database_ = nullptr;
};

}  // namespace cairn::storage
