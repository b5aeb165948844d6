// SimFileSystem: the FileSystem a simulated node's code sees. Each operation takes simulated
// time (it parks the calling fiber for the disk's latency) and then acts on the node's SimDisk,
// so a crash during an operation cancels it before it touched the disk.
#pragma once

#include <memory>

#include "core/runtime/file_system.h"
#include "sim/sim_disk.h"

namespace cairn::sim {

class SimNode;

class SimFileSystem final : public FileSystem {
 public:
  SimFileSystem(SimNode& node, SimDisk& disk) : node_(&node), disk_(&disk) {}

  Result<std::unique_ptr<File>> open(std::string_view path, OpenOptions options) override;
  Status remove(std::string_view path) override;
  Status rename(std::string_view from, std::string_view to) override;
  Result<std::vector<std::string>> list(std::string_view directory) override;
  Status create_directory(std::string_view path) override;
  Status sync_directory(std::string_view directory) override;
  Result<bool> exists(std::string_view path) override;

 private:
  void wait(SimDisk::Operation operation);

  SimNode* node_;
  SimDisk* disk_;
};

}  // namespace cairn::sim
