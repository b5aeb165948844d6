// Opening and configuring the engine's SQLite database, and SQLite errors as Status values (see
// sqlite_connection.h).
#include "storage/kv/sqlite_connection.h"

#include <sqlite3.h>

#include "core/runtime/assert.h"
#include "storage/vfs/page_checksum.h"

namespace cairn::storage {
namespace {

// Creates every directory on the way to `path` and makes each new entry durable.
Status create_parent_directories(FileSystem& file_system, std::string_view path) {
  const std::string parent = parent_directory(path);
  if (parent.empty()) return {};
  CAIRN_ASSIGN_OR_RETURN(bool exists, file_system.exists(parent));
  if (exists) return {};
  CAIRN_RETURN_IF_ERROR(create_parent_directories(file_system, parent));
  CAIRN_RETURN_IF_ERROR(file_system.create_directory(parent));
  return file_system.sync_directory(parent_directory(parent));
}

StatusCode code_for(int extended_code, const Status& vfs_error) {
  switch (extended_code & 0xff) {
    case SQLITE_FULL: return StatusCode::kNoSpace;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB: return StatusCode::kCorruption;
    case SQLITE_IOERR:
      if (extended_code == SQLITE_IOERR_DATA || vfs_error.code() == StatusCode::kCorruption) return StatusCode::kCorruption;
      return StatusCode::kIoError;
    case SQLITE_CANTOPEN:
      return vfs_error.ok() ? StatusCode::kIoError : vfs_error.code();
    case SQLITE_NOMEM: return StatusCode::kResourceExhausted;
    case SQLITE_TOOBIG:
    case SQLITE_RANGE: return StatusCode::kInvalidArgument;
    default: return StatusCode::kInternal;
  }
}

}  // namespace

Result<std::unique_ptr<SqliteConnection>> SqliteConnection::open_database(Runtime& runtime,
                                                                         SqliteConnectionOptions options) {
  CAIRN_RETURN_IF_ERROR(validate_path(options.path));
  if (!is_valid_page_size(options.page_size)) {
    return Status::invalid_argument("page size " + std::to_string(options.page_size) +
                                    " is not a power of two from 512 to 65536");
  }
  CAIRN_RETURN_IF_ERROR(create_parent_directories(runtime.file_system(), options.path));
  CAIRN_ASSIGN_OR_RETURN(std::unique_ptr<RuntimeVfs> vfs, RuntimeVfs::create(runtime, options.vfs));
  std::unique_ptr<SqliteConnection> connection(new SqliteConnection(std::move(vfs), options.path));
  // SQLite's own random stream (journal nonces, temporary names) is process-wide; seed it from
  // the runtime so a simulated run writes the same bytes every time.
  // (A seed of 0 would make SQLite fall back to the OS, hence the low bit.)
  sqlite3_test_control(SQLITE_TESTCTRL_PRNG_SEED, static_cast<int>((runtime.random().next_u64() >> 33) | 1), nullptr);
  const int opened = sqlite3_open_v2(connection->path_.c_str(), &connection->database_,
                                     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                                     connection->vfs_->name());
  if (connection->database_ != nullptr) sqlite3_extended_result_codes(connection->database_, 1);
  CAIRN_RETURN_IF_ERROR(connection->check(opened, "opening"));
  CAIRN_RETURN_IF_ERROR(connection->configure(options));
  return connection;
}

Status SqliteConnection::configure(const SqliteConnectionOptions& options) {
  // Exclusive locking first: it is what lets a VFS without shared memory or real locks work.
  CAIRN_RETURN_IF_ERROR(execute("PRAGMA locking_mode=EXCLUSIVE"));
  // Before the first read, which may roll a hot journal back while the journal mode is still the
  // default: a size limit of 0 makes that rollback truncate the journal instead of zeroing its
  // header and leaving another transaction's records behind.
  CAIRN_RETURN_IF_ERROR(execute("PRAGMA journal_size_limit=0"));
  // Finalized on every way out: check() rethrows a crash that struck inside SQLite even when the
  // call itself succeeded, and a statement left behind makes the close a deferred one, with the
  // database still open through a VFS about to be destroyed (found by the power-loss property
  // of the key-value engine once it crashed within microseconds of an open).
  sqlite3_stmt* raw_statement = nullptr;
  const int prepared = sqlite3_prepare_v2(database_, "PRAGMA page_count", -1, &raw_statement, nullptr);
  const std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)> statement(raw_statement, &sqlite3_finalize);
  CAIRN_RETURN_IF_ERROR(check(prepared, "preparing"));
  const int stepped = sqlite3_step(statement.get());
  const int64_t pages = stepped == SQLITE_ROW ? sqlite3_column_int64(statement.get(), 0) : -1;
  CAIRN_RETURN_IF_ERROR(check(stepped, "reading the page count"));
  if (pages == 0) {
    // A new database: make room for the page checksums before the first page exists.
    int reserved = static_cast<int>(kPageChecksumBytes);
    CAIRN_RETURN_IF_ERROR(check(sqlite3_file_control(database_, "main", SQLITE_FCNTL_RESERVE_BYTES, &reserved),
                                "reserving page checksum bytes"));
    CAIRN_RETURN_IF_ERROR(execute("PRAGMA page_size=" + std::to_string(options.page_size)));
  }
  // TRUNCATE, not PERSIST: the journal never keeps an earlier transaction's records, so every
  // record SQLite reads back must be intact, and the VFS can insist on it.
  CAIRN_RETURN_IF_ERROR(execute("PRAGMA journal_mode=TRUNCATE"));
  CAIRN_RETURN_IF_ERROR(execute("PRAGMA synchronous=FULL"));
  CAIRN_RETURN_IF_ERROR(execute("PRAGMA temp_store=MEMORY"));
  CAIRN_RETURN_IF_ERROR(execute("PRAGMA cell_size_check=ON"));
  CAIRN_RETURN_IF_ERROR(execute("PRAGMA cache_size=-" + std::to_string(options.cache_kibibytes)));
  return {};
}

SqliteConnection::~SqliteConnection() {
  if (database_ == nullptr) return;
  // close_v2 never fails for want of finalized statements: the engine finalizes them first,
  // and anything left is released when the last one goes.
  sqlite3_close_v2(database_);
  vfs_->take_interruption();  // the process is going away; nothing to rethrow into
}

Status SqliteConnection::execute(std::string_view sql) {
  vfs_->clear_last_error();
  const int result = sqlite3_exec(database_, std::string(sql).c_str(), nullptr, nullptr, nullptr);
  return check(result, sql);
}

Status SqliteConnection::check(int result_code, std::string_view doing) {
  vfs_->rethrow_interruption();
  if (result_code == SQLITE_OK || result_code == SQLITE_ROW || result_code == SQLITE_DONE) return {};
  const Status& vfs_error = vfs_->last_error();
  std::string message = "sqlite '" + path_ + "' " + std::string(doing) + ": " +
                        (database_ != nullptr ? sqlite3_errmsg(database_) : sqlite3_errstr(result_code));
  if (!vfs_error.ok()) message += " (" + vfs_error.message() + ")";
  return Status(code_for(result_code, vfs_error), std::move(message));
}

}  // namespace cairn::storage
