// Storage benchmarks on the real disk, each beside its baseline in the same run:
//  - the key-value engine (SQLite through the Runtime VFS, with MVCC versions, page checksums
//    and read-back) against raw SQLite through its own unix VFS with the same journal mode,
//    synchronous level, locking mode and page size, writing the same rows: the overhead of the
//    VFS and MVCC as a ratio, at 1 and at 1,000 rows per batch;
//  - the write-ahead log with group commit (many fibers appending at once) against one
//    fdatasync per record (one appender), with the records each sync carried;
//  - the write-ahead log with and without reading every batch back (WalOptions::verify_writes),
//    with one and with 64 appenders, small and block-sized records.
// Runs alternate engine and baseline several times so drift of the machine hits both alike.
// Run: build/bin/cairn-bench-storage [DIRECTORY] (make bench). Figures: docs/benchmarks.md.
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "core/runtime/random.h"
#include "net/epoll_runtime.h"
#include "storage/kv/kv_engine.h"
#include "storage/wal/write_ahead_log.h"

namespace cairn {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int kRounds = 5;
// The read-back costs little next to an fdatasync, so its comparison needs more rounds to rise
// above the disk's jitter.
constexpr int kReadBackRounds = 15;
constexpr std::size_t kKeyBytes = 16;
constexpr std::size_t kValueBytes = 100;

struct Row {
  std::string key;
  std::string value;
};

std::vector<Row> make_rows(std::size_t count, uint64_t seed) {
  Random random(seed);
  std::vector<Row> rows(count);
  for (Row& row : rows) {
    row.key.resize(kKeyBytes);
    row.value.resize(kValueBytes);
    for (char& c : row.key) c = static_cast<char>('a' + random.uniform(26));
    for (char& c : row.value) c = static_cast<char>(random.next_u64());
  }
  return rows;
}

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

// Runs `body` as the main fiber of a fresh runtime whose data directory is `directory`.
void with_runtime(const std::string& directory, const std::function<void(Runtime&)>& body) {
  std::filesystem::remove_all(directory);
  std::filesystem::create_directories(directory);
  net::EpollRuntime::Options options;
  options.node_id = 1;
  options.data_directory = directory;
  options.handle_signals = false;
  options.log_level = LogLevel::kError;
  auto runtime = net::EpollRuntime::create(options);
  if (!runtime.ok()) {
    std::fprintf(stderr, "cannot create a runtime: %s\n", runtime.status().to_string().c_str());
    std::exit(1);
  }
  (*runtime)->run([&] {
    body(**runtime);
    return 0;
  });
}

// Rows per second applying `batches` batches of `rows_per_batch` rows through the engine.
double engine_rows_per_second(const std::string& directory, std::size_t rows_per_batch, std::size_t batches,
                              bool read_back) {
  const std::vector<Row> rows = make_rows(rows_per_batch * batches, 7);
  double seconds = 0;
  with_runtime(directory, [&](Runtime& runtime) {
    storage::KvEngineOptions options;
    options.vfs.read_back_writes = read_back;
    auto engine = storage::KvEngine::open_engine(runtime, options);
    if (!engine.ok()) {
      std::fprintf(stderr, "engine: %s\n", engine.status().to_string().c_str());
      std::exit(1);
    }
    const auto start = Clock::now();
    for (std::size_t batch = 0; batch < batches; ++batch) {
      storage::WriteBatch write;
      write.commit_timestamp = batch + 1;
      for (std::size_t i = 0; i < rows_per_batch; ++i) {
        const Row& row = rows[batch * rows_per_batch + i];
        write.put(row.key, row.value);
      }
      Status applied = (*engine)->apply(write);
      if (!applied.ok()) {
        std::fprintf(stderr, "apply: %s\n", applied.to_string().c_str());
        std::exit(1);
      }
    }
    seconds = seconds_since(start);
  });
  return static_cast<double>(rows_per_batch * batches) / seconds;
}

void must(sqlite3* database, const char* sql) {
  char* error = nullptr;
  if (sqlite3_exec(database, sql, nullptr, nullptr, &error) != SQLITE_OK) {
    std::fprintf(stderr, "sqlite: %s: %s\n", sql, error);
    std::exit(1);
  }
}

// The same rows into plain SQLite: its own unix VFS, one table, the engine's pragmas.
double raw_sqlite_rows_per_second(const std::string& directory, std::size_t rows_per_batch, std::size_t batches) {
  const std::vector<Row> rows = make_rows(rows_per_batch * batches, 7);
  std::filesystem::remove_all(directory);
  std::filesystem::create_directories(directory);
  sqlite3* database = nullptr;
  if (sqlite3_open((directory + "/raw.db").c_str(), &database) != SQLITE_OK) std::exit(1);
  must(database, "PRAGMA locking_mode=EXCLUSIVE");
  must(database, "PRAGMA page_size=4096");
  must(database, "PRAGMA journal_mode=TRUNCATE");
  must(database, "PRAGMA synchronous=FULL");
  must(database, "CREATE TABLE kv (key BLOB PRIMARY KEY, value BLOB) WITHOUT ROWID");
  sqlite3_stmt* insert = nullptr;
  sqlite3_prepare_v2(database, "INSERT OR REPLACE INTO kv (key, value) VALUES (?1, ?2)", -1, &insert, nullptr);
  const auto start = Clock::now();
  for (std::size_t batch = 0; batch < batches; ++batch) {
    must(database, "BEGIN IMMEDIATE");
    for (std::size_t i = 0; i < rows_per_batch; ++i) {
      const Row& row = rows[batch * rows_per_batch + i];
      sqlite3_bind_blob(insert, 1, row.key.data(), static_cast<int>(row.key.size()), SQLITE_STATIC);
      sqlite3_bind_blob(insert, 2, row.value.data(), static_cast<int>(row.value.size()), SQLITE_STATIC);
      if (sqlite3_step(insert) != SQLITE_DONE) std::exit(1);
      sqlite3_reset(insert);
    }
    must(database, "COMMIT");
  }
  const double seconds = seconds_since(start);
  sqlite3_finalize(insert);
  sqlite3_close(database);
  return static_cast<double>(rows_per_batch * batches) / seconds;
}

struct WalFigures {
  double records_per_second = 0;
  double records_per_sync = 0;
};

// `appenders` fibers append `records` records of `payload_bytes` between them.
WalFigures wal_append(const std::string& directory, std::size_t appenders, std::size_t records, std::size_t payload_bytes,
                      bool verify_writes = true) {
  WalFigures figures;
  with_runtime(directory, [&](Runtime& runtime) {
    auto log = WriteAheadLog::open_log(runtime, WalOptions{.verify_writes = verify_writes});
    if (!log.ok()) {
      std::fprintf(stderr, "wal: %s\n", log.status().to_string().c_str());
      std::exit(1);
    }
    const std::string payload(payload_bytes, 'p');
    const auto start = Clock::now();
    std::size_t finished = 0;
    Event all_done;
    FiberScope scope(runtime.process());
    for (std::size_t appender = 0; appender < appenders; ++appender) {
      scope.spawn("appender", [&, appender] {
        for (std::size_t i = appender; i < records; i += appenders) {
          if (!(*log)->append(kWalRecordEntry, as_bytes(payload)).ok()) std::exit(1);
        }
        if (++finished == appenders) all_done.set();
      });
    }
    all_done.wait();
    const double seconds = seconds_since(start);
    figures.records_per_second = static_cast<double>(records) / seconds;
    figures.records_per_sync =
        static_cast<double>((*log)->counters().records_written) / static_cast<double>(std::max<uint64_t>(1, (*log)->counters().syncs));
  });
  return figures;
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

}  // namespace
}  // namespace cairn

int main(int argc, char** argv) {
  using namespace cairn;
  const std::string root = argc > 1 ? argv[1] : "/tmp/cairn-bench-storage-" + std::to_string(::getpid());
  std::printf("storage benchmarks in %s (%d alternating rounds, medians)\n\n", root.c_str(), kRounds);

  struct KvCase {
    std::size_t rows_per_batch;
    std::size_t batches;
  };
  for (const KvCase kv : {KvCase{1, 300}, KvCase{1000, 30}}) {
    std::vector<double> engine, engine_no_read_back, raw;
    for (int round = 0; round < kRounds; ++round) {
      raw.push_back(raw_sqlite_rows_per_second(root + "/raw", kv.rows_per_batch, kv.batches));
      engine.push_back(engine_rows_per_second(root + "/engine", kv.rows_per_batch, kv.batches, true));
      engine_no_read_back.push_back(engine_rows_per_second(root + "/engine", kv.rows_per_batch, kv.batches, false));
    }
    const double raw_rate = median(raw);
    std::printf("kv apply, %zu row(s) per batch, %zu batches of %zu-byte keys and %zu-byte values:\n", kv.rows_per_batch,
                kv.batches, kKeyBytes, kValueBytes);
    std::printf("  raw SQLite (unix VFS)            %10.0f rows/s\n", raw_rate);
    std::printf("  KvEngine (Runtime VFS, MVCC)     %10.0f rows/s  = %.2f x raw\n", median(engine), median(engine) / raw_rate);
    std::printf("  KvEngine without write read-back %10.0f rows/s  = %.2f x raw\n\n", median(engine_no_read_back),
                median(engine_no_read_back) / raw_rate);
  }

  std::vector<double> serial, grouped, per_sync;
  for (int round = 0; round < kRounds; ++round) {
    serial.push_back(wal_append(root + "/wal", 1, 300, 100).records_per_second);
    const WalFigures group = wal_append(root + "/wal", 64, 5000, 100);
    grouped.push_back(group.records_per_second);
    per_sync.push_back(group.records_per_sync);
  }
  std::printf("wal append, 100-byte records:\n");
  std::printf("  one appender (one fdatasync per record) %10.0f records/s\n", median(serial));
  std::printf("  64 appenders (group commit)             %10.0f records/s  = %.1f x, %.1f records per sync\n",
              median(grouped), median(grouped) / median(serial), median(per_sync));

  // Read-back on and off, alternating within each round so that drift hits both alike.
  struct ReadBackCase {
    std::size_t appenders;
    std::size_t records;
    std::size_t payload_bytes;
  };
  std::printf("\nwal append, every batch read back (verify_writes) vs not (%d alternating rounds, medians):\n",
              kReadBackRounds);
  for (const ReadBackCase wal : {ReadBackCase{1, 300, 100}, ReadBackCase{64, 5000, 100}, ReadBackCase{1, 300, 4000},
                                 ReadBackCase{64, 5000, 4000}}) {
    std::vector<double> verified, unverified;
    for (int round = 0; round < kReadBackRounds; ++round) {
      verified.push_back(wal_append(root + "/wal", wal.appenders, wal.records, wal.payload_bytes, true).records_per_second);
      unverified.push_back(
          wal_append(root + "/wal", wal.appenders, wal.records, wal.payload_bytes, false).records_per_second);
    }
    std::printf("  %2zu appender(s), %4zu-byte records: read back %10.0f records/s, not %10.0f records/s  = %.3f\n",
                wal.appenders, wal.payload_bytes, median(verified), median(unverified),
                median(verified) / median(unverified));
  }
  std::filesystem::remove_all(root);
  return 0;
}
