// The SQLite key-value engine: schema, transactions and the MVCC queries (see kv_engine.h).
#include "storage/kv/kv_engine.h"

#include <mutex>

#include "storage/kv/kv_snapshot.h"

namespace cairn::storage {
namespace {

constexpr int64_t kFormatVersion = 1;

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
  INSERT OR IGNORE INTO meta (name, value) VALUES
    ('format_version', 1), ('applied_index', 0), ('gc_watermark', 0);
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
  std::unique_ptr<SqliteStatement> drop_shadowed_versions;
  std::unique_ptr<SqliteStatement> drop_old_tombstones;
  std::unique_ptr<SqliteStatement> set_meta;
  std::unique_ptr<SqliteStatement> get_meta;
  std::unique_ptr<SqliteStatement> all_versions;
  std::unique_ptr<SqliteStatement> delete_all_versions;

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
        // A version no read at or above the watermark can see: a newer one at or below it exists.
        {&statements->drop_shadowed_versions,
         "DELETE FROM versions WHERE ts <= ?1 AND EXISTS (SELECT 1 FROM versions AS newer WHERE newer.key = "
         "versions.key AND newer.ts > versions.ts AND newer.ts <= ?1)"},
        // What is left at or below the watermark is each key's visible version; a tombstone there
        // reads the same as nothing.
        {&statements->drop_old_tombstones, "DELETE FROM versions WHERE ts <= ?1 AND value IS NULL"},
        {&statements->set_meta, "INSERT OR REPLACE INTO meta (name, value) VALUES (?1, ?2)"},
        {&statements->get_meta, "SELECT value FROM meta WHERE name = ?1"},
        {&statements->all_versions, "SELECT key, ts, value FROM versions ORDER BY key ASC, ts DESC"},
        {&statements->delete_all_versions, "DELETE FROM versions"},
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
                                       std::to_string(kFormatVersion));
  }
  CAIRN_ASSIGN_OR_RETURN(int64_t applied_index, read("applied_index"));
  CAIRN_ASSIGN_OR_RETURN(int64_t gc_watermark, read("gc_watermark"));
  if (applied_index < 0 || gc_watermark < 0) return Status::corruption("negative applied index or watermark in meta");
  applied_index_ = static_cast<uint64_t>(applied_index);
  synced_index_ = applied_index_;
  gc_watermark_ = static_cast<Timestamp>(gc_watermark);
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

Status KvEngine::set_meta(std::string_view name, uint64_t value) {
  SqliteStatement& statement = *statements_->set_meta;
  StatementUse use(statement);
  CAIRN_RETURN_IF_ERROR(statement.bind_text(1, name));
  CAIRN_RETURN_IF_ERROR(statement.bind_int64(2, static_cast<int64_t>(value)));
  return statement.run();
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
  return set_meta("applied_index", batch.applied_index);
}

Status KvEngine::apply(const WriteBatch& batch) {
  std::lock_guard lock(mutex_);
  CAIRN_RETURN_IF_ERROR(check_usable());
  CAIRN_RETURN_IF_ERROR(validate_batch(batch, applied_index_));
  Status status = write_transaction([&] { return write_versions(batch); });
  if (status.ok()) applied_index_ = synced_index_ = batch.applied_index;
  return status;
}

Status KvEngine::apply_unsynced(const WriteBatch& batch) {
  std::lock_guard lock(mutex_);
  CAIRN_RETURN_IF_ERROR(check_usable());
  CAIRN_RETURN_IF_ERROR(validate_batch(batch, applied_index_));
  FailIfInterrupted guard(failed_, "interrupted during a write");
  Status status;
  if (!unsynced_transaction_open_) {
    status = connection_->execute("BEGIN IMMEDIATE");
    unsynced_transaction_open_ = status.ok();
  }
  if (status.ok()) status = write_versions(batch);
  if (!status.ok()) {
    // Every unsynced batch goes with it, so applied_index_ no longer describes the store.
    if (unsynced_transaction_open_) (void)connection_->execute("ROLLBACK");
    unsynced_transaction_open_ = false;
    failed_ = status;
  } else {
    applied_index_ = batch.applied_index;
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
  if (!status.ok()) {
    (void)connection_->execute("ROLLBACK");
    failed_ = status;
  } else {
    synced_index_ = applied_index_;
  }
  guard.finished();
  return status;
}

Result<std::optional<std::string>> KvEngine::get(std::string_view key, Timestamp read_timestamp) {
  std::lock_guard lock(mutex_);
  CAIRN_RETURN_IF_ERROR(check_usable());
  CAIRN_RETURN_IF_ERROR(validate_key(key));
  CAIRN_RETURN_IF_ERROR(validate_read_timestamp(read_timestamp, gc_watermark_));
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
  CAIRN_RETURN_IF_ERROR(validate_scan(options, gc_watermark_));
  const bool bounded = !options.end.empty();
  SqliteStatement& statement = options.reverse ? (bounded ? *statements_->scan_reverse_bounded : *statements_->scan_reverse)
                                               : (bounded ? *statements_->scan_forward_bounded : *statements_->scan_forward);
  StatementUse use(statement);
  CAIRN_RETURN_IF_ERROR(statement.bind_blob(1, options.start));
  if (bounded) CAIRN_RETURN_IF_ERROR(statement.bind_blob(2, options.end));
  std::vector<KvPair> found;
  VisibleVersion visible(options.read_timestamp);
  while (found.size() < options.limit) {
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
    if (finished) found.push_back(std::move(*finished));
    if (!row) break;
  }
  return found;
}

Status KvEngine::collect_garbage(Timestamp watermark) {
  std::lock_guard lock(mutex_);
  CAIRN_RETURN_IF_ERROR(check_usable());
  if (watermark > kMaxTimestamp) return Status::invalid_argument("watermark exceeds 2^63-1");
  if (watermark <= gc_watermark_) return {};
  // Collecting less than allowed is always allowed.
  if (runtime_->buggify("kv_engine.garbage_collected_partly")) watermark = gc_watermark_ + (watermark - gc_watermark_ + 1) / 2;
  Status status = write_transaction([&]() -> Status {
    for (SqliteStatement* statement : {statements_->drop_shadowed_versions.get(), statements_->drop_old_tombstones.get()}) {
      StatementUse use(*statement);
      CAIRN_RETURN_IF_ERROR(statement->bind_int64(1, static_cast<int64_t>(watermark)));
      CAIRN_RETURN_IF_ERROR(statement->run());
    }
    return set_meta("gc_watermark", watermark);
  });
  if (status.ok()) gc_watermark_ = watermark;
  return status;
}

Result<std::vector<std::string>> KvEngine::export_snapshot(std::size_t chunk_bytes) {
  std::lock_guard lock(mutex_);
  CAIRN_RETURN_IF_ERROR(check_usable());
  SnapshotEncoder encoder(applied_index_, gc_watermark_, chunk_bytes);
  SqliteStatement& statement = *statements_->all_versions;
  StatementUse use(statement);
  while (true) {
    CAIRN_ASSIGN_OR_RETURN(bool row, statement.step());
    if (!row) break;
    KvVersion version;
    version.key = statement.column_blob(0);
    const int64_t timestamp = statement.column_int64(1);
    if (!statement.column_is_null(2)) version.value = statement.column_blob(2);
    if (version.key.empty() || version.key.size() > kMaxKeyBytes) return stored_version_error("key length");
    if (timestamp <= 0) return stored_version_error("timestamp " + std::to_string(timestamp));
    if (version.value && version.value->size() > kMaxValueBytes) return stored_version_error("value length");
    version.timestamp = static_cast<Timestamp>(timestamp);
    encoder.add(version);
  }
  return encoder.finish();
}

Status KvEngine::import_snapshot(const std::vector<std::string>& chunks) {
  std::lock_guard lock(mutex_);
  CAIRN_RETURN_IF_ERROR(check_usable());
  CAIRN_ASSIGN_OR_RETURN(KvSnapshot snapshot, decode_snapshot(chunks));
  Status status = write_transaction([&]() -> Status {
    {
      StatementUse use(*statements_->delete_all_versions);
      CAIRN_RETURN_IF_ERROR(statements_->delete_all_versions->run());
    }
    SqliteStatement& put = *statements_->put_version;
    for (const KvVersion& version : snapshot.versions) {
      StatementUse use(put);
      CAIRN_RETURN_IF_ERROR(put.bind_blob(1, version.key));
      CAIRN_RETURN_IF_ERROR(put.bind_int64(2, static_cast<int64_t>(version.timestamp)));
      CAIRN_RETURN_IF_ERROR(version.value ? put.bind_blob(3, *version.value) : put.bind_null(3));
      CAIRN_RETURN_IF_ERROR(put.run());
    }
    CAIRN_RETURN_IF_ERROR(set_meta("applied_index", snapshot.applied_index));
    return set_meta("gc_watermark", snapshot.gc_watermark);
  });
  if (status.ok()) {
    applied_index_ = synced_index_ = snapshot.applied_index;
    gc_watermark_ = snapshot.gc_watermark;
  }
  return status;
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
