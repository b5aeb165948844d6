// Prepared statements with Status errors (see sqlite_statement.h).
#include "storage/kv/sqlite_statement.h"

#include <sqlite3.h>

#include "core/runtime/assert.h"

namespace cairn::storage {

Result<std::unique_ptr<SqliteStatement>> SqliteStatement::prepare(SqliteConnection& connection, std::string_view sql) {
  sqlite3_stmt* statement = nullptr;
  connection.vfs().clear_last_error();
  const int prepared = sqlite3_prepare_v3(connection.handle(), sql.data(), static_cast<int>(sql.size()),
                                          SQLITE_PREPARE_PERSISTENT, &statement, nullptr);
  CAIRN_RETURN_IF_ERROR(connection.check(prepared, "preparing '" + std::string(sql) + "'"));
  return std::unique_ptr<SqliteStatement>(new SqliteStatement(connection, statement));
}

SqliteStatement::~SqliteStatement() { sqlite3_finalize(statement_); }

Status SqliteStatement::bind_blob(int index, std::string_view bytes) {
  // A null pointer would bind NULL; an empty value must stay an empty blob.
  static const char kEmpty = 0;
  const char* data = bytes.empty() ? &kEmpty : bytes.data();
  return connection_->check(sqlite3_bind_blob64(statement_, index, data, bytes.size(), SQLITE_STATIC), "binding");
}

Status SqliteStatement::bind_text(int index, std::string_view text) {
  return connection_->check(sqlite3_bind_text64(statement_, index, text.data(), text.size(), SQLITE_STATIC, SQLITE_UTF8),
                            "binding");
}

Status SqliteStatement::bind_null(int index) { return connection_->check(sqlite3_bind_null(statement_, index), "binding"); }

Status SqliteStatement::bind_int64(int index, int64_t value) {
  return connection_->check(sqlite3_bind_int64(statement_, index, value), "binding");
}

Result<bool> SqliteStatement::step() {
  connection_->vfs().clear_last_error();
  const int result = sqlite3_step(statement_);
  if (result == SQLITE_ROW) return true;
  if (result == SQLITE_DONE) return false;
  return connection_->check(result, std::string("running '") + sqlite3_sql(statement_) + "'");
}

Status SqliteStatement::run() {
  while (true) {
    CAIRN_ASSIGN_OR_RETURN(bool row, step());
    if (!row) return {};
  }
}

Result<uint64_t> SqliteStatement::run_counting_changes() {
  CAIRN_RETURN_IF_ERROR(run());
  const sqlite3_int64 changes = sqlite3_changes64(connection_->handle());
  CAIRN_ASSERT(changes >= 0);
  return static_cast<uint64_t>(changes);
}

void SqliteStatement::reset() {
  sqlite3_reset(statement_);
  sqlite3_clear_bindings(statement_);
}

bool SqliteStatement::column_is_null(int index) { return sqlite3_column_type(statement_, index) == SQLITE_NULL; }

std::string SqliteStatement::column_blob(int index) {
  const void* data = sqlite3_column_blob(statement_, index);
  const int size = sqlite3_column_bytes(statement_, index);
  return data == nullptr ? std::string() : std::string(static_cast<const char*>(data), static_cast<std::size_t>(size));
}

int64_t SqliteStatement::column_int64(int index) { return sqlite3_column_int64(statement_, index); }

}  // namespace cairn::storage
