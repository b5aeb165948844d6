// One segment file of the write-ahead log as the log keeps it in memory: its open file, its salt,
// where the next batch goes, and where each of its records lives (the read-by-index map). Also
// the file operations on a single segment: durable creation, checksummed record reads, and the
// read-back that checks a write reached the file as it was written.
//
// Memory: the map costs one RecordLocation (16 bytes) per record held by the log, e.g. 16 MiB
// for a million records. It is bounded by what the log holds, so the caller bounds it by
// compacting (WriteAheadLog::remove_before) after snapshots. Each segment also keeps one open
// file handle; with 64 MiB segments a node holds one handle per 64 MiB of retained log.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/runtime/file_system.h"
#include "core/runtime/status.h"
#include "storage/wal/wal_format.h"
#include "storage/wal/wal_types.h"

namespace cairn::wal {

// Where a record lives in its segment file.
struct RecordLocation {
  uint64_t offset = 0;          // of the record header
  uint32_t payload_length = 0;
  // A record that a salvaging recovery could not read: `offset` is that of its damaged batch,
  // and reading it is CORRUPTION (fits in the padding: the entry stays 16 bytes).
  bool damaged = false;
};

struct Segment {
  std::string path;
  uint64_t first_index = 0;
  uint64_t salt = 0;
  std::unique_ptr<File> file;
  // Where the next batch starts: block-aligned, just past the last valid batch.
  uint64_t end_offset = kBlockSize;
  // records[i] is the record with index first_index + i. Only durable records are listed.
  std::vector<RecordLocation> records;

  // The index the next record of this segment would get.
  uint64_t next_index() const { return first_index + records.size(); }
};

// Reads exactly out.size() bytes at `offset`. I/O errors keep their code and gain the path and
// offset as context; a file that ends early is CORRUPTION naming both.
Status read_exactly(File& file, std::string_view path, uint64_t offset, std::span<std::byte> out);

// Reads back the `written` bytes at `offset` in one read and compares them byte for byte. A
// difference, or a file that ends early, is CORRUPTION naming the file, the offset and the first
// differing byte: a bit flipped on the way to the medium, or a write that landed elsewhere and
// left older bytes (or none) here. I/O errors keep their code and gain the same context. `what`
// names the write in messages ("WAL batch"). `buffer` receives the bytes read (resized to fit;
// pass the same one again to spare an allocation per write).
Status read_back(File& file, std::string_view path, uint64_t offset, std::span<const std::byte> written,
                 std::string_view what, std::vector<std::byte>& buffer);

// Creates the segment file for `first_index` durably: exclusive create, header block, sync of the
// file, read-back of the header (if `verify_writes`), then sync of the directory (which makes the
// new name durable). `syncs` counts the fsyncs issued. A header that does not read back is
// CORRUPTION, and the file is removed (it holds no record). On other errors a partial file may
// remain; recovery recognizes it as a torn creation.
Result<std::shared_ptr<Segment>> create_segment(FileSystem& file_system, std::string_view directory,
                                                uint64_t first_index, uint64_t salt, bool verify_writes,
                                                uint64_t& syncs);

// Reads the record `index`, which `segment` must hold, and verifies its header and checksum:
// CORRUPTION naming the file and offset if anything does not match, I/O errors with the same
// context.
Result<WalRecord> read_record(Segment& segment, uint64_t index);

}  // namespace cairn::wal
