// Creating segment files, reading single records from them, and reading writes back (see
// wal_segment.h).
#include "storage/wal/wal_segment.h"

#include <algorithm>
#include <cstring>

#include "core/runtime/assert.h"

namespace cairn::wal {
namespace {

// A new segment whose header did not read back: remove it, so that no later open mistakes what
// the stray header write left behind for a damaged segment. It holds no record, and its name was
// never made durable, so removing it loses nothing.
Status discard_new_segment(FileSystem& file_system, std::string_view directory, const std::string& path,
                           const Status& failure, uint64_t& syncs) {
  Status removed = file_system.remove(path);
  if (removed.ok()) {
    ++syncs;
    removed = file_system.sync_directory(directory);
  }
  if (removed.ok()) return failure;
  return failure.with_context("removing the new segment " + path + " failed too (" + removed.to_string() + ")");
}

}  // namespace

Status read_exactly(File& file, std::string_view path, uint64_t offset, std::span<std::byte> out) {
  std::size_t done = 0;
  while (done < out.size()) {
    Result<std::size_t> read = file.read(offset + done, out.subspan(done));
    if (!read.ok()) {
      return read.status().with_context("reading " + std::string(path) + " at offset " + std::to_string(offset + done));
    }
    if (*read == 0) {
      return Status::corruption(std::string(path) + " ends at offset " + std::to_string(offset + done) + ", before the " +
                                std::to_string(out.size()) + " bytes expected at offset " + std::to_string(offset));
    }
    done += *read;
  }
  return {};
}

Status read_back(File& file, std::string_view path, uint64_t offset, std::span<const std::byte> written,
                 std::string_view what, std::vector<std::byte>& buffer) {
  auto where = [&] {
    return std::string(what) + " of " + std::to_string(written.size()) + " bytes written to " + std::string(path) +
           " at offset " + std::to_string(offset);
  };
  buffer.resize(written.size());
  Result<std::size_t> read = file.read(offset, buffer);
  if (!read.ok()) return read.status().with_context("reading back the " + where());
  if (*read < written.size()) {
    return Status::corruption(where() + " did not read back as written: the file ends at offset " +
                              std::to_string(offset + *read));
  }
  if (std::memcmp(buffer.data(), written.data(), written.size()) == 0) return {};
  const auto differs = std::mismatch(written.begin(), written.end(), buffer.begin()).first;
  return Status::corruption(where() + " did not read back as written: the first difference is at offset " +
                            std::to_string(offset + static_cast<uint64_t>(differs - written.begin())) +
                            " (a bit flipped on the way to the medium, or the write landed elsewhere)");
}

Result<std::shared_ptr<Segment>> create_segment(FileSystem& file_system, std::string_view directory,
                                                uint64_t first_index, uint64_t salt, bool verify_writes,
                                                uint64_t& syncs) {
  const std::string path = segment_path(directory, first_index);
  auto segment = std::make_shared<Segment>();
  segment->path = path;
  segment->first_index = first_index;
  segment->salt = salt;
  CAIRN_ASSIGN_OR_RETURN(segment->file, file_system.open(path, OpenOptions::create_new()));
  const auto header = encode_segment_header(SegmentHeader{.first_index = first_index, .salt = salt});
  CAIRN_RETURN_IF_ERROR(segment->file->write(0, header).with_context("writing the header of " + path));
  ++syncs;
  CAIRN_RETURN_IF_ERROR(segment->file->sync().with_context("syncing the new segment " + path));
  if (verify_writes) {
    std::vector<std::byte> buffer;
    const Status verified = read_back(*segment->file, path, 0, header, "WAL segment header", buffer);
    if (!verified.ok()) {
      segment->file.reset();
      return discard_new_segment(file_system, directory, path, verified, syncs);
    }
  }
  ++syncs;
  CAIRN_RETURN_IF_ERROR(
      file_system.sync_directory(directory).with_context("syncing directory '" + std::string(directory) + "'"));
  segment->end_offset = kBlockSize;
  return segment;
}

Result<WalRecord> read_record(Segment& segment, uint64_t index) {
  CAIRN_ASSERT(index >= segment.first_index && index < segment.next_index(),
               "record " + std::to_string(index) + " is not in " + segment.path);
  const RecordLocation location = segment.records[index - segment.first_index];
  if (location.damaged) {
    return Status::corruption("WAL record " + std::to_string(index) + " in " + segment.path +
                              " is in the damaged batch at offset " + std::to_string(location.offset) +
                              ", which recovery salvaged around (see its report): fetch it elsewhere");
  }
  std::vector<std::byte> bytes(record_size(location.payload_length));
  CAIRN_RETURN_IF_ERROR(read_exactly(*segment.file, segment.path, location.offset, bytes));
  const auto header_bytes = std::span<const std::byte>(bytes).first(kRecordHeaderSize);
  const auto payload = std::span<const std::byte>(bytes).subspan(kRecordHeaderSize);
  auto damaged = [&](const std::string& what) {
    return Status::corruption("WAL record " + std::to_string(index) + " in " + segment.path + " at offset " +
                              std::to_string(location.offset) + " " + what);
  };
  Result<RecordHeader> header = decode_record_header(header_bytes);
  if (!header.ok()) return damaged("is damaged: " + header.status().message());
  if (header->index != index) return damaged("holds index " + std::to_string(header->index));
  if (header->payload_length != location.payload_length) {
    return damaged("has payload length " + std::to_string(header->payload_length) + ", expected " +
                   std::to_string(location.payload_length));
  }
  if (!record_checksum_matches(header_bytes, payload, segment.salt)) return damaged("fails its checksum");
  return WalRecord{.index = index, .type = header->type, .payload = {payload.begin(), payload.end()}};
}

}  // namespace cairn::wal
