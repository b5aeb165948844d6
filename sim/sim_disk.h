// SimDisk: one simulated node's disk, with the failure behaviour of real storage.
//
// Every file has two images: what reads see now (the page cache) and what is durable (the
// medium). Writes change the first; File::sync() copies the sectors written since the last sync
// to the second; a crash throws the first away. Directory entries work the same way:
// creations, removals and renames become durable with sync_directory() of their directory.
//
// Faults, each off unless the run's fault plan turns it on:
//  - at a crash, unsynced sectors are lost, or (torn writes) each survives with a probability;
//  - a sync fails with EIO and the unsynced sectors are dropped from the cache's dirty set, so
//    a later successful sync does not persist them either (Linux's behaviour after a failed
//    fsync, which PostgreSQL learned the hard way in 2018);
//  - ENOSPC on writes, and a capacity limit;
//  - slow operations;
//  - on "unreliable" nodes only: latent sector errors (EIO on read until the sector is
//    rewritten), silent bit flips in written data, and misdirected writes that land at another
//    sector-aligned offset of the same file.
// Sector writes are atomic: a crash never leaves half of a sector.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "core/proto/scenario.pb.h"
#include "core/runtime/file_system.h"
#include "core/runtime/network.h"
#include "core/runtime/random.h"
#include "sim/trace.h"

namespace cairn::sim {

class Simulator;
class FaultPlan;

struct SimInode {
  uint64_t id = 0;
  std::vector<std::byte> current;   // what reads return
  std::vector<std::byte> durable;   // what survives a crash
  std::set<uint64_t> dirty;         // sectors written since they were last made durable
  std::set<uint64_t> bad_sectors;   // latent sector errors
};

class SimDisk {
 public:
  enum class Operation { kRead, kWrite, kSync, kMetadata };

  SimDisk(Simulator& simulator, NodeId node, const proto::DiskModel& model, const FaultPlan* faults,
          bool corruptible, Random random);

  // How long an operation takes (including any slow-I/O fault).
  Duration latency(Operation operation);

  Result<std::shared_ptr<SimInode>> open(std::string_view path, const OpenOptions& options);
  Result<std::size_t> read(SimInode& inode, std::string_view path, uint64_t offset, std::span<std::byte> out);
  Status write(SimInode& inode, std::string_view path, uint64_t offset, std::span<const std::byte> data);
  Status sync(SimInode& inode, std::string_view path);
  Status truncate(SimInode& inode, std::string_view path, uint64_t size);

  Status remove(std::string_view path);
  Status rename(std::string_view from, std::string_view to);
  Result<std::vector<std::string>> list(std::string_view directory);
  Status create_directory(std::string_view path);
  Status sync_directory(std::string_view directory);
  Result<bool> exists(std::string_view path);

  // Power loss: the cache is gone; what is durable (and torn sectors, if enabled) remains.
  void crash();
  // A brand-new disk.
  void wipe();

  // For checkers: a file's durable contents (what a restart would find), or nothing.
  std::optional<std::vector<std::byte>> durable_image(std::string_view path) const;
  uint64_t used_bytes() const;
  uint32_t sector_size() const { return sector_size_; }

 private:
  struct Entry {
    bool directory = false;
    std::shared_ptr<SimInode> inode;
  };

  // Whether the fault strikes this operation on `path` ("" for operations on no file).
  bool fault(proto::FaultKind kind, std::string_view path);
  bool corrupting_fault(proto::FaultKind kind, std::string_view path);
  void trace(TraceEvent event, std::string_view path, uint64_t a, uint64_t b);
  Status check_parent(std::string_view path) const;
  void mark_dirty(SimInode& inode, uint64_t offset, uint64_t length);
  void grow(SimInode& inode, uint64_t size);
  std::vector<std::byte> crash_image(const SimInode& inode, std::string_view path);

  Simulator* simulator_;
  NodeId node_;
  proto::DiskModel model_;
  const FaultPlan* faults_;
  bool corruptible_;
  Random random_;
  uint32_t sector_size_;
  uint64_t last_inode_ = 0;
  std::map<std::string, Entry, std::less<>> current_;
  std::map<std::string, Entry, std::less<>> durable_;
};

}  // namespace cairn::sim
