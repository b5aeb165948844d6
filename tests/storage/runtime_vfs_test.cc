// The SQLite VFS on the Runtime: every operation reaches the simulated disk, SQLite's clock and
// randomness come from the runtime, short reads are zero-filled, injected faults reach the caller
// as the right error, and damaged pages are detected by their checksums instead of being served.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <cstring>

#include "storage/kv/sqlite_connection.h"
#include "storage/kv/sqlite_statement.h"
#include "storage/vfs/page_checksum.h"
#include "storage/vfs/runtime_vfs.h"
#include "tests/storage/storage_harness.h"

namespace cairn::storage {
namespace {

using testing::SingleMachine;

constexpr uint32_t kPageSize = 4096;

// Opens a VFS file directly, as SQLite would.
struct RawFile {
  RawFile(RuntimeVfs& vfs, const char* name, int flags) : sqlite_vfs(sqlite3_vfs_find(vfs.name())) {
    storage.resize(static_cast<std::size_t>(sqlite_vfs->szOsFile));
    file = reinterpret_cast<sqlite3_file*>(storage.data());
    open_result = sqlite_vfs->xOpen(sqlite_vfs, name, file, flags, nullptr);
  }
  ~RawFile() {
    if (file->pMethods != nullptr) file->pMethods->xClose(file);
  }
  sqlite3_vfs* sqlite_vfs;
  std::vector<std::byte> storage;
  sqlite3_file* file;
  int open_result;
};

Status fill_table(SqliteConnection& connection, int rows) {
  CAIRN_RETURN_IF_ERROR(connection.execute("CREATE TABLE IF NOT EXISTS t (k INTEGER PRIMARY KEY, v BLOB)"));
  CAIRN_RETURN_IF_ERROR(connection.execute("BEGIN"));
  for (int i = 0; i < rows; ++i) {
    CAIRN_RETURN_IF_ERROR(connection.execute("INSERT OR REPLACE INTO t VALUES (" + std::to_string(i) +
                                             ", randomblob(300))"));
  }
  return connection.execute("COMMIT");
}

Result<int64_t> count_rows(SqliteConnection& connection) {
  CAIRN_ASSIGN_OR_RETURN(auto statement, SqliteStatement::prepare(connection, "SELECT count(*), sum(length(v)) FROM t"));
  StatementUse use(*statement);
  CAIRN_ASSIGN_OR_RETURN(bool row, statement->step());
  if (!row) return Status::internal("no row");
  return statement->column_int64(0);
}

SqliteConnectionOptions options_for(const char* path) {
  SqliteConnectionOptions options;
  options.path = path;
  options.page_size = kPageSize;
  options.cache_kibibytes = 64;  // small, so reads really go to the disk
  return options;
}

// A database "a.db" with a table of `rows` rows, synced, and the machine crashed afterwards.
void build_table_then_crash(SingleMachine& machine, int rows) {
  ASSERT_TRUE(machine.run([&](Runtime& runtime) {
    auto connection = SqliteConnection::open_database(runtime, options_for("a.db"));
    ASSERT_TRUE(connection.ok());
    ASSERT_TRUE(fill_table(**connection, rows).ok());
  }));
  machine.crash();
}

TEST(RuntimeVfs, DatabaseSurvivesCrashAfterCommitAndEveryPageIsSealed) {
  SingleMachine machine(1);
  ASSERT_TRUE(machine.run([&](Runtime& runtime) {
    auto connection = SqliteConnection::open_database(runtime, options_for("db/a.db"));
    ASSERT_TRUE(connection.ok()) << connection.status();
    ASSERT_TRUE(fill_table(**connection, 200).ok());
    EXPECT_GT((*connection)->vfs().counters().pages_sealed, 10u);
    EXPECT_GT((*connection)->vfs().counters().syncs, 0u);
  }));
  machine.crash();
  const std::vector<std::byte> image = machine.durable_image("db/a.db");
  ASSERT_GT(image.size(), 10 * kPageSize);
  ASSERT_EQ(image.size() % kPageSize, 0u);
  for (std::size_t page = 0; page < image.size() / kPageSize; ++page) {
    EXPECT_EQ(verify_page(std::span(image).subspan(page * kPageSize, kPageSize), static_cast<uint32_t>(page + 1)),
              PageVerdict::kValid)
        << "page " << page + 1;
  }
  ASSERT_TRUE(machine.run([&](Runtime& runtime) {
    auto connection = SqliteConnection::open_database(runtime, options_for("db/a.db"));
    ASSERT_TRUE(connection.ok()) << connection.status();
    auto rows = count_rows(**connection);
    ASSERT_TRUE(rows.ok()) << rows.status();
    EXPECT_EQ(*rows, 200);
    EXPECT_GT((*connection)->vfs().counters().pages_verified, 0u);
  }));
}

TEST(RuntimeVfs, UncommittedTransactionIsRolledBackAfterCrash) {
  SingleMachine machine(2, nullptr);
  bool inside_transaction = false;
  ASSERT_TRUE(machine.run_until([&](Runtime& runtime) {
    auto connection = SqliteConnection::open_database(runtime, options_for("a.db"));
    ASSERT_TRUE(connection.ok());
    ASSERT_TRUE(fill_table(**connection, 50).ok());
    // Leave a big transaction open; the crash comes before COMMIT.
    ASSERT_TRUE((*connection)->execute("BEGIN").ok());
    ASSERT_TRUE((*connection)->execute("UPDATE t SET v = randomblob(900)").ok());
    ASSERT_TRUE((*connection)->execute("INSERT INTO t VALUES (1000, x'00')").ok());
    inside_transaction = true;
    runtime.sleep(seconds(3600));  // the crash comes first
    ADD_FAILURE() << "the machine should have crashed";
  }, [&] { return inside_transaction; }));
  machine.crash();
  ASSERT_TRUE(machine.run([&](Runtime& runtime) {
    auto connection = SqliteConnection::open_database(runtime, options_for("a.db"));
    ASSERT_TRUE(connection.ok()) << connection.status();
    auto rows = count_rows(**connection);
    ASSERT_TRUE(rows.ok()) << rows.status();
    EXPECT_EQ(*rows, 50);
  }));
}

// Leaves a hot journal behind: a transaction big enough to spill pages into the database file
// (so its journal is synced and counted) is cut off by a crash before it commits.
void crash_in_the_middle_of_a_spilling_transaction(SingleMachine& machine) {
  bool inside_transaction = false;
  ASSERT_TRUE(machine.run([&](Runtime& runtime) {
    auto connection = SqliteConnection::open_database(runtime, options_for("a.db"));
    ASSERT_TRUE(connection.ok());
    ASSERT_TRUE(fill_table(**connection, 200).ok());
  }));
  ASSERT_TRUE(machine.run_until([&](Runtime& runtime) {
    auto connection = SqliteConnection::open_database(runtime, options_for("a.db"));
    ASSERT_TRUE(connection.ok());
    ASSERT_TRUE((*connection)->execute("BEGIN").ok());
    ASSERT_TRUE((*connection)->execute("UPDATE t SET v = randomblob(700)").ok());
    inside_transaction = true;
    runtime.sleep(seconds(3600));
  }, [&] { return inside_transaction; }));
  machine.crash();
}

// SQLite takes a journal record with a bad checksum for the end of the journal and stops
// rolling back there; the VFS must turn that into an error, never a half-rolled-back database.
TEST(RuntimeVfs, DamagedJournalRecordFailsTheRollbackInsteadOfCuttingItShort) {
  for (const uint64_t field_offset : {uint64_t{0}, uint64_t{4 + kPageSize}}) {  // page number, record checksum
    SingleMachine machine(15);
    crash_in_the_middle_of_a_spilling_transaction(machine);
    const std::vector<std::byte> journal = machine.durable_image("a.db-journal");
    constexpr uint64_t kRecordBytes = 4 + kPageSize + 4;
    ASSERT_GT(journal.size(), 512 + 3 * kRecordBytes) << "the crash must leave a hot journal";
    const std::byte zeros[4] = {};
    machine.corrupt("a.db-journal", 512 + 2 * kRecordBytes + field_offset, zeros);
    ASSERT_TRUE(machine.run([&](Runtime& runtime) {
      auto connection = SqliteConnection::open_database(runtime, options_for("a.db"));
      Status outcome = connection.status();
      if (connection.ok()) {
        auto rows = count_rows(**connection);
        outcome = rows.status();
      }
      ASSERT_FALSE(outcome.ok()) << "the rollback must not silently stop at the damaged record";
      EXPECT_EQ(outcome.code(), StatusCode::kCorruption) << outcome;
      EXPECT_NE(outcome.message().find("rollback journal"), std::string::npos) << outcome;
    }));
  }
}

TEST(RuntimeVfs, IntactHotJournalRollsBackCompletely) {
  SingleMachine machine(15);
  crash_in_the_middle_of_a_spilling_transaction(machine);
  ASSERT_GT(machine.durable_image("a.db-journal").size(), 512u);
  ASSERT_TRUE(machine.run([&](Runtime& runtime) {
    auto connection = SqliteConnection::open_database(runtime, options_for("a.db"));
    ASSERT_TRUE(connection.ok()) << connection.status();
    auto rows = count_rows(**connection);
    ASSERT_TRUE(rows.ok()) << rows.status();
    EXPECT_EQ(*rows, 200);
    EXPECT_GT((*connection)->vfs().counters().pages_verified, 0u);
  }));
}

// Finds a B-tree page other than page 1 in a database image (the table's pages).
std::size_t some_data_page(const std::vector<std::byte>& image) {
  const std::size_t pages = image.size() / kPageSize;
  return pages > 3 ? pages - 2 : 1;
}

TEST(RuntimeVfs, FlippedBitInAPageIsDetectedNotServed) {
  SingleMachine machine(3);
  build_table_then_crash(machine, 200);
  const std::size_t page = some_data_page(machine.durable_image("a.db"));
  machine.flip_bit("a.db", page * kPageSize + 1234, 3);
  ASSERT_TRUE(machine.run([&](Runtime& runtime) {
    auto connection = SqliteConnection::open_database(runtime, options_for("a.db"));
    ASSERT_TRUE(connection.ok()) << connection.status();
    auto rows = count_rows(**connection);
    ASSERT_FALSE(rows.ok());
    EXPECT_EQ(rows.status().code(), StatusCode::kCorruption) << rows.status();
    EXPECT_NE(rows.status().message().find("page " + std::to_string(page + 1)), std::string::npos) << rows.status();
    EXPECT_NE(rows.status().message().find("offset " + std::to_string(page * kPageSize)), std::string::npos);
    EXPECT_EQ((*connection)->vfs().counters().checksum_failures, 1u);
  }));
}

TEST(RuntimeVfs, PageWrittenToTheWrongPlaceIsDetected) {
  SingleMachine machine(4);
  build_table_then_crash(machine, 200);
  std::vector<std::byte> image = machine.durable_image("a.db");
  const std::size_t page = some_data_page(image);
  // A valid page (with a valid checksum) lands over another one.
  machine.corrupt("a.db", page * kPageSize, std::span(image).subspan((page - 1) * kPageSize, kPageSize));
  ASSERT_TRUE(machine.run([&](Runtime& runtime) {
    auto connection = SqliteConnection::open_database(runtime, options_for("a.db"));
    ASSERT_TRUE(connection.ok()) << connection.status();
    auto rows = count_rows(**connection);
    ASSERT_FALSE(rows.ok());
    EXPECT_EQ(rows.status().code(), StatusCode::kCorruption) << rows.status();
    EXPECT_NE(rows.status().message().find("another page's content"), std::string::npos) << rows.status();
  }));
}

TEST(RuntimeVfs, InjectedReadErrorReachesTheCallerAsAnIoError) {
  sim::FaultPlan plan = sim::testing::plan_with(proto::DISK_READ_ERROR, 1.0);
  SingleMachine machine(5, &plan, /*corruptible_disk=*/true);
  ASSERT_TRUE(machine.run([&](Runtime& runtime) {
    auto connection = SqliteConnection::open_database(runtime, options_for("a.db"));
    if (connection.ok()) {
      Status filled = fill_table(**connection, 200);
      if (filled.ok()) {
        auto rows = count_rows(**connection);
        ASSERT_FALSE(rows.ok());
        filled = rows.status();
      }
      EXPECT_EQ(filled.code(), StatusCode::kIoError) << filled;
      EXPECT_NE(filled.message().find("EIO"), std::string::npos) << filled;
    } else {
      EXPECT_EQ(connection.status().code(), StatusCode::kIoError) << connection.status();
    }
  }));
}

// Opens "a.db" on a machine whose disk has `fault` at every operation and writes a table: the
// error that reaches the caller (from the open or the writes).
Status fill_table_under(proto::FaultKind fault, uint64_t seed, bool corruptible_disk = false) {
  sim::FaultPlan plan = sim::testing::plan_with(fault, 1.0);
  SingleMachine machine(seed, &plan, corruptible_disk);
  Status result;
  EXPECT_TRUE(machine.run([&](Runtime& runtime) {
    auto connection = SqliteConnection::open_database(runtime, options_for("a.db"));
    result = connection.ok() ? fill_table(**connection, 10) : connection.status();
  }));
  return result;
}

TEST(RuntimeVfs, FailedSyncFailsTheCommit) {
  const Status result = fill_table_under(proto::DISK_SYNC_FAILURE, 6);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.code(), StatusCode::kIoError) << result;
  EXPECT_NE(result.message().find("fsync"), std::string::npos) << result;
}

TEST(RuntimeVfs, FullDiskIsReportedAsNoSpace) {
  const Status result = fill_table_under(proto::DISK_FULL, 7);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.code(), StatusCode::kNoSpace) << result;
}

TEST(RuntimeVfs, WritesThatDoNotReadBackAreRefused) {
  const Status result = fill_table_under(proto::DISK_BIT_FLIP, 8, /*corruptible_disk=*/true);
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.message().find("did not read back as written"), std::string::npos) << result;
}

TEST(RuntimeVfs, ShortReadIsZeroFilledAndReported) {
  SingleMachine machine(9);
  ASSERT_TRUE(machine.run([&](Runtime& runtime) {
    auto vfs = RuntimeVfs::create(runtime);
    ASSERT_TRUE(vfs.ok());
    {
      RawFile raw(**vfs, "plain", SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_TEMP_JOURNAL);
      ASSERT_EQ(raw.open_result, SQLITE_OK);
      ASSERT_EQ(raw.file->pMethods->xWrite(raw.file, "abc", 3, 0), SQLITE_OK);
      char buffer[8];
      std::memset(buffer, 'x', sizeof buffer);
      EXPECT_EQ(raw.file->pMethods->xRead(raw.file, buffer, 8, 0), SQLITE_IOERR_SHORT_READ);
      EXPECT_EQ(std::string(buffer, 8), std::string("abc\0\0\0\0\0", 8));
      sqlite3_int64 size = 0;
      ASSERT_EQ(raw.file->pMethods->xFileSize(raw.file, &size), SQLITE_OK);
      EXPECT_EQ(size, 3);
      ASSERT_EQ(raw.file->pMethods->xTruncate(raw.file, 1), SQLITE_OK);
      ASSERT_EQ(raw.file->pMethods->xFileSize(raw.file, &size), SQLITE_OK);
      EXPECT_EQ(size, 1);
    }
    int exists = -1;
    sqlite3_vfs* sqlite_vfs = sqlite3_vfs_find((*vfs)->name());
    ASSERT_EQ(sqlite_vfs->xAccess(sqlite_vfs, "plain", SQLITE_ACCESS_EXISTS, &exists), SQLITE_OK);
    EXPECT_EQ(exists, 1);
    ASSERT_EQ(sqlite_vfs->xDelete(sqlite_vfs, "plain", 1), SQLITE_OK);
    ASSERT_EQ(sqlite_vfs->xAccess(sqlite_vfs, "plain", SQLITE_ACCESS_EXISTS, &exists), SQLITE_OK);
    EXPECT_EQ(exists, 0);
    EXPECT_EQ(sqlite_vfs->xDelete(sqlite_vfs, "plain", 0), SQLITE_IOERR_DELETE_NOENT);
    char path[64];
    EXPECT_EQ(sqlite_vfs->xFullPathname(sqlite_vfs, "../escape", sizeof path, path), SQLITE_CANTOPEN);
    EXPECT_EQ(sqlite_vfs->xFullPathname(sqlite_vfs, "a/b.db", sizeof path, path), SQLITE_OK);
    EXPECT_STREQ(path, "a/b.db");
  }));
}

TEST(RuntimeVfs, TemporaryFilesLiveOnTheRuntimeAndVanishOnClose) {
  SingleMachine machine(10);
  ASSERT_TRUE(machine.run([&](Runtime& runtime) {
    auto vfs = RuntimeVfs::create(runtime);
    ASSERT_TRUE(vfs.ok());
    {
      RawFile raw(**vfs, nullptr, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_DELETEONCLOSE |
                                      SQLITE_OPEN_TEMP_DB);
      ASSERT_EQ(raw.open_result, SQLITE_OK);
      ASSERT_EQ(raw.file->pMethods->xWrite(raw.file, "abc", 3, 0), SQLITE_OK);
      auto listed = runtime.file_system().list("sqlite-temp");
      ASSERT_TRUE(listed.ok());
      EXPECT_EQ(listed->size(), 1u);
    }
    auto listed = runtime.file_system().list("sqlite-temp");
    ASSERT_TRUE(listed.ok());
    EXPECT_TRUE(listed->empty());
  }));
}

TEST(RuntimeVfs, ClockAndRandomnessComeFromTheRuntime) {
  auto run = [](uint64_t seed) {
    SingleMachine machine(seed);
    std::string observed;
    machine.run([&](Runtime& runtime) {
      auto connection = SqliteConnection::open_database(runtime, options_for("a.db"));
      ASSERT_TRUE(connection.ok());
      runtime.sleep(seconds(5));
      auto statement =
          SqliteStatement::prepare(**connection, "SELECT CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER), random()");
      ASSERT_TRUE(statement.ok());
      StatementUse use(**statement);
      ASSERT_TRUE(*(*statement)->step());
      const int64_t wall_milliseconds =
          std::chrono::duration_cast<std::chrono::milliseconds>(runtime.wall_now().time_since_epoch()).count();
      EXPECT_NEAR(static_cast<double>((*statement)->column_int64(0)), static_cast<double>(wall_milliseconds), 2.0);
      observed = std::to_string((*statement)->column_int64(1));
    });
    return observed + "/" + std::to_string(machine.simulator().trace().hash());
  };
  EXPECT_EQ(run(11), run(11));
  EXPECT_NE(run(11), run(12));
}

TEST(RuntimeVfs, AnotherConnectionToAnOpenDatabaseIsRefused) {
  SingleMachine machine(13);
  ASSERT_TRUE(machine.run([&](Runtime& runtime) {
    auto vfs = RuntimeVfs::create(runtime);
    ASSERT_TRUE(vfs.ok());
    RawFile first(**vfs, "a.db", SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_MAIN_DB);
    ASSERT_EQ(first.open_result, SQLITE_OK);
    RawFile second(**vfs, "a.db", SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_MAIN_DB);
    EXPECT_EQ(second.open_result, SQLITE_CANTOPEN);
    EXPECT_NE((*vfs)->last_error().message().find("already open"), std::string::npos);
  }));
}

TEST(RuntimeVfs, WalJournalModeIsRefused) {
  SingleMachine machine(14);
  ASSERT_TRUE(machine.run([&](Runtime& runtime) {
    auto vfs = RuntimeVfs::create(runtime);
    ASSERT_TRUE(vfs.ok());
    RawFile wal(**vfs, "a.db-wal", SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_WAL);
    EXPECT_EQ(wal.open_result, SQLITE_CANTOPEN);
  }));
}

}  // namespace
}  // namespace cairn::storage
