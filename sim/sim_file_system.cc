// Files of a simulated node, with latency, on its SimDisk (see sim_file_system.h).
#include "sim/sim_file_system.h"

#include "sim/sim_node.h"

namespace cairn::sim {
namespace {

class SimFile final : public File {
 public:
  SimFile(SimNode& node, SimDisk& disk, std::shared_ptr<SimInode> inode, std::string path, bool read_only)
      : node_(&node), disk_(&disk), inode_(std::move(inode)), path_(std::move(path)), read_only_(read_only) {}

  Result<std::size_t> read(uint64_t offset, std::span<std::byte> out) override {
    wait(SimDisk::Operation::kRead);
    return disk_->read(*inode_, path_, offset, out);
  }
  Status write(uint64_t offset, std::span<const std::byte> data) override {
    CAIRN_RETURN_IF_ERROR(check_writable());
    wait(SimDisk::Operation::kWrite);
    return disk_->write(*inode_, path_, offset, data);
  }
  Result<uint64_t> append(std::span<const std::byte> data) override {
    CAIRN_RETURN_IF_ERROR(check_writable());
    wait(SimDisk::Operation::kWrite);
    const uint64_t offset = inode_->current.size();
    CAIRN_RETURN_IF_ERROR(disk_->write(*inode_, path_, offset, data));
    return offset;
  }
  Status sync() override {
    wait(SimDisk::Operation::kSync);
    return disk_->sync(*inode_, path_);
  }
  Status truncate(uint64_t size) override {
    CAIRN_RETURN_IF_ERROR(check_writable());
    wait(SimDisk::Operation::kWrite);
    return disk_->truncate(*inode_, path_, size);
  }
  Result<uint64_t> size() override { return static_cast<uint64_t>(inode_->current.size()); }
  const std::string& path() const override { return path_; }

 private:
  Status check_writable() const {
    return read_only_ ? Status::failed_precondition("'" + path_ + "' is open read-only") : Status{};
  }
  void wait(SimDisk::Operation operation) { node_->sleep(disk_->latency(operation)); }

  SimNode* node_;
  SimDisk* disk_;
  std::shared_ptr<SimInode> inode_;
  std::string path_;
  bool read_only_;
};

}  // namespace

void SimFileSystem::wait(SimDisk::Operation operation) { node_->sleep(disk_->latency(operation)); }

Result<std::unique_ptr<File>> SimFileSystem::open(std::string_view path, OpenOptions options) {
  if (options.create || options.truncate) wait(SimDisk::Operation::kMetadata);
  CAIRN_ASSIGN_OR_RETURN(std::shared_ptr<SimInode> inode, disk_->open(path, options));
  return std::unique_ptr<File>(
      std::make_unique<SimFile>(*node_, *disk_, std::move(inode), std::string(path), options.read_only));
}

Status SimFileSystem::remove(std::string_view path) {
  wait(SimDisk::Operation::kMetadata);
  return disk_->remove(path);
}

Status SimFileSystem::rename(std::string_view from, std::string_view to) {
  wait(SimDisk::Operation::kMetadata);
  return disk_->rename(from, to);
}

Result<std::vector<std::string>> SimFileSystem::list(std::string_view directory) { return disk_->list(directory); }

Status SimFileSystem::create_directory(std::string_view path) {
  wait(SimDisk::Operation::kMetadata);
  return disk_->create_directory(path);
}

Status SimFileSystem::sync_directory(std::string_view directory) {
  wait(SimDisk::Operation::kSync);
  return disk_->sync_directory(directory);
}

Result<bool> SimFileSystem::exists(std::string_view path) { return disk_->exists(path); }

}  // namespace cairn::sim
