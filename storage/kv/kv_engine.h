// KvEngine: the durable multi-version key-value store (kv_store.h) on SQLite, whose files go
// through the Runtime VFS — simulated and fault-injected in the simulator, real in cairnd.
//
// On disk (one SQLite database, by default "kv/data.db", plus its rollback journal
// "kv/data.db-journal"):
//   versions(key BLOB, ts INTEGER, value BLOB NULL)  primary key (key, ts DESC), WITHOUT ROWID;
//                                                     a NULL value is a tombstone
//   meta(name TEXT PRIMARY KEY, value INTEGER)        format_version (2)
// Every page carries a CRC32C of its content and page number (vfs/page_checksum.h). Version 1,
// the single-group format with its own applied index and watermark, is refused at open.
//
// Guarantees:
//  - apply() is one SQLite transaction holding the batch, synced before it returns OK: after a
//    crash the store holds every batch acknowledged, none half-applied.
//  - apply_unsynced() adds the batch to a transaction left open; reads see it at once, and
//    sync() (or the next apply(), collect_garbage() or import_snapshot()) commits it, synced.
//    After a crash the store holds the batches applied up to some point at or after the last
//    sync, in order, never half a batch: for writers that can replay what they applied (Raft
//    ranges replay their logs, and each batch carries its range's applied index), durability
//    of each batch is not worth several fsyncs on every write.
//  - Corruption is reported, never served: a page that fails its checksum fails the read (or
//    the open) with kCorruption naming the file and offset.
//  - A failed write is sticky: after apply(), collect_garbage() or import_snapshot() fails with
//    an I/O error, every later call fails with kFailedPrecondition until the engine is reopened,
//    because SQLite's view of the files can no longer be trusted (the fsyncgate lesson).
//  - One engine per database file; calls from several fibers are serialized.
// In the simulator, destroy the engine from a fiber (closing can touch the disk), and do not run
// its calls under with_timeout: an expired timeout would unwind through SQLite's error path.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "core/runtime/mutex.h"
#include "core/runtime/runtime.h"
#include "storage/kv/kv_snapshot.h"
#include "storage/kv/kv_store.h"
#include "storage/kv/sqlite_connection.h"
#include "storage/kv/sqlite_statement.h"

namespace cairn::storage {

struct KvEngineOptions {
  std::string path = "kv/data.db";
  uint32_t page_size = 4096;
  int cache_kibibytes = 8192;
  RuntimeVfsOptions vfs = {};
};

class KvEngine final : public KvStore {
 public:
  // Opens (creating if needed) the database at options.path and recovers it: SQLite rolls back
  // a transaction a crash interrupted, from its journal.
  static Result<std::unique_ptr<KvEngine>> open_engine(Runtime& runtime, KvEngineOptions options = {});
  ~KvEngine() override;

  Status apply(const WriteBatch& batch) override;
  // The batch joins the open transaction (see above); a failure rolls back every unsynced batch
  // and leaves the engine failed.
  Status apply_unsynced(const WriteBatch& batch);
  // Commits, synced, whatever apply_unsynced() added; OK at once if nothing is pending.
  Status sync();
  // Batches applied since the last sync: what a crash now could take back.
  uint64_t unsynced_batches() const { return unsynced_batches_; }
  Result<std::optional<std::string>> get(std::string_view key, Timestamp read_timestamp) override;
  Result<std::vector<KvPair>> scan(const ScanOptions& options) override;
  Result<uint64_t> collect_garbage(const KeySpan& span, Timestamp watermark, uint64_t versions_max) override;
  Result<std::vector<std::string>> export_snapshot(const std::vector<KeySpan>& spans, std::size_t chunk_bytes) override;
  Status import_snapshot(const std::vector<std::string>& chunks) override;

  // SQLite's integrity_check: reads every table and index page (verifying each checksum) and
  // checks the structure; free-list pages are counted, not read.
  Status verify_integrity();
  // OK, or the error that made the engine refuse further calls.
  const Status& failed_status() const { return failed_; }
  const RuntimeVfsCounters& vfs_counters() { return connection_->vfs().counters(); }

 private:
  struct Statements;

  KvEngine(Runtime& runtime, std::unique_ptr<SqliteConnection> connection);
  Status prepare_schema();
  Status load_meta();
  Status check_usable() const;
  // Runs `body` in a write transaction; a failure rolls back and leaves the engine failed.
  template <typename Body>
  Status write_transaction(Body&& body);
  Status export_span(const KeySpan& span, SnapshotEncoder& encoder);
  Status write_versions(const WriteBatch& batch);
  Status sync_locked();

  Runtime* runtime_;  // for its fault points
  std::unique_ptr<SqliteConnection> connection_;
  std::unique_ptr<Statements> statements_;
  Mutex mutex_;
  bool unsynced_transaction_open_ = false;
  uint64_t unsynced_batches_ = 0;
  Status failed_;
};

}  // namespace cairn::storage
