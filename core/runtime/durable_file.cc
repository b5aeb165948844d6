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

}  // namespace cairn
