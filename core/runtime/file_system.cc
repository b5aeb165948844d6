// Path validation and whole-file helpers shared by every FileSystem (see file_system.h).
#include "core/runtime/file_system.h"

namespace cairn {

Status validate_path(std::string_view path, bool allow_root) {
  if (path.empty()) {
    return allow_root ? Status{} : Status::invalid_argument("empty path");
  }
  if (path.front() == '/') return Status::invalid_argument("absolute path '" + std::string(path) + "'");
  std::size_t start = 0;
  while (start <= path.size()) {
    const std::size_t end = std::min(path.find('/', start), path.size());
    const std::string_view component = path.substr(start, end - start);
    if (component.empty() || component == "." || component == "..") {
      return Status::invalid_argument("bad path component in '" + std::string(path) + "'");
    }
    if (component.find('\0') != std::string_view::npos) {
      return Status::invalid_argument("NUL byte in path");
    }
    start = end + 1;
  }
  return {};
}

std::string parent_directory(std::string_view path) {
  const std::size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? std::string() : std::string(path.substr(0, slash));
}

Result<std::string> read_whole_file(FileSystem& fs, std::string_view path) {
  CAIRN_ASSIGN_OR_RETURN(std::unique_ptr<File> file, fs.open(path, OpenOptions::read()));
  CAIRN_ASSIGN_OR_RETURN(uint64_t size, file->size());
  std::string contents(size, '\0');
  CAIRN_ASSIGN_OR_RETURN(std::size_t read, file->read(0, std::as_writable_bytes(std::span<char>(contents))));
  if (read != size) return Status::io_error("short read of '" + std::string(path) + "'");
  return contents;
}

Status write_file_atomically(FileSystem& fs, std::string_view path, std::string_view contents) {
  CAIRN_RETURN_IF_ERROR(validate_path(path));
  const std::string temporary = std::string(path) + ".tmp";
  {
    OpenOptions options = OpenOptions::create_or_open();
    options.truncate = true;
    CAIRN_ASSIGN_OR_RETURN(std::unique_ptr<File> file, fs.open(temporary, options));
    CAIRN_RETURN_IF_ERROR(file->write(0, as_bytes(contents)));
    CAIRN_RETURN_IF_ERROR(file->sync());
  }
  CAIRN_RETURN_IF_ERROR(fs.rename(temporary, path));
  return fs.sync_directory(parent_directory(path));
}

}  // namespace cairn
