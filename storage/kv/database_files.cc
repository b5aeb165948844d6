// A database's files made durable as the cache shows them (database_files.h).
#include "storage/kv/database_files.h"

#include <array>
#include <cstring>
#include <vector>

#include "core/runtime/assert.h"

namespace cairn::storage {
namespace {

constexpr std::array<unsigned char, 8> kJournalMagic = {0xd9, 0xd5, 0x05, 0xf9, 0x20, 0xa1, 0x63, 0xd7};
constexpr std::size_t kRewriteChunkBytes = 64 << 10;

// Reads `path` through the cache and writes the same bytes back, then syncs: pages a failed
// sync left clean but never written become dirty again, and this sync writes them.
Status rewrite_file(FileSystem& file_system, const std::string& path) {
  CAIRN_ASSIGN_OR_RETURN(std::unique_ptr<File> file, file_system.open(path, OpenOptions::read_write()));
  CAIRN_ASSIGN_OR_RETURN(uint64_t size, file->size());
  std::vector<std::byte> chunk(kRewriteChunkBytes);
  for (uint64_t offset = 0; offset < size;) {
    const std::size_t want = static_cast<std::size_t>(std::min<uint64_t>(chunk.size(), size - offset));
    CAIRN_ASSIGN_OR_RETURN(std::size_t got, file->read(offset, std::span(chunk.data(), want)));
    if (got != want) return Status::io_error("'" + path + "' ended early while being rewritten");
    CAIRN_RETURN_IF_ERROR(file->write(offset, std::span<const std::byte>(chunk.data(), got)));
    offset += got;
  }
  return file->sync().with_context("rewriting '" + path + "'");
}

// Whether SQLite would take the journal for a transaction to roll back: its header's magic.
Result<bool> journal_is_hot(FileSystem& file_system, const std::string& journal) {
  CAIRN_ASSIGN_OR_RETURN(bool exists, file_system.exists(journal));
  if (!exists) return false;
  CAIRN_ASSIGN_OR_RETURN(std::unique_ptr<File> file, file_system.open(journal, OpenOptions::read()));
  std::array<std::byte, kJournalMagic.size()> header{};
  CAIRN_ASSIGN_OR_RETURN(std::size_t got, file->read(0, header));
  return got == header.size() && std::memcmp(header.data(), kJournalMagic.data(), header.size()) == 0;
}

}  // namespace

Status rewrite_database_files_through_cache(FileSystem& file_system, std::string_view database_path) {
  CAIRN_RETURN_IF_ERROR(validate_path(database_path));
  const std::string database(database_path);
  const std::string journal = database + "-journal";
  const std::string directory = parent_directory(database_path);
  // A database whose very creation failed (its directory not made yet) has nothing to rewrite.
  CAIRN_ASSIGN_OR_RETURN(bool directory_exists, file_system.exists(directory));
  if (!directory_exists) return Status{};
  CAIRN_ASSIGN_OR_RETURN(bool database_exists, file_system.exists(database));
  CAIRN_ASSIGN_OR_RETURN(bool hot, journal_is_hot(file_system, journal));
  CAIRN_ASSERT(database_exists || !hot, "a hot journal has its database");
  if (hot) {
    CAIRN_RETURN_IF_ERROR(rewrite_file(file_system, journal));
    CAIRN_RETURN_IF_ERROR(file_system.sync_directory(directory));
    return rewrite_file(file_system, database);
  }
  if (database_exists) CAIRN_RETURN_IF_ERROR(rewrite_file(file_system, database));
  CAIRN_ASSIGN_OR_RETURN(bool journal_exists, file_system.exists(journal));
  if (journal_exists) CAIRN_RETURN_IF_ERROR(file_system.remove(journal));
  return file_system.sync_directory(directory);
}

}  // namespace cairn::storage
