// PosixFileSystem: the FileSystem of the real daemon, rooted at its data directory. Reads and
// writes are pread/pwrite (retried on EINTR and short transfers), File::sync() is fdatasync,
// and sync_directory() fsyncs the directory, which is what makes a create or rename durable on
// Linux. Reads and writes block the thread (the page cache answers them); syncs, which wait for
// the disk, run on a BlockingCallThread when one is given, so that the loop serves everything
// else meanwhile. An io_uring backend can replace this class without touching the core.
#pragma once

#include <memory>
#include <string>

#include "core/runtime/file_system.h"
#include "net/blocking_call_thread.h"

namespace cairn::net {

class PosixFileSystem final : public FileSystem {
 public:
  // `root` must exist and be a directory.
  // `syncs`: where File::sync() and sync_directory() run (null: on the calling thread); it must
  // outlive the file system and every file opened from it.
  static Result<std::unique_ptr<PosixFileSystem>> open_root(const std::string& root,
                                                            BlockingCallThread* syncs = nullptr);

  Result<std::unique_ptr<File>> open(std::string_view path, OpenOptions options) override;
  Status remove(std::string_view path) override;
  Status rename(std::string_view from, std::string_view to) override;
  Result<std::vector<std::string>> list(std::string_view directory) override;
  Status create_directory(std::string_view path) override;
  Status sync_directory(std::string_view directory) override;
  Result<bool> exists(std::string_view path) override;

  const std::string& root() const { return root_; }

 private:
  PosixFileSystem(std::string root, BlockingCallThread* syncs) : root_(std::move(root)), syncs_(syncs) {}
  std::string full_path(std::string_view path) const;

  std::string root_;
  BlockingCallThread* syncs_;
};

}  // namespace cairn::net
