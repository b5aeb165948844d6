// SqliteStatement: a prepared statement of a SqliteConnection — bind, step, read columns — that
// resets itself for the next use and reports errors as Status values.
#pragma once

#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/runtime/status.h"
#include "storage/kv/sqlite_connection.h"

struct sqlite3_stmt;

namespace cairn::storage {

class SqliteStatement {
 public:
  static Result<std::unique_ptr<SqliteStatement>> prepare(SqliteConnection& connection, std::string_view sql);
  ~SqliteStatement();
  SqliteStatement(const SqliteStatement&) = delete;
  SqliteStatement& operator=(const SqliteStatement&) = delete;

  // Parameters are 1-based, as in SQL (?1, ?2, ...). Bytes and text are not copied: they must
  // stay alive until the statement is reset (a temporary string bound here dangles).
  Status bind_blob(int index, std::string_view bytes);
  Status bind_text(int index, std::string_view text);
  Status bind_null(int index);
  Status bind_int64(int index, int64_t value);

  // One step: true with a row to read, false when done.
  Result<bool> step();
  // Steps to completion (for statements that return no rows).
  Status run();
  // Steps to completion and returns how many rows the statement inserted, changed or deleted.
  Result<uint64_t> run_counting_changes();
  // Clears bindings and rewinds, ready for the next use; call after every use.
  void reset();

  bool column_is_null(int index);
  std::string column_blob(int index);
  int64_t column_int64(int index);

 private:
  SqliteStatement(SqliteConnection& connection, sqlite3_stmt* statement) : connection_(&connection), statement_(statement) {}

  SqliteConnection* connection_;
  sqlite3_stmt* statement_;
};

// One use of a prepared statement: rewinds it before, and after unless an exception is
// unwinding (a reset may roll back, which is I/O, and a fiber must not block while unwinding; the
// next use rewinds it anyway).
class StatementUse {
 public:
  explicit StatementUse(SqliteStatement& statement) : statement_(&statement) { statement_->reset(); }
  ~StatementUse() {
    if (std::uncaught_exceptions() == 0) statement_->reset();
  }
  StatementUse(const StatementUse&) = delete;
  StatementUse& operator=(const StatementUse&) = delete;

 private:
  SqliteStatement* statement_;
};

}  // namespace cairn::storage
