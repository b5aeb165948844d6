// The SQLite VFS callbacks that forward to a Runtime, with page checksums and read-back (see
// runtime_vfs.h). Each callback is a C entry point: it must not let an exception out, so every
// one runs its body through `guarded()`.
#include "storage/vfs/runtime_vfs.h"

#include <sqlite3.h>

#include <algorithm>
#include <cstring>
#include <exception>
#include <map>
#include <optional>
#include <type_traits>
#include <vector>

#include "core/runtime/assert.h"
#include "storage/encoding/little_endian.h"
#include "storage/vfs/page_checksum.h"

namespace cairn::storage {
namespace {

constexpr int kSectorSize = 512;
constexpr int kMaxPathLength = 512;
constexpr std::size_t kDatabaseHeaderBytes = 100;
constexpr char kJournalSuffix[] = "-journal";
// Julian day number of 1970-01-01 00:00 UTC, in milliseconds (SQLite's time base).
constexpr int64_t kUnixEpochJulianMilliseconds = 210866760000000;

enum class FileKind { kMainDatabase, kMainJournal, kOther };

// What the VFS knows about one open file.
struct FileState {
  RuntimeVfs* vfs = nullptr;
  std::unique_ptr<File> file;
  std::string path;
  std::string database_path;  // the main database this file belongs to (itself, or its journal's)
  FileKind kind = FileKind::kOther;
  bool delete_on_close = false;
  // The file's directory entry may not be durable yet (this open may have created it, or an
  // earlier open's directory sync may have failed): the first successful sync syncs the directory.
  bool directory_sync_pending = false;
  // What the reads of a rollback journal have shown so far (verify_journal_read).
  struct JournalReads {
    uint64_t header_offset = UINT64_MAX;  // where the last journal header (its magic) was read
    std::optional<uint32_t> nonce;        // that header's checksum seed
    uint64_t last_word_offset = UINT64_MAX;  // the last 4-byte read: a record's page number...
    uint32_t last_word = 0;
    uint64_t checksum_offset = UINT64_MAX;   // ...and where the last record's checksum sits
    uint32_t expected_checksum = 0;
  } journal;
  // The journal as this connection wrote it since it was last empty (main journals only; null
  // when the journal held data from before this open). A write that does not read back is
  // repaired from it, and every read is checked against it.
  std::optional<std::vector<std::byte>> journal_shadow;
  // Main databases: whole pages written since the last sync and not read back yet (offset ->
  // the checksum sealed into the page). They are read back at the sync, in runs of adjacent
  // pages, before anything can depend on them: a commit syncs the database before it is done.
  std::map<uint64_t, uint32_t> unverified_pages;
  std::optional<uint64_t> known_size;  // the database file's size, once learned
  // Reused by read-back, so a write costs no allocation.
  std::unique_ptr<std::byte[]> read_back_buffer;
  std::size_t read_back_capacity = 0;
};

// The sqlite3_file SQLite allocates for us (szOsFile bytes); standard layout, so the cast from
// sqlite3_file* is valid.
struct VfsFile {
  sqlite3_file base;
  FileState* state;
};
static_assert(std::is_standard_layout_v<VfsFile>);

FileState& state_of(sqlite3_file* file) { return *reinterpret_cast<VfsFile*>(file)->state; }
RuntimeVfs& owner_of(sqlite3_vfs* vfs) { return *static_cast<RuntimeVfs*>(vfs->pAppData); }

// Runs `body`; an exception (a cancelled fiber, an expired timeout, bad_alloc) is kept for the
// caller to rethrow after SQLite returns, and the operation fails with `failure_code`. While an
// exception is unwinding the calling fiber (SQLite closing a connection from a destructor, say)
// a fiber must not block, so the operation fails without touching the file system; SQLite then
// leaves its journal behind and the next open rolls back from it.
template <typename Body>
int guarded(RuntimeVfs& vfs, int failure_code, Body&& body) noexcept {
  try {
    if (std::uncaught_exceptions() > 0) {
      vfs.record_error(Status::cancelled("no file I/O while an exception unwinds the calling fiber"));
      return failure_code;
    }
    return body();
  } catch (...) {
    vfs.record_interruption(std::current_exception());
    return failure_code;
  }
}

int fail(RuntimeVfs& vfs, Status status, int io_error_code) {
  const bool no_space = status.code() == StatusCode::kNoSpace;
  vfs.record_error(std::move(status));
  return no_space ? SQLITE_FULL : io_error_code;
}

uint32_t load_big_endian_u32(const std::byte* bytes) {
  return (static_cast<uint32_t>(bytes[0]) << 24) | (static_cast<uint32_t>(bytes[1]) << 16) |
         (static_cast<uint32_t>(bytes[2]) << 8) | static_cast<uint32_t>(bytes[3]);
}

// Learns the page size and reserved bytes from the first bytes of page 1, if they are a database
// header.
void learn_layout(RuntimeVfs::DatabaseLayout& layout, std::span<const std::byte> header) {
  static constexpr char kMagic[] = "SQLite format 3";  // 16 bytes with its NUL
  if (header.size() < kDatabaseHeaderBytes || std::memcmp(header.data(), kMagic, sizeof kMagic) != 0) return;
  uint32_t page_size = (static_cast<uint32_t>(header[16]) << 8) | static_cast<uint32_t>(header[17]);
  if (page_size == 1) page_size = 65536;
  if (!is_valid_page_size(page_size)) return;
  layout.page_size = page_size;
  layout.reserved_bytes = static_cast<uint32_t>(header[20]);
}

// The layout of the database `state` belongs to, reading its header if it is not known yet.
Result<RuntimeVfs::DatabaseLayout> layout_for(FileState& state) {
  RuntimeVfs::DatabaseLayout& layout = state.vfs->layout(state.database_path);
  if (layout.page_size != 0 || state.kind != FileKind::kMainDatabase) return layout;
  std::vector<std::byte> header(kDatabaseHeaderBytes);
  CAIRN_ASSIGN_OR_RETURN(std::size_t read, state.file->read(0, header));
  header.resize(read);
  learn_layout(layout, header);
  return layout;
}

Status missing_checksum_room(const FileState& state, uint32_t reserved_bytes) {
  return Status::corruption("database '" + state.database_path + "' has " + std::to_string(reserved_bytes) +
                            " reserved bytes per page, not the " + std::to_string(kPageChecksumBytes) +
                            " its page checksums need (it was not created by Cairn, or page 1 is damaged)");
}

// Whether [offset, offset + amount) is a run of whole pages.
bool whole_pages(uint64_t offset, std::size_t amount, uint32_t page_size) {
  return page_size != 0 && amount >= page_size && offset % page_size == 0 && amount % page_size == 0;
}

// Verifies every whole page of a read from a main database.
int verify_database_read(FileState& state, uint64_t offset, std::span<std::byte> data) {
  RuntimeVfs& vfs = *state.vfs;
  if (offset == 0) learn_layout(vfs.layout(state.database_path), data);
  Result<RuntimeVfs::DatabaseLayout> layout = layout_for(state);
  if (!layout.ok()) return fail(vfs, layout.status(), SQLITE_IOERR_READ);
  if (!whole_pages(offset, data.size(), layout->page_size)) return SQLITE_OK;  // a header peek
  if (layout->reserved_bytes != kPageChecksumBytes) {
    if (!vfs.options().require_page_checksums) return SQLITE_OK;
    return fail(vfs, missing_checksum_room(state, layout->reserved_bytes), SQLITE_IOERR_DATA);
  }
  const uint32_t page_size = layout->page_size;
  for (std::size_t at = 0; at < data.size(); at += page_size) {
    const auto page_number = static_cast<uint32_t>((offset + at) / page_size + 1);
    const PageVerdict verdict = verify_page(data.subspan(at, page_size), page_number);
    ++vfs.mutable_counters().pages_verified;
    // A page written since the last sync and read again before it (SQLite evicted it from its
    // cache) must be the version written, not one a stray write left behind.
    auto written = state.unverified_pages.find(offset + at);
    if (verdict == PageVerdict::kValid && written != state.unverified_pages.end() &&
        load_u32(data.data() + at + page_size - kPageChecksumBytes) != written->second) {
      ++vfs.mutable_counters().read_back_mismatches;
      return fail(vfs,
                  Status::corruption("page " + std::to_string(page_number) + " of '" + state.path + "' at offset " +
                                     std::to_string(offset + at) + " reads back older than what was written to it"),
                  SQLITE_IOERR_DATA);
    }
    if (verdict != PageVerdict::kValid) {
      vfs.runtime().probe("vfs.page.checksum_failure_detected");
      ++vfs.mutable_counters().checksum_failures;
      return fail(vfs,
                  Status::corruption("page " + std::to_string(page_number) + " of '" + state.path + "' at offset " +
                                     std::to_string(offset + at) + ": " + page_verdict_name(verdict)),
                  SQLITE_IOERR_DATA);
    }
  }
  return SQLITE_OK;
}

int journal_corruption(FileState& state, uint64_t offset, const std::string& what) {
  ++state.vfs->mutable_counters().checksum_failures;
  return fail(*state.vfs,
              Status::corruption("rollback journal '" + state.path + "' at offset " + std::to_string(offset) + ": " + what),
              SQLITE_IOERR_DATA);
}

// SQLite's own checksum of a journal record: the header's nonce plus every 200th byte.
uint32_t sqlite_record_checksum(uint32_t nonce, std::span<const std::byte> page) {
  uint32_t checksum = nonce;
  for (std::size_t i = page.size() - 200; i > 0 && i < page.size(); i -= 200) checksum += static_cast<uint8_t>(page[i]);
  return checksum;
}

// Verifies what SQLite reads back from a rollback journal. A journal is headers (8-byte magic,
// record count, nonce, ...) each followed by records: a 4-byte page number, the page, and a
// 4-byte checksum (nonce + sampled bytes). SQLite treats a record whose page number is 0 or
// whose checksum does not match as the end of the journal, and stops rolling back there — so a
// damaged record inside the journal would silently leave a transaction half rolled back. Every
// record SQLite reads must therefore be whole: the page passes its own checksum, carries the page
// number the record claims, and the record checksum matches. A journal this connection writes
// is checked against its shadow instead (adopt_journal_as_shadow: stale bytes past its own
// records are what the file holds, and a rollback may read them); these record checks judge
// only a journal left by a crash, where SQLite reads each header and the records it counts.
int verify_journal_read(FileState& state, uint64_t offset, std::span<std::byte> data) {
  static constexpr unsigned char kJournalMagic[8] = {0xd9, 0xd5, 0x05, 0xf9, 0x20, 0xa1, 0x63, 0xd7};
  if (state.journal_shadow) {
    // This connection wrote the journal: it must read back exactly that. (SQLite also reads it
    // in ways the record checks below do not expect, e.g. a statement's rollback from the middle.)
    const std::vector<std::byte>& shadow = *state.journal_shadow;
    if (offset + data.size() > shadow.size() ||
        std::memcmp(shadow.data() + offset, data.data(), data.size()) != 0) {
      return journal_corruption(state, offset, "differs from what this connection wrote");
    }
    return SQLITE_OK;
  }
  // A journal left by a crash: SQLite reads each header, then its records in order.
  FileState::JournalReads& reads = state.journal;
  if (data.size() == 8) {
    // SQLite reads 8 bytes only for a header's magic, and takes anything else for the end of
    // the journal. That is how it finds the end after the last segment (the bytes there may be
    // a record's), but the first header must be whole: zeros are one never written, any other
    // bytes a damaged one.
    if (std::memcmp(data.data(), kJournalMagic, 8) == 0) {
      reads = FileState::JournalReads{};
      reads.header_offset = offset;
      return SQLITE_OK;
    }
    if (offset == 0 && std::any_of(data.begin(), data.end(), [](std::byte b) { return b != std::byte{0}; })) {
      return journal_corruption(state, offset, "damaged journal header");
    }
    return SQLITE_OK;
  }
  if (data.size() == 4) {
    const uint32_t word = load_big_endian_u32(data.data());
    if (offset == reads.header_offset + 12) reads.nonce = word;
    if (offset == reads.checksum_offset && word != reads.expected_checksum) {
      return journal_corruption(state, offset, "record checksum mismatch");
    }
    reads.last_word_offset = offset;
    reads.last_word = word;
    return SQLITE_OK;
  }
  RuntimeVfs& vfs = *state.vfs;
  const RuntimeVfs::DatabaseLayout& layout = vfs.layout(state.database_path);
  if (layout.reserved_bytes != kPageChecksumBytes || data.size() != layout.page_size) return SQLITE_OK;
  ++vfs.mutable_counters().pages_verified;
  const bool after_page_number = reads.last_word_offset + 4 == offset;
  uint32_t stored = 0;
  const PageVerdict verdict = verify_page(data, after_page_number ? reads.last_word : 0, &stored);
  if (verdict != PageVerdict::kValid || (after_page_number && reads.last_word == 0)) {
    return journal_corruption(state, offset,
                              "record for page " + std::to_string(after_page_number ? reads.last_word : stored) + ": " +
                                  (verdict == PageVerdict::kValid ? "page number 0" : page_verdict_name(verdict)));
  }
  // Records start one header (a sector) after their header, each page number + page + checksum.
  const uint64_t first_record = reads.header_offset + kSectorSize;
  const bool record_position = after_page_number && offset >= first_record + 4 &&
                               (offset - 4 - first_record) % (data.size() + 8) == 0;
  if (reads.nonce && record_position) {
    reads.checksum_offset = offset + data.size();
    reads.expected_checksum = sqlite_record_checksum(*reads.nonce, data);
  }
  return SQLITE_OK;
}

// Seals the whole pages of a write to a main database, in SQLite's own buffer: the trailer is
// SQLite's reserved space, and later copies of the page (journal records) must carry it too.
int seal_database_write(FileState& state, uint64_t offset, std::span<std::byte> data) {
  RuntimeVfs& vfs = *state.vfs;
  if (offset == 0) learn_layout(vfs.layout(state.database_path), data);
  Result<RuntimeVfs::DatabaseLayout> layout = layout_for(state);
  if (!layout.ok()) return fail(vfs, layout.status(), SQLITE_IOERR_WRITE);
  if (!whole_pages(offset, data.size(), layout->page_size)) return SQLITE_OK;
  if (layout->reserved_bytes != kPageChecksumBytes) {
    if (!vfs.options().require_page_checksums) return SQLITE_OK;
    return fail(vfs, missing_checksum_room(state, layout->reserved_bytes), SQLITE_IOERR_WRITE);
  }
  const uint32_t page_size = layout->page_size;
  for (std::size_t at = 0; at < data.size(); at += page_size) {
    seal_page(data.subspan(at, page_size), static_cast<uint32_t>((offset + at) / page_size + 1));
    ++vfs.mutable_counters().pages_sealed;
  }
  return SQLITE_OK;
}

int read_back(FileState& state, uint64_t offset, std::span<const std::byte> written) {
  RuntimeVfs& vfs = *state.vfs;
  if (state.read_back_capacity < written.size()) {
    state.read_back_buffer = std::make_unique_for_overwrite<std::byte[]>(written.size());
    state.read_back_capacity = written.size();
  }
  std::span<std::byte> found(state.read_back_buffer.get(), written.size());
  Result<std::size_t> read = state.file->read(offset, found);
  if (!read.ok()) return fail(vfs, read.status(), SQLITE_IOERR_WRITE);
  if (*read == written.size() && std::memcmp(found.data(), written.data(), written.size()) == 0) return SQLITE_OK;
  ++vfs.mutable_counters().read_back_mismatches;
  return fail(vfs,
              Status::corruption("write of " + std::to_string(written.size()) + " bytes to '" + state.path +
                                 "' at offset " + std::to_string(offset) +
                                 " did not read back as written (misdirected or corrupted write)"),
              SQLITE_IOERR_WRITE);
}

// --- sqlite3_io_methods ------------------------------------------------------------------------

int file_close(sqlite3_file* file) {
  FileState* state = &state_of(file);
  RuntimeVfs& vfs = *state->vfs;
  if (state->kind == FileKind::kMainDatabase) vfs.open_databases().erase(state->path);
  state->file.reset();
  const int result = guarded(vfs, SQLITE_IOERR_CLOSE, [&] {
    if (!state->delete_on_close) return SQLITE_OK;
    Status removed = vfs.runtime().file_system().remove(state->path);
    return removed.ok() ? SQLITE_OK : fail(vfs, std::move(removed), SQLITE_IOERR_DELETE);
  });
  delete state;
  reinterpret_cast<VfsFile*>(file)->state = nullptr;
  return result;
}

int file_read(sqlite3_file* file, void* buffer, int amount, sqlite3_int64 offset) {
  FileState& state = state_of(file);
  return guarded(*state.vfs, SQLITE_IOERR_READ, [&] {
    ++state.vfs->mutable_counters().reads;
    std::span<std::byte> out(static_cast<std::byte*>(buffer), static_cast<std::size_t>(amount));
    Result<std::size_t> read = state.file->read(static_cast<uint64_t>(offset), out);
    if (!read.ok()) return fail(*state.vfs, read.status(), SQLITE_IOERR_READ);
    if (*read < out.size()) {
      // SQLite requires the rest of the buffer zeroed on a short read.
      std::memset(out.data() + *read, 0, out.size() - *read);
      return SQLITE_IOERR_SHORT_READ;
    }
    switch (state.kind) {
      case FileKind::kMainDatabase: return verify_database_read(state, static_cast<uint64_t>(offset), out);
      case FileKind::kMainJournal: return verify_journal_read(state, static_cast<uint64_t>(offset), out);
      case FileKind::kOther: return SQLITE_OK;
    }
    return SQLITE_OK;
  });
}

// Writes and (if enabled) reads back.
int write_checked(FileState& state, uint64_t offset, std::span<const std::byte> data) {
  Status written = state.file->write(offset, data);
  if (!written.ok()) return fail(*state.vfs, std::move(written), SQLITE_IOERR_WRITE);
  if (!state.vfs->options().read_back_writes) return SQLITE_OK;
  return read_back(state, offset, data);
}

// A write past the end of the database would leave a hole SQLite may later read as a page (a
// page it freed and reused without writing). Fill it with sealed zero pages first.
int fill_database_hole(FileState& state, uint64_t offset) {
  const RuntimeVfs::DatabaseLayout& layout = state.vfs->layout(state.database_path);
  if (layout.page_size == 0 || layout.reserved_bytes != kPageChecksumBytes) return SQLITE_OK;
  if (!state.known_size) {
    Result<uint64_t> size = state.file->size();
    if (!size.ok()) return fail(*state.vfs, size.status(), SQLITE_IOERR_WRITE);
    state.known_size = *size;
  }
  const uint64_t size = *state.known_size;
  if (size >= offset || size % layout.page_size != 0) return SQLITE_OK;
  std::vector<std::byte> zeros(offset - size);
  for (uint64_t at = 0; at < zeros.size(); at += layout.page_size) {
    seal_page(std::span(zeros).subspan(at, layout.page_size), static_cast<uint32_t>((size + at) / layout.page_size + 1));
  }
  return write_checked(state, size, zeros);
}

// Writes whole sealed pages of a main database; their read-back waits for the next sync.
int write_database_pages(FileState& state, uint64_t offset, std::span<const std::byte> data, uint32_t page_size) {
  Status written = state.file->write(offset, data);
  if (!written.ok()) {
    state.known_size.reset();
    return fail(*state.vfs, std::move(written), SQLITE_IOERR_WRITE);
  }
  if (state.known_size) state.known_size = std::max(*state.known_size, offset + data.size());
  if (!state.vfs->options().read_back_writes) return SQLITE_OK;
  for (std::size_t at = 0; at < data.size(); at += page_size) {
    state.unverified_pages[offset + at] = load_u32(data.data() + at + page_size - kPageChecksumBytes);
  }
  return SQLITE_OK;
}

// Reads back every page written since the last sync, a run of adjacent pages per read: each
// must hold exactly the checksum sealed into it (an older version of the page, left where a
// write went astray, fails) and be intact.
int verify_unverified_pages(FileState& state) {
  const uint32_t page_size = state.vfs->layout(state.database_path).page_size;
  constexpr std::size_t kPagesPerRead = 64;
  std::vector<std::byte> run;
  auto it = state.unverified_pages.begin();
  while (it != state.unverified_pages.end()) {
    const uint64_t start = it->first;
    std::vector<uint32_t> expected;
    while (it != state.unverified_pages.end() && it->first == start + expected.size() * page_size &&
           expected.size() < kPagesPerRead) {
      expected.push_back(it->second);
      ++it;
    }
    run.resize(expected.size() * page_size);
    Result<std::size_t> read = state.file->read(start, run);
    if (!read.ok()) return fail(*state.vfs, read.status(), SQLITE_IOERR_WRITE);
    for (std::size_t page = 0; page < expected.size(); ++page) {
      const uint64_t offset = start + page * page_size;
      const std::span<const std::byte> found = std::span<const std::byte>(run).subspan(page * page_size, page_size);
      const bool intact = (page + 1) * page_size <= *read &&
                          load_u32(found.data() + page_size - kPageChecksumBytes) == expected[page] &&
                          verify_page(found, static_cast<uint32_t>(offset / page_size + 1)) == PageVerdict::kValid;
      if (!intact) {
        state.unverified_pages.clear();
        ++state.vfs->mutable_counters().read_back_mismatches;
        return fail(*state.vfs,
                    Status::corruption("page written to '" + state.path + "' at offset " + std::to_string(offset) +
                                       " did not read back as written (misdirected or corrupted write)"),
                    SQLITE_IOERR_WRITE);
      }
    }
  }
  state.unverified_pages.clear();
  return SQLITE_OK;
}

// After a journal write did not read back, part of the journal may hold bytes meant for
// elsewhere; rewrite all of it from the shadow (a few tries: the rewrite can fail the same way).
void repair_journal(FileState& state) {
  const std::vector<std::byte>& shadow = *state.journal_shadow;
  for (int attempt = 0; attempt < 3; ++attempt) {
    if (!state.file->write(0, shadow).ok() || !state.file->truncate(shadow.size()).ok()) continue;
    std::vector<std::byte> found(shadow.size());
    Result<std::size_t> read = state.file->read(0, found);
    if (read.ok() && *read == shadow.size() && found == shadow) {
      ++state.vfs->mutable_counters().journal_repairs;
      return;
    }
  }
  state.journal_shadow.reset();  // the file and the shadow disagree: stop trusting either
}

// SQLite starts every journal of its own with a write at offset 0. A journal that was not empty
// when this connection opened it (a hot journal, rolled back and zeroed rather than truncated,
// or one whose truncate failed) may still hold another transaction's records past what this
// one writes, and a rollback of a last segment whose record count is still 0 reads to the end of
// the file, trusting its own record checksums to find where its records stop. From the first
// write at 0 on, the journal is this connection's: its current bytes become the shadow, so
// those stale bytes read back as exactly what the file holds instead of as a damaged record.
// (Found by buggify's failed fsync, storage_faults seed 1051671037432: a hot journal rolled back
// in DELETE mode before TRUNCATE took effect, then a failed commit's rollback read past its own
// records into the stale ones.)
void adopt_journal_as_shadow(FileState& state) {
  Result<uint64_t> size = state.file->size();
  if (!size.ok()) return;
  std::vector<std::byte> bytes(static_cast<std::size_t>(*size));
  Result<std::size_t> read = state.file->read(0, bytes);
  if (read.ok() && *read == bytes.size()) state.journal_shadow = std::move(bytes);
}

int file_write(sqlite3_file* file, const void* buffer, int amount, sqlite3_int64 offset) {
  FileState& state = state_of(file);
  return guarded(*state.vfs, SQLITE_IOERR_WRITE, [&] {
    ++state.vfs->mutable_counters().writes;
    const auto at = static_cast<uint64_t>(offset);
    // SQLite owns the buffer but leaves the reserved bytes of each page to the VFS.
    std::span<std::byte> data(static_cast<std::byte*>(const_cast<void*>(buffer)), static_cast<std::size_t>(amount));
    if (state.kind == FileKind::kMainDatabase) {
      int result = seal_database_write(state, at, data);
      if (result == SQLITE_OK) result = fill_database_hole(state, at);
      if (result != SQLITE_OK) return result;
      const RuntimeVfs::DatabaseLayout& layout = state.vfs->layout(state.database_path);
      if (layout.reserved_bytes == kPageChecksumBytes && whole_pages(at, data.size(), layout.page_size)) {
        return write_database_pages(state, at, data, layout.page_size);
      }
      state.known_size.reset();
      return write_checked(state, at, data);
    }
    if (state.kind != FileKind::kMainJournal) return write_checked(state, at, data);
    state.journal = FileState::JournalReads{};
    if (!state.journal_shadow && at == 0) adopt_journal_as_shadow(state);
    if (state.journal_shadow) {
      std::vector<std::byte>& shadow = *state.journal_shadow;
      if (shadow.size() < at + data.size()) shadow.resize(at + data.size());
      std::copy(data.begin(), data.end(), shadow.begin() + static_cast<std::ptrdiff_t>(at));
    }
    const int result = write_checked(state, at, data);
    if (result != SQLITE_OK && state.journal_shadow) repair_journal(state);
    return result;
  });
}

int file_truncate(sqlite3_file* file, sqlite3_int64 size) {
  FileState& state = state_of(file);
  return guarded(*state.vfs, SQLITE_IOERR_TRUNCATE, [&] {
    Status truncated = state.file->truncate(static_cast<uint64_t>(size));
    if (state.kind == FileKind::kMainDatabase) {
      state.known_size.reset();
      if (truncated.ok()) state.known_size = static_cast<uint64_t>(size);
      state.unverified_pages.erase(state.unverified_pages.lower_bound(static_cast<uint64_t>(size)),
                                   state.unverified_pages.end());
    }
    if (state.kind == FileKind::kMainJournal) {
      state.journal = FileState::JournalReads{};
      if (truncated.ok() && size == 0) state.journal_shadow.emplace();
      if (truncated.ok() && state.journal_shadow) state.journal_shadow->resize(static_cast<std::size_t>(size));
      if (!truncated.ok()) state.journal_shadow.reset();
    }
    return truncated.ok() ? SQLITE_OK : fail(*state.vfs, std::move(truncated), SQLITE_IOERR_TRUNCATE);
  });
}

int file_sync(sqlite3_file* file, int /*flags: every sync is a full one*/) {
  FileState& state = state_of(file);
  return guarded(*state.vfs, SQLITE_IOERR_FSYNC, [&] {
    ++state.vfs->mutable_counters().syncs;
    if (!state.unverified_pages.empty()) {
      const int verified = verify_unverified_pages(state);
      if (verified != SQLITE_OK) return verified;
    }
    Runtime& runtime = state.vfs->runtime();
    if (runtime.buggify("vfs.sync.slow")) runtime.sleep(milliseconds(5 + runtime.random().uniform(50)));
    // A failed fsync: SQLite rolls back and the engine refuses writes until it is reopened.
    Status synced = runtime.buggify("vfs.sync.failed") ? Status::io_error("fsync failed (buggify)") : state.file->sync();
    if (!synced.ok()) return fail(*state.vfs, std::move(synced), SQLITE_IOERR_FSYNC);
    if (!state.directory_sync_pending) return SQLITE_OK;
    Status directory_synced = state.vfs->runtime().file_system().sync_directory(parent_directory(state.path));
    if (!directory_synced.ok()) return fail(*state.vfs, std::move(directory_synced), SQLITE_IOERR_DIR_FSYNC);
    state.directory_sync_pending = false;
    return SQLITE_OK;
  });
}

int file_size(sqlite3_file* file, sqlite3_int64* size) {
  FileState& state = state_of(file);
  return guarded(*state.vfs, SQLITE_IOERR_FSTAT, [&] {
    Result<uint64_t> found = state.file->size();
    if (!found.ok()) return fail(*state.vfs, found.status(), SQLITE_IOERR_FSTAT);
    *size = static_cast<sqlite3_int64>(*found);
    return SQLITE_OK;
  });
}

// One connection per database: locks have nothing to exclude.
int file_lock(sqlite3_file*, int) { return SQLITE_OK; }
int file_unlock(sqlite3_file*, int) { return SQLITE_OK; }
int file_check_reserved_lock(sqlite3_file*, int* reserved) {
  *reserved = 0;
  return SQLITE_OK;
}
int file_control(sqlite3_file*, int, void*) { return SQLITE_NOTFOUND; }
int file_sector_size(sqlite3_file*) { return kSectorSize; }
// Writing one sector never damages another (true of the simulated disk and of modern drives).
int file_device_characteristics(sqlite3_file*) { return SQLITE_IOCAP_POWERSAFE_OVERWRITE; }

const sqlite3_io_methods kIoMethods = {
    1,  // version 1: no shared memory (no WAL mode), no memory mapping
    file_close, file_read, file_write, file_truncate, file_sync, file_size, file_lock, file_unlock,
    file_check_reserved_lock, file_control, file_sector_size, file_device_characteristics,
    nullptr, nullptr, nullptr, nullptr, nullptr, nullptr};

// --- sqlite3_vfs ---------------------------------------------------------------------------------

bool ends_with(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

int vfs_open(sqlite3_vfs* sqlite_vfs, const char* name, sqlite3_file* file, int flags, int* out_flags) {
  RuntimeVfs& vfs = owner_of(sqlite_vfs);
  file->pMethods = nullptr;  // SQLite calls xClose only if this is set
  return guarded(vfs, SQLITE_CANTOPEN, [&] {
    if ((flags & SQLITE_OPEN_WAL) != 0) {
      return fail(vfs, Status::invalid_argument("WAL journal mode is not supported by the Cairn VFS"), SQLITE_CANTOPEN);
    }
    FileSystem& file_system = vfs.runtime().file_system();
    std::string path;
    if (name != nullptr) {
      path = name;
    } else {
      Status created = file_system.create_directory(vfs.options().temporary_directory);
      if (!created.ok()) return fail(vfs, std::move(created), SQLITE_CANTOPEN);
      path = vfs.next_temporary_path();
    }
    auto state = std::make_unique<FileState>();
    state->vfs = &vfs;
    state->path = path;
    state->database_path = path;
    if ((flags & SQLITE_OPEN_MAIN_DB) != 0) {
      state->kind = FileKind::kMainDatabase;
      if (vfs.open_databases().count(path) != 0) {
        return fail(vfs, Status::failed_precondition("database '" + path + "' is already open"), SQLITE_CANTOPEN);
      }
    } else if ((flags & SQLITE_OPEN_MAIN_JOURNAL) != 0 && ends_with(path, kJournalSuffix)) {
      state->kind = FileKind::kMainJournal;
      state->database_path = path.substr(0, path.size() - (sizeof kJournalSuffix - 1));
    }
    OpenOptions options;
    options.read_only = (flags & SQLITE_OPEN_READONLY) != 0;
    options.create = (flags & SQLITE_OPEN_CREATE) != 0;
    options.exclusive = (flags & SQLITE_OPEN_EXCLUSIVE) != 0;
    Result<bool> existed = file_system.exists(path);
    if (!existed.ok()) return fail(vfs, existed.status(), SQLITE_CANTOPEN);
    Result<std::unique_ptr<File>> opened = file_system.open(path, options);
    if (!opened.ok()) return fail(vfs, opened.status(), SQLITE_CANTOPEN);
    state->file = std::move(*opened);
    state->directory_sync_pending = !*existed || state->kind != FileKind::kOther;
    if (state->kind == FileKind::kMainJournal) {
      Result<uint64_t> size = state->file->size();
      if (size.ok() && *size == 0) state->journal_shadow.emplace();
    }
    state->delete_on_close = (flags & SQLITE_OPEN_DELETEONCLOSE) != 0;
    if (state->kind == FileKind::kMainDatabase) vfs.open_databases().insert(path);
    reinterpret_cast<VfsFile*>(file)->state = state.release();
    file->pMethods = &kIoMethods;
    if (out_flags != nullptr) *out_flags = flags;
    return SQLITE_OK;
  });
}

int vfs_delete(sqlite3_vfs* sqlite_vfs, const char* name, int sync_directory) {
  RuntimeVfs& vfs = owner_of(sqlite_vfs);
  return guarded(vfs, SQLITE_IOERR_DELETE, [&] {
    FileSystem& file_system = vfs.runtime().file_system();
    Status removed = file_system.remove(name);
    if (removed.code() == StatusCode::kNotFound) return SQLITE_IOERR_DELETE_NOENT;
    if (!removed.ok()) return fail(vfs, std::move(removed), SQLITE_IOERR_DELETE);
    if (sync_directory == 0) return SQLITE_OK;
    Status synced = file_system.sync_directory(parent_directory(name));
    return synced.ok() ? SQLITE_OK : fail(vfs, std::move(synced), SQLITE_IOERR_DIR_FSYNC);
  });
}

int vfs_access(sqlite3_vfs* sqlite_vfs, const char* name, int flags, int* result) {
  RuntimeVfs& vfs = owner_of(sqlite_vfs);
  return guarded(vfs, SQLITE_IOERR_ACCESS, [&] {
    FileSystem& file_system = vfs.runtime().file_system();
    Result<bool> exists = file_system.exists(name);
    if (!exists.ok()) return fail(vfs, exists.status(), SQLITE_IOERR_ACCESS);
    *result = *exists ? 1 : 0;
    if (!*exists || flags != SQLITE_ACCESS_EXISTS) return SQLITE_OK;
    // As the unix VFS does: an empty file does not "exist" (an empty journal is not hot).
    Result<std::unique_ptr<File>> file = file_system.open(name, OpenOptions::read());
    if (!file.ok()) return SQLITE_OK;  // a directory, say: it exists
    Result<uint64_t> size = (*file)->size();
    if (!size.ok()) return fail(vfs, size.status(), SQLITE_IOERR_ACCESS);
    *result = *size > 0 ? 1 : 0;
    return SQLITE_OK;
  });
}

int vfs_full_pathname(sqlite3_vfs* sqlite_vfs, const char* name, int capacity, char* out) {
  RuntimeVfs& vfs = owner_of(sqlite_vfs);
  return guarded(vfs, SQLITE_CANTOPEN, [&] {
    Status valid = validate_path(name);
    if (!valid.ok()) return fail(vfs, std::move(valid), SQLITE_CANTOPEN);
    const std::size_t length = std::strlen(name);
    if (length + 1 > static_cast<std::size_t>(capacity)) {
      return fail(vfs, Status::invalid_argument("path '" + std::string(name) + "' is too long"), SQLITE_CANTOPEN);
    }
    std::memcpy(out, name, length + 1);
    return SQLITE_OK;
  });
}

int vfs_randomness(sqlite3_vfs* sqlite_vfs, int amount, char* out) {
  Random& random = owner_of(sqlite_vfs).runtime().random();
  for (int i = 0; i < amount; ++i) out[i] = static_cast<char>(random.next_u64());
  return amount;
}

int vfs_sleep(sqlite3_vfs* sqlite_vfs, int microseconds_to_sleep) {
  RuntimeVfs& vfs = owner_of(sqlite_vfs);
  return guarded(vfs, 0, [&] {
    vfs.runtime().sleep(microseconds(microseconds_to_sleep));
    return microseconds_to_sleep;
  });
}

int vfs_current_time_int64(sqlite3_vfs* sqlite_vfs, sqlite3_int64* julian_milliseconds) {
  const WallTime now = owner_of(sqlite_vfs).runtime().wall_now();
  const int64_t unix_milliseconds = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  *julian_milliseconds = kUnixEpochJulianMilliseconds + unix_milliseconds;
  return SQLITE_OK;
}

int vfs_current_time(sqlite3_vfs* sqlite_vfs, double* julian_days) {
  sqlite3_int64 milliseconds = 0;
  vfs_current_time_int64(sqlite_vfs, &milliseconds);
  *julian_days = static_cast<double>(milliseconds) / 86400000.0;
  return SQLITE_OK;
}

int vfs_get_last_error(sqlite3_vfs*, int, char*) { return 0; }

// Loading extensions is not supported.
void* vfs_dl_open(sqlite3_vfs*, const char*) { return nullptr; }
void vfs_dl_error(sqlite3_vfs*, int capacity, char* out) {
  std::snprintf(out, static_cast<std::size_t>(capacity), "%s", "extensions cannot be loaded through the Cairn VFS");
}
void (*vfs_dl_sym(sqlite3_vfs*, void*, const char*))(void) { return nullptr; }
void vfs_dl_close(sqlite3_vfs*, void*) {}

uint64_t next_vfs_number() {
  static uint64_t last = 0;  // only for unique registration names
  return ++last;
}

}  // namespace

Result<std::unique_ptr<RuntimeVfs>> RuntimeVfs::create(Runtime& runtime, RuntimeVfsOptions options) {
  Status temporary = validate_path(options.temporary_directory);
  if (!temporary.ok()) return Status::invalid_argument("temporary_directory: " + temporary.message());
  std::unique_ptr<RuntimeVfs> vfs(
      new RuntimeVfs(runtime, std::move(options), "cairn-runtime-" + std::to_string(next_vfs_number())));
  const int registered = sqlite3_vfs_register(vfs->vfs_.get(), /*makeDflt=*/0);
  if (registered != SQLITE_OK) {
    vfs->vfs_.reset();
    return Status::internal(std::string("sqlite3_vfs_register failed: ") + sqlite3_errstr(registered));
  }
  return vfs;
}

RuntimeVfs::RuntimeVfs(Runtime& runtime, RuntimeVfsOptions options, std::string name)
    : runtime_(&runtime), options_(std::move(options)), name_(std::move(name)), vfs_(std::make_unique<sqlite3_vfs>()) {
  sqlite3_vfs& vfs = *vfs_;
  std::memset(&vfs, 0, sizeof vfs);
  vfs.iVersion = 2;
  vfs.szOsFile = sizeof(VfsFile);
  vfs.mxPathname = kMaxPathLength;
  vfs.zName = name_.c_str();
  vfs.pAppData = this;
  vfs.xOpen = vfs_open;
  vfs.xDelete = vfs_delete;
  vfs.xAccess = vfs_access;
  vfs.xFullPathname = vfs_full_pathname;
  vfs.xDlOpen = vfs_dl_open;
  vfs.xDlError = vfs_dl_error;
  vfs.xDlSym = vfs_dl_sym;
  vfs.xDlClose = vfs_dl_close;
  vfs.xRandomness = vfs_randomness;
  vfs.xSleep = vfs_sleep;
  vfs.xCurrentTime = vfs_current_time;
  vfs.xGetLastError = vfs_get_last_error;
  vfs.xCurrentTimeInt64 = vfs_current_time_int64;
}

RuntimeVfs::~RuntimeVfs() {
  if (vfs_ == nullptr) return;
  CAIRN_ASSERT(open_databases_.empty(), "a RuntimeVfs was destroyed while a database was open through it");
  sqlite3_vfs_unregister(vfs_.get());
}

std::exception_ptr RuntimeVfs::take_interruption() {
  std::exception_ptr interruption = interruption_;
  interruption_ = nullptr;
  return interruption;
}

void RuntimeVfs::rethrow_interruption() {
  if (std::exception_ptr interruption = take_interruption()) std::rethrow_exception(interruption);
}

void RuntimeVfs::record_interruption(std::exception_ptr exception) {
  // The first one wins: later operations fail fast for the same reason.
  if (interruption_ == nullptr) interruption_ = std::move(exception);
  last_error_ = Status::cancelled("a file operation inside SQLite was interrupted");
}

std::string RuntimeVfs::next_temporary_path() {
  return options_.temporary_directory + "/temporary-" + std::to_string(++last_temporary_file_);
}

}  // namespace cairn::storage
