// Files as the core sees them. Every operation returns its error as a value; none throws.
//
// Durability contract (what the simulated disk enforces and POSIX provides):
//  - write/append/truncate change a file's contents at once for readers, but they survive a
//    crash only after File::sync() returns OK;
//  - creating, removing and renaming files are durable only after sync_directory() of the
//    directory that holds the entry returns OK;
//  - a failed sync() may have dropped unsynced data: the caller must assume nothing since the
//    last successful sync is on disk.
// Paths are relative to the file system's root, '/'-separated, with no empty, "." or ".."
// components; anything else is INVALID_ARGUMENT.
//
// Implementations: sim/sim_file_system (a simulated disk per node, with faults) and
// net/posix_file_system (pread/pwrite/fdatasync under a data directory).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/runtime/status.h"

namespace cairn {

struct OpenOptions {
  bool create = false;     // create the file if it does not exist
  bool exclusive = false;  // with create: fail with ALREADY_EXISTS if it exists
  bool truncate = false;   // empty the file on open
  bool read_only = false;

  static OpenOptions read() { return {.read_only = true}; }
  static OpenOptions read_write() { return {}; }
  static OpenOptions create_or_open() { return {.create = true}; }
  static OpenOptions create_new() { return {.create = true, .exclusive = true}; }
};

class File {
 public:
  virtual ~File() = default;

  // Reads up to out.size() bytes at `offset`. Returns the number of bytes read, which is smaller
  // only at the end of the file.
  virtual Result<std::size_t> read(uint64_t offset, std::span<std::byte> out) = 0;
  virtual Status write(uint64_t offset, std::span<const std::byte> data) = 0;
  // Writes at the current end of the file; returns the offset the data starts at.
  virtual Result<uint64_t> append(std::span<const std::byte> data) = 0;
  // Makes the contents durable (fdatasync).
  virtual Status sync() = 0;
  virtual Status truncate(uint64_t size) = 0;
  virtual Result<uint64_t> size() = 0;
  virtual const std::string& path() const = 0;
};

class FileSystem {
 public:
  virtual ~FileSystem() = default;

  virtual Result<std::unique_ptr<File>> open(std::string_view path, OpenOptions options) = 0;
  virtual Status remove(std::string_view path) = 0;
  // Atomically replaces `to` with `from`.
  virtual Status rename(std::string_view from, std::string_view to) = 0;
  // Names (not paths) of the entries directly in `directory` ("" is the root), sorted.
  virtual Result<std::vector<std::string>> list(std::string_view directory) = 0;
  // Creates a directory; OK if it exists already.
  virtual Status create_directory(std::string_view path) = 0;
  // Makes creations, removals and renames of entries in `directory` durable.
  virtual Status sync_directory(std::string_view directory) = 0;
  virtual Result<bool> exists(std::string_view path) = 0;
};

// INVALID_ARGUMENT unless `path` follows the path rules above. The root "" is valid only where
// `allow_root` says so (listing or syncing the root directory).
Status validate_path(std::string_view path, bool allow_root = false);
// "a/b/c" -> "a/b"; "c" -> "".
std::string parent_directory(std::string_view path);

// Convenience helpers for whole small files.
Result<std::string> read_whole_file(FileSystem& fs, std::string_view path);
// Writes `contents` to `path` durably and atomically: temp file, sync, rename, directory sync.
Status write_file_atomically(FileSystem& fs, std::string_view path, std::string_view contents);

inline std::span<const std::byte> as_bytes(std::string_view text) {
  return std::as_bytes(std::span<const char>(text.data(), text.size()));
}

}  // namespace cairn
