// POSIX files under a data directory (see posix_file_system.h).
#include "net/posix_file_system.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "net/epoll_loop.h"

namespace cairn::net {
namespace {

// Runs `sync_call(fd)` (fsync or fdatasync) until it is not interrupted, on `syncs` when there is
// one; returns 0 or the errno.
int sync_descriptor(BlockingCallThread* syncs, int (*sync_call)(int), int fd) {
  const auto call = [sync_call, fd] {
    while (sync_call(fd) != 0) {
      if (errno != EINTR) return errno;
    }
    return 0;
  };
  return syncs != nullptr ? syncs->run(call) : call();
}

class PosixFile final : public File {
 public:
  PosixFile(int fd, std::string path, BlockingCallThread* syncs) : fd_(fd), path_(std::move(path)), syncs_(syncs) {}
  ~PosixFile() override { ::close(fd_); }

  Result<std::size_t> read(uint64_t offset, std::span<std::byte> out) override {
    std::size_t total = 0;
    while (total < out.size()) {
      const ssize_t n = ::pread(fd_, out.data() + total, out.size() - total, static_cast<off_t>(offset + total));
      if (n < 0) {
        if (errno == EINTR) continue;
        return CAIRN_ERRNO_STATUS("read of '" + path_ + "'");
      }
      if (n == 0) break;  // end of file
      total += static_cast<std::size_t>(n);
    }
    return total;
  }

  Status write(uint64_t offset, std::span<const std::byte> data) override {
    std::size_t total = 0;
    while (total < data.size()) {
      const ssize_t n = ::pwrite(fd_, data.data() + total, data.size() - total, static_cast<off_t>(offset + total));
      if (n < 0) {
        if (errno == EINTR) continue;
        return CAIRN_ERRNO_STATUS("write of '" + path_ + "'");
      }
      total += static_cast<std::size_t>(n);
    }
    return {};
  }

  Result<uint64_t> append(std::span<const std::byte> data) override {
    CAIRN_ASSIGN_OR_RETURN(uint64_t offset, size());
    CAIRN_RETURN_IF_ERROR(write(offset, data));
    return offset;
  }

  Status sync() override {
    const int error = sync_descriptor(syncs_, &::fdatasync, fd_);
    if (error != 0) return errno_status("fdatasync of '" + path_ + "'", error);
    return {};
  }

  Status truncate(uint64_t size) override {
    if (::ftruncate(fd_, static_cast<off_t>(size)) != 0) return CAIRN_ERRNO_STATUS("truncate of '" + path_ + "'");
    return {};
  }

  Result<uint64_t> size() override {
    struct stat info {};
    if (::fstat(fd_, &info) != 0) return CAIRN_ERRNO_STATUS("stat of '" + path_ + "'");
    return static_cast<uint64_t>(info.st_size);
  }

  const std::string& path() const override { return path_; }

 private:
  int fd_;
  std::string path_;
  BlockingCallThread* syncs_;
};

}  // namespace

Result<std::unique_ptr<PosixFileSystem>> PosixFileSystem::open_root(const std::string& root, BlockingCallThread* syncs) {
  struct stat info {};
  if (::stat(root.c_str(), &info) != 0) return CAIRN_ERRNO_STATUS("data directory '" + root + "'");
  if (!S_ISDIR(info.st_mode)) return Status::invalid_argument("data directory '" + root + "' is not a directory");
  std::string normalized = root;
  while (normalized.size() > 1 && normalized.back() == '/') normalized.pop_back();
  return std::unique_ptr<PosixFileSystem>(new PosixFileSystem(normalized, syncs));
}

std::string PosixFileSystem::full_path(std::string_view path) const {
  return path.empty() ? root_ : root_ + "/" + std::string(path);
}

Result<std::unique_ptr<File>> PosixFileSystem::open(std::string_view path, OpenOptions options) {
  CAIRN_RETURN_IF_ERROR(validate_path(path));
  int flags = O_CLOEXEC | (options.read_only ? O_RDONLY : O_RDWR);
  if (options.create && !options.read_only) flags |= O_CREAT;
  if (options.create && options.exclusive) flags |= O_EXCL;
  if (options.truncate && !options.read_only) flags |= O_TRUNC;
  const std::string full = full_path(path);
  int fd;
  do {
    fd = ::open(full.c_str(), flags, 0644);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return CAIRN_ERRNO_STATUS("open of '" + std::string(path) + "'");
  struct stat info {};
  if (::fstat(fd, &info) == 0 && S_ISDIR(info.st_mode)) {
    ::close(fd);
    return Status::invalid_argument("'" + std::string(path) + "' is a directory");
  }
  return std::unique_ptr<File>(std::make_unique<PosixFile>(fd, std::string(path), syncs_));
}

Status PosixFileSystem::remove(std::string_view path) {
  CAIRN_RETURN_IF_ERROR(validate_path(path));
  const std::string full = full_path(path);
  struct stat info {};
  if (::lstat(full.c_str(), &info) != 0) return CAIRN_ERRNO_STATUS("remove of '" + std::string(path) + "'");
  const int result = S_ISDIR(info.st_mode) ? ::rmdir(full.c_str()) : ::unlink(full.c_str());
  if (result != 0) return CAIRN_ERRNO_STATUS("remove of '" + std::string(path) + "'");
  return {};
}

Status PosixFileSystem::rename(std::string_view from, std::string_view to) {
  CAIRN_RETURN_IF_ERROR(validate_path(from));
  CAIRN_RETURN_IF_ERROR(validate_path(to));
  if (::rename(full_path(from).c_str(), full_path(to).c_str()) != 0) {
    return CAIRN_ERRNO_STATUS("rename of '" + std::string(from) + "' to '" + std::string(to) + "'");
  }
  return {};
}

Result<std::vector<std::string>> PosixFileSystem::list(std::string_view directory) {
  CAIRN_RETURN_IF_ERROR(validate_path(directory, /*allow_root=*/true));
  DIR* handle = ::opendir(full_path(directory).c_str());
  if (handle == nullptr) return CAIRN_ERRNO_STATUS("list of '" + std::string(directory) + "'");
  std::vector<std::string> names;
  while (dirent* entry = ::readdir(handle)) {
    const std::string name = entry->d_name;
    if (name != "." && name != "..") names.push_back(name);
  }
  ::closedir(handle);
  std::sort(names.begin(), names.end());
  return names;
}

Status PosixFileSystem::create_directory(std::string_view path) {
  CAIRN_RETURN_IF_ERROR(validate_path(path));
  const std::string full = full_path(path);
  if (::mkdir(full.c_str(), 0755) == 0) return {};
  const int error = errno;
  struct stat info {};
  if (error == EEXIST && ::stat(full.c_str(), &info) == 0 && S_ISDIR(info.st_mode)) return {};
  return errno_status("create directory '" + std::string(path) + "'", error);
}

Status PosixFileSystem::sync_directory(std::string_view directory) {
  CAIRN_RETURN_IF_ERROR(validate_path(directory, /*allow_root=*/true));
  const int fd = ::open(full_path(directory).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return CAIRN_ERRNO_STATUS("open directory '" + std::string(directory) + "'");
  struct CloseOnExit {
    int fd;
    ~CloseOnExit() { ::close(fd); }  // also when the fiber is cancelled while the sync runs
  } close_on_exit{fd};
  const int error = sync_descriptor(syncs_, &::fsync, fd);
  if (error != 0) return errno_status("fsync of directory '" + std::string(directory) + "'", error);
  return {};
}

Result<bool> PosixFileSystem::exists(std::string_view path) {
  CAIRN_RETURN_IF_ERROR(validate_path(path));
  struct stat info {};
  if (::stat(full_path(path).c_str(), &info) == 0) return true;
  if (errno == ENOENT) return false;
  return CAIRN_ERRNO_STATUS("stat of '" + std::string(path) + "'");
}

}  // namespace cairn::net
