// The SQLite key-value engine: schema, transactions and the MVCC queries (see kv_engine.h).
#include "storage/kv/kv_engine.h"

#include <mutex>

#include "storage/kv/kv_snapshot.h"

namespace cairn::storage {
namespace {

// Version 2: one store for many ranges, with no applied index or watermark of its own.
constexpr int64_t kFormatVersion = 2;

constexpr char kSchema[] = R"sql(
  CREATE TABLE IF NOT EXISTS versions (
    key BLOB NOT NULL,
    ts INTEGER NOT NULL,
    value BLOB,
    PRIMARY KEY (key, ts DESC)
  ) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS meta (
    name TEXT PRIMARY KEY NOT NULL,
    value INTEGER NOT NULL
  ) WITHOUT ROWID;
  INSERT OR IGNORE INTO meta (name, value) VALUES ('format_version', 2);
)sql";

// The versions of one key arrive together; this keeps the one a read at `read_timestamp` sees.
class VisibleVersion {
 public:
  explicit VisibleVersion(Timestamp read_timestamp) : read_timestamp_(read_timestamp) {}

  // Returns the previous key's visible live value when `key` starts a new key.
  std::optional<KvPair> next_row(const std::string& key, Timestamp timestamp, std::optional<std::string> value) {
    std::optional<KvPair> finished;
    if (!current_key_ || *current_key_ != key) {
      finished = take();
      current_key_ = key;
    }
    if (timestamp <= read_timestamp_ && (!best_timestamp_ || timestamp > *best_timestamp_)) {
      best_timestamp_ = timestamp;
      best_value_ = std::move(value);
    }
    return finished;
  }
  // The last key's visible live value, if any.
  std::optional<KvPair> take() {
    std::optional<KvPair> result;
    if (current_key_ && best_timestamp_ && best_value_) result = KvPair{*current_key_, std::move(*best_value_)};
    current_key_.reset();
    best_timestamp_.reset();
    best_value_.reset();
    return result;
  }

 private:
  Timestamp read_timestamp_;
  std::optional<std::string> current_key_;
  std::optional<Timestamp> best_timestamp_;
  std::optional<std::string> best_value_;
};

// A span's end as a bound to bind: an unbounded span ends after the longest possible key. (A
// statement binds without copying: keep the string alive until the statement is reset.)
std::string end_bound(const KeySpan& span) {
  return span.end.empty() ? std::string(limits::kKeyBytesMax + 1, '\xff') : span.end;
}

Status stored_version_error(const std::string& what) {
  return Status::corruption("stored version fails validation: " + what);
}

// Leaving a write by exception (a cancelled fiber) abandons its transaction mid-way; the engine
// then refuses further calls, since its state in memory no longer matches the files.
class FailIfInterrupted {
 public:
  FailIfInterrupted(Status& failed, const char* what) : failed_(&failed), what_(what) {}
  ~FailIfInterrupted() {
    if (!finished_) *failed_ = Status::cancelled(what_);
  }
  FailIfInterrupted(const FailIfInterrupted&) = delete;
  FailIfInterrupted& operator=(const FailIfInterrupted&) = delete;
  void finished() { finished_ = true; }

 private:
  Status* failed_;
  const char* what_;
  bool finished_ = false;
};

}  // namespace

struct KvEngine::Statements {
  std::unique_ptr<SqliteStatement> put_version;
  std::unique_ptr<SqliteStatement> get_version;
  std::unique_ptr<SqliteStatement> scan_forward;
  std::unique_ptr<SqliteStatement> scan_forward_bounded;
  std::unique_ptr<SqliteStatement> scan_reverse;
  std::unique_ptr<SqliteStatement> scan_reverse_bounded;
  std::unique_ptr<SqliteStatement> drop_unreachable_versions;
  std::unique_ptr<SqliteStatement> get_meta;
  std::unique_ptr<SqliteStatement> span_versions;
  std::unique_ptr<SqliteStatement> delete_span;

  static Result<std::unique_ptr<Statements>> prepare(SqliteConnection& connection) {
    auto statements = std::make_unique<Statements>();
    struct Entry {
      std::unique_ptr<SqliteStatement>* slot;
      const char* sql;
    };
    const Entry entries[] = {
        {&statements->put_version, "INSERT OR REPLACE INTO versions (key, ts, value) VALUES (?1, ?2, ?3)"},
        {&statements->get_version, "SELECT value FROM versions WHERE key = ?1 AND ts <= ?2 ORDER BY ts DESC LIMIT 1"},
        {&statements->scan_forward, "SELECT key, ts, value FROM versions WHERE key >= ?1 ORDER BY key ASC, ts DESC"},
        {&statements->scan_forward_bounded,
         "SELECT key, ts, value FROM versions WHERE key >= ?1 AND key < ?2 ORDER BY key ASC, ts DESC"},
        {&statements->scan_reverse, "SELECT key, ts, value FROM versions WHERE key >= ?1 ORDER BY key DESC, ts ASC"},
        {&statements->scan_reverse_bounded,
         "SELECT key, ts, value FROM versions WHERE key >= ?1 AND key < ?2 ORDER BY key DESC, ts ASC"},
        // A version of [?3, ?4) no read at or above ?1 sees: one with a newer version at or below
        // ?1, or a tombstone at or below ?1 (the newest there, which reads as nothing, or a
        // shadowed one). In (key, ts) ascending order, so a tombstone goes after all it hides.
        {&statements->drop_unreachable_versions,
         "DELETE FROM versions WHERE (key, ts) IN (SELECT key, ts FROM versions AS old WHERE old.key >= ?3 AND "
         "old.key < ?4 AND old.ts <= ?1 AND (old.value IS NULL OR EXISTS (SELECT 1 FROM versions AS newer WHERE "
         "newer.key = old.key AND newer.ts > old.ts AND newer.ts <= ?1)) ORDER BY old.key ASC, old.ts ASC LIMIT ?2)"},
        {&statements->get_meta, "SELECT value FROM meta WHERE name = ?1"},
        {&statements->span_versions,
         "SELECT key, ts, value FROM versions WHERE key >= ?1 AND key < ?2 ORDER BY key ASC, ts DESC"},
        {&statements->delete_span, "DELETE FROM versions WHERE key >= ?1 AND key < ?2"},
    };
    for (const Entry& entry : entries) {
      CAIRN_ASSIGN_OR_RETURN(*entry.slot, SqliteStatement::prepare(connection, entry.sql));
    }
    return statements;
  }
};

Result<std::unique_ptr<KvEngine>> KvEngine::open_engine(Runtime& runtime, KvEngineOptions options) {
  SqliteConnectionOptions connection_options;
  connection_options.path = options.path;
  connection_options.page_size = options.page_size;
  connection_options.cache_kibibytes = options.cache_kibibytes;
  connection_options.vfs = options.vfs;
  CAIRN_ASSIGN_OR_RETURN(std::unique_ptr<SqliteConnection> connection,
                         SqliteConnection::open_database(runtime, std::move(connection_options)));
  std::unique_ptr<KvEngine> engine(new KvEngine(runtime, std::move(connection)));
  CAIRN_RETURN_IF_ERROR(engine->prepare_schema());
  CAIRN_RETURN_IF_ERROR(engine->load_meta());
  return engine;
}

KvEngine::KvEngine(Runtime& runtime, std::unique_ptr<SqliteConnection> connection)
    : runtime_(&runtime), connection_(std::move(connection)) {}

KvEngine::~KvEngine() {
  statements_.reset();  // finalized before the connection closes
}

Status KvEngine::prepare_schema() {
  CAIRN_RETURN_IF_ERROR(connection_->execute("BEGIN IMMEDIATE"));
  Status created = connection_->execute(kSchema);
  if (created.ok()) created = connection_->execute("COMMIT");
  if (!created.ok()) {
    (void)connection_->execute("ROLLBACK");
    return created;
  }
  CAIRN_ASSIGN_OR_RETURN(statements_, Statements::prepare(*connection_));
  return {};
}

Status KvEngine::load_meta() {
  auto read = [&](const char* name) -> Result<int64_t> {
    SqliteStatement& statement = *statements_->get_meta;
    StatementUse use(statement);
    CAIRN_RETURN_IF_ERROR(statement.bind_text(1, name));
    CAIRN_ASSIGN_OR_RETURN(bool row, statement.step());
    if (!row) return Status::corruption(std::string("meta row '") + name + "' is missing");
    return statement.column_int64(0);
  };
  CAIRN_ASSIGN_OR_RETURN(int64_t format_version, read("format_version"));
  if (format_version != kFormatVersion) {
    return Status::failed_precondition("database '" + connection_->path() + "' has format version " +
                                       std::to_string(format_version) + "; this build reads version " +
                                       std::to_string(kFormatVersion) +
                                       (format_version == 1 ? " (version 1 is the single-group format of Cairn before "
                                                              "ranges: start from an empty data directory)"
                                                            : ""));
  }
  return {};
}

Status KvEngine::check_usable() const {
  if (failed_.ok()) return {};
  return Status::failed_precondition("the key-value engine stopped after an earlier failure (" + failed_.message() +
                                     "); reopen it to recover");
}

template <typename Body>
Status KvEngine::write_transaction(Body&& body) {
  CAIRN_RETURN_IF_ERROR(check_usable());
  // One transaction at a time: what apply_unsynced() left open is committed first.
  CAIRN_RETURN_IF_ERROR(sync_locked());
  FailIfInterrupted guard(failed_, "interrupted during a write");
  Status status = connection_->execute("BEGIN IMMEDIATE");
  if (status.ok()) status = body();
  if (status.ok()) status = connection_->execute("COMMIT");
  if (!status.ok()) {
    (void)connection_->execute("ROLLBACK");
    failed_ = status;
  }
  guard.finished();
  return status;
}

Status KvEngine::write_versions(const WriteBatch& batch) {
  SqliteStatement& put = *statements_->put_version;
  for (const KvMutation& mutation : batch.mutations) {
    StatementUse use(put);
    CAIRN_RETURN_IF_ERROR(put.bind_blob(1, mutation.key));
    CAIRN_RETURN_IF_ERROR(put.bind_int64(2, static_cast<int64_t>(batch.commit_timestamp)));
    CAIRN_RETURN_IF_ERROR(mutation.kind == KvMutation::Kind::kPut ? put.bind_blob(3, mutation.value)
                                                                  : put.bind_null(3));
    CAIRN_RETURN_IF_ERROR(put.run());
  }
  return {};
}

Status KvEngine::apply(const WriteBatch& batch) {
  std::lock_guard lock(mutex_);
  CAIRN_RETURN_IF_ERROR(check_usable());
  CAIRN_RETURN_IF_ERROR(validate_batch(batch));
  return write_transaction([&] { return write_versions(batch); });
}

Status KvEngine::apply_unsynced(const WriteBatch& batch) {
  std::lock_guard lock(mutex_);
  CAIRN_RETURN_IF_ERROR(check_usable());
  CAIRN_RETURN_IF_ERROR(validate_batch(batch));
  FailIfInterrupted guard(failed_, "interrupted during a write");
  Status status;
  if (!unsynced_transaction_open_) {
    status = connection_->execute("BEGIN IMMEDIATE");
    unsynced_transaction_open_ = status.ok();
  }
  if (status.ok()) status = write_versions(batch);
  if (!status.ok()) {
    // Every unsynced batch goes with it, and their writers believe them applied.
    if (unsynced_transaction_open_) (void)connection_->execute("ROLLBACK");
    unsynced_transaction_open_ = false;
    unsynced_batches_ = 0;
    failed_ = status;
  } else {
    ++unsynced_batches_;
  }
  guard.finished();
  // Committing at once is what apply() does: durable sooner than the caller needs.
  if (status.ok() && runtime_->buggify("kv_engine.unsynced_batch_committed_at_once")) status = sync_locked();
  return status;
}

Status KvEngine::sync() {
  std::lock_guard lock(mutex_);
  CAIRN_RETURN_IF_ERROR(check_usable());
  return sync_locked();
}

Status KvEngine::sync_locked() {
  if (!unsynced_transaction_open_) return {};
  FailIfInterrupted guard(failed_, "interrupted during a commit");
  Status status = connection_->execute("COMMIT");
  unsynced_transaction_open_ = false;
  unsynced_batches_ = 0;
  if (!status.ok()) {
    (void)connection_->execute("ROLLBACK");
    failed_ = status;
  }
  guard.finished();
  return status;
}

Result<std::optional<std::string>> KvEngine::get(std::string_view key, Timestamp read_timestamp) {
  std::lock_guard lock(mutex_);
  CAIRN_RETURN_IF_ERROR(check_usable());
  CAIRN_RETURN_IF_ERROR(validate_key(key));
  CAIRN_RETURN_IF_ERROR(validate_read_timestamp(read_timestamp));
  SqliteStatement& statement = *statements_->get_version;
  StatementUse use(statement);
  CAIRN_RETURN_IF_ERROR(statement.bind_blob(1, key));
  CAIRN_RETURN_IF_ERROR(statement.bind_int64(2, static_cast<int64_t>(read_timestamp)));
  CAIRN_ASSIGN_OR_RETURN(bool row, statement.step());
  if (!row || statement.column_is_null(0)) return std::optional<std::string>();
  return std::optional<std::string>(statement.column_blob(0));
}

Result<std::vector<KvPair>> KvEngine::scan(const ScanOptions& options) {
  std::lock_guard lock(mutex_);
  CAIRN_RETURN_IF_ERROR(check_usable());
  CAIRN_RETURN_IF_ERROR(validate_scan(options));
  const bool bounded = !options.end.empty();
  SqliteStatement& statement = options.reverse ? (bounded ? *statements_->scan_reverse_bounded : *statements_->scan_reverse)
                                               : (bounded ? *statements_->scan_forward_bounded : *statements_->scan_forward);
  StatementUse use(statement);
  CAIRN_RETURN_IF_ERROR(statement.bind_blob(1, options.start));
  if (bounded) CAIRN_RETURN_IF_ERROR(statement.bind_blob(2, options.end));
  std::vector<KvPair> found;
  std::size_t bytes = 0;
  VisibleVersion visible(options.read_timestamp);
  while (found.size() < options.limit && bytes < options.bytes_max) {
    CAIRN_ASSIGN_OR_RETURN(bool row, statement.step());
    std::optional<KvPair> finished;
    if (row) {
      std::optional<std::string> value;
      if (!statement.column_is_null(2)) value = statement.column_blob(2);
      finished = visible.next_row(statement.column_blob(0), static_cast<Timestamp>(statement.column_int64(1)),
                                  std::move(value));
    } else {
      finished = visible.take();
    }
    if (finished) {
      bytes += finished->key.size() + finished->value.size();
      found.push_back(std::move(*finished));
    }
    if (!row) break;
  }
  return found;
}

Result<uint64_t> KvEngine::collect_garbage(const KeySpan& span, Timestamp watermark, uint64_t versions_max) {
  std::lock_guard lock(mutex_);
  CAIRN_RETURN_IF_ERROR(check_usable());
  CAIRN_RETURN_IF_ERROR(validate_garbage_collection(span, watermark, versions_max));
  uint64_t dropped = 0;
  const Status status = write_transaction([&]() -> Status {
    const std::string end = end_bound(span);
    SqliteStatement& drop = *statements_->drop_unreachable_versions;
    StatementUse use(drop);
    CAIRN_RETURN_IF_ERROR(drop.bind_int64(1, static_cast<int64_t>(watermark)));
    CAIRN_RETURN_IF_ERROR(drop.bind_int64(2, static_cast<int64_t>(versions_max)));
    CAIRN_RETURN_IF_ERROR(drop.bind_blob(3, span.start));
    CAIRN_RETURN_IF_ERROR(drop.bind_blob(4, end));
    CAIRN_ASSIGN_OR_RETURN(dropped, drop.run_counting_changes());
    return Status{};
  });
  CAIRN_RETURN_IF_ERROR(status);
  CAIRN_ASSERT(dropped <= versions_max);
  return dropped;
}

Status KvEngine::export_span(const KeySpan& span, SnapshotEncoder& encoder) {
  const std::string end = end_bound(span);
  SqliteStatement& statement = *statements_->span_versions;
  StatementUse use(statement);
  CAIRN_RETURN_IF_ERROR(statement.bind_blob(1, span.start));
  CAIRN_RETURN_IF_ERROR(statement.bind_blob(2, end));
  while (true) {
    CAIRN_ASSIGN_OR_RETURN(bool row, statement.step());
    if (!row) return {};
    KvVersion version;
    version.key = statement.column_blob(0);
    const int64_t timestamp = statement.column_int64(1);
    if (!statement.column_is_null(2)) version.value = statement.column_blob(2);
    if (version.key.empty() || version.key.size() > limits::kKeyBytesMax) return stored_version_error("key length");
    if (timestamp <= 0) return stored_version_error("timestamp " + std::to_string(timestamp));
    if (version.value && version.value->size() > limits::kValueBytesMax) return stored_version_error("value length");
    version.timestamp = static_cast<Timestamp>(timestamp);
    encoder.add(version);
  }
}

Result<std::vector<std::string>> KvEngine::export_snapshot(const std::vector<KeySpan>& spans, std::size_t chunk_bytes) {
  std::lock_guard lock(mutex_);
  CAIRN_RETURN_IF_ERROR(check_usable());
  CAIRN_RETURN_IF_ERROR(validate_spans(spans));
  SnapshotEncoder encoder(spans, chunk_bytes);
  for (const KeySpan& span : spans) CAIRN_RETURN_IF_ERROR(export_span(span, encoder));
  return encoder.finish();
}

Status KvEngine::import_snapshot(const std::vector<std::string>& chunks) {
  std::lock_guard lock(mutex_);
  CAIRN_RETURN_IF_ERROR(check_usable());
  CAIRN_ASSIGN_OR_RETURN(KvSnapshot snapshot, decode_snapshot(chunks));
  return write_transaction([&]() -> Status {
    for (const KeySpan& span : snapshot.spans) {
      const std::string end = end_bound(span);
      StatementUse use(*statements_->delete_span);
      CAIRN_RETURN_IF_ERROR(statements_->delete_span->bind_blob(1, span.start));
      CAIRN_RETURN_IF_ERROR(statements_->delete_span->bind_blob(2, end));
      CAIRN_RETURN_IF_ERROR(statements_->delete_span->run());
    }
    SqliteStatement& put = *statements_->put_version;
    for (const KvVersion& version : snapshot.versions) {
      StatementUse use(put);
      CAIRN_RETURN_IF_ERROR(put.bind_blob(1, version.key));
      CAIRN_RETURN_IF_ERROR(put.bind_int64(2, static_cast<int64_t>(version.timestamp)));
      CAIRN_RETURN_IF_ERROR(version.value ? put.bind_blob(3, *version.value) : put.bind_null(3));
      CAIRN_RETURN_IF_ERROR(put.run());
    }
    return Status{};
  });
}

Status KvEngine::verify_integrity() {
  std::lock_guard lock(mutex_);
  CAIRN_RETURN_IF_ERROR(check_usable());
  CAIRN_ASSIGN_OR_RETURN(std::unique_ptr<SqliteStatement> check,
                         SqliteStatement::prepare(*connection_, "PRAGMA integrity_check"));
  StatementUse use(*check);
  std::string report;
  while (true) {
    CAIRN_ASSIGN_OR_RETURN(bool row, check->step());
    if (!row) break;
    if (!report.empty()) report += "; ";
    report += check->column_blob(0);
  }
  if (report != "ok") return Status::corruption("integrity check of '" + connection_->path() + "': " + report);
  return {};
}

}  // namespace cairn::storage
