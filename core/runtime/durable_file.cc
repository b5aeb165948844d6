// Making a found file durable (see durable_file.h).
#include "core/runtime/durable_file.h"

#include <memory>
#include <string>

namespace cairn {

Status make_file_durable(FileSystem& file_system, std::string_view path) {
  CAIRN_RETURN_IF_ERROR(validate_path(path));
  CAIRN_ASSIGN_OR_RETURN(std::unique_ptr<File> file, file_system.open(path, OpenOptions::read_write()));
  CAIRN_RETURN_IF_ERROR(file->sync().with_context("syncing '" + std::string(path) + "'"));
  return file_system.sync_directory(parent_directory(path))
      .with_context("syncing the directory that names '" + std::string(path) + "'");
}

Status create_directories_durably(FileSystem& file_system, std::string_view path) {
  if (path.empty()) return Status{};
  std::size_t end = 0;
  while (end != std::string_view::npos) {
    end = path.find('/', end + 1);
    const std::string prefix(path.substr(0, end));
    CAIRN_ASSIGN_OR_RETURN(const bool exists, file_system.exists(prefix));
    if (exists) continue;
    CAIRN_RETURN_IF_ERROR(file_system.create_directory(prefix));
    CAIRN_RETURN_IF_ERROR(file_system.sync_directory(parent_directory(prefix)));
  }
  return Status{};
}

}  // namespace cairn
