// The simulated disk: page cache vs medium, directory durability, and disk faults (see sim_disk.h).
#include "sim/sim_disk.h"

#include <algorithm>
#include <cstring>

#include "sim/fault_plan.h"
#include "sim/simulator.h"

namespace cairn::sim {
namespace {

bool is_child_of(std::string_view path, std::string_view directory) { return parent_directory(path) == directory; }

}  // namespace

SimDisk::SimDisk(Simulator& simulator, NodeId node, const proto::DiskModel& model, const FaultPlan* faults,
                 bool corruptible, Random random)
    : simulator_(&simulator),
      node_(node),
      model_(model),
      faults_(faults),
      corruptible_(corruptible),
      random_(random),
      sector_size_(model.sector_size() == 0 ? 512 : model.sector_size()) {}

bool SimDisk::fault(proto::FaultKind kind, std::string_view path) {
  if (faults_ == nullptr) return false;
  const double rate = faults_->rate_for_path(kind, path);
  if (rate <= 0 || !random_.chance(rate)) return false;
  simulator_->count_fault(fault_kind_name(kind), node_);
  return true;
}

bool SimDisk::corrupting_fault(proto::FaultKind kind, std::string_view path) {
  return corruptible_ && fault(kind, path);
}

void SimDisk::trace(TraceEvent event, std::string_view path, uint64_t a, uint64_t b) {
  simulator_->trace().record(simulator_->now(), event, node_, hash_text(path), a, b, path);
}

Duration SimDisk::latency(Operation operation) {
  const proto::Range* range = nullptr;
  switch (operation) {
    case Operation::kRead: range = &model_.read_latency_ms(); break;
    case Operation::kWrite: range = &model_.write_latency_ms(); break;
    case Operation::kSync: range = &model_.sync_latency_ms(); break;
    case Operation::kMetadata: range = &model_.write_latency_ms(); break;
  }
  Duration delay = draw_milliseconds(random_, *range);
  if (fault(proto::DISK_SLOW, "")) {
    const ActiveFault* slow = faults_->find(proto::DISK_SLOW);
    delay += draw_milliseconds(random_, slow->magnitude);
  }
  return delay;
}

Status SimDisk::check_parent(std::string_view path) const {
  const std::string parent = parent_directory(path);
  if (parent.empty()) return {};
  auto it = current_.find(parent);
  if (it == current_.end()) return Status::not_found("no directory '" + parent + "'");
  if (!it->second.directory) return Status::invalid_argument("'" + parent + "' is not a directory");
  return {};
}

Result<std::shared_ptr<SimInode>> SimDisk::open(std::string_view path, const OpenOptions& options) {
  CAIRN_RETURN_IF_ERROR(validate_path(path));
  CAIRN_RETURN_IF_ERROR(check_parent(path));
  auto it = current_.find(path);
  if (it != current_.end()) {
    if (it->second.directory) return Status::invalid_argument("'" + std::string(path) + "' is a directory");
    if (options.create && options.exclusive) return Status::already_exists("'" + std::string(path) + "' exists");
    std::shared_ptr<SimInode> inode = it->second.inode;
    if (options.truncate && !options.read_only) CAIRN_RETURN_IF_ERROR(truncate(*inode, path, 0));
    return inode;
  }
  if (!options.create || options.read_only) return Status::not_found("no file '" + std::string(path) + "'");
  auto inode = std::make_shared<SimInode>();
  inode->id = ++last_inode_;
  current_.emplace(std::string(path), Entry{false, inode});
  trace(TraceEvent::kDiskMetadata, path, 1, inode->id);
  return inode;
}

Result<std::size_t> SimDisk::read(SimInode& inode, std::string_view path, uint64_t offset, std::span<std::byte> out) {
  const uint64_t size = inode.current.size();
  if (offset >= size || out.empty()) {
    trace(TraceEvent::kDiskRead, path, offset, 0);
    return std::size_t{0};
  }
  const uint64_t length = std::min<uint64_t>(out.size(), size - offset);
  const uint64_t first_sector = offset / sector_size_;
  const uint64_t last_sector = (offset + length - 1) / sector_size_;
  if (corrupting_fault(proto::DISK_READ_ERROR, path)) {
    inode.bad_sectors.insert(first_sector + random_.uniform(last_sector - first_sector + 1));
  }
  auto bad = inode.bad_sectors.lower_bound(first_sector);
  if (bad != inode.bad_sectors.end() && *bad <= last_sector) {
    trace(TraceEvent::kDiskRead, path, offset, UINT64_MAX);
    return Status::io_error("EIO reading '" + std::string(path) + "' at offset " + std::to_string(offset) +
                            " (sector " + std::to_string(*bad) + " unreadable)");
  }
  std::memcpy(out.data(), inode.current.data() + offset, length);
  trace(TraceEvent::kDiskRead, path, offset, length);
  return static_cast<std::size_t>(length);
}

void SimDisk::mark_dirty(SimInode& inode, uint64_t offset, uint64_t length) {
  if (length == 0) return;
  for (uint64_t sector = offset / sector_size_; sector <= (offset + length - 1) / sector_size_; ++sector) {
    inode.dirty.insert(sector);
    inode.bad_sectors.erase(sector);  // a rewritten sector is remapped by the drive
  }
}

void SimDisk::grow(SimInode& inode, uint64_t size) {
  // The new bytes are zeros in the cache, whatever an older, longer durable image held there.
  const uint64_t old_size = inode.current.size();
  inode.current.resize(size);
  mark_dirty(inode, old_size, size - old_size);
}

uint64_t SimDisk::used_bytes() const {
  uint64_t used = 0;
  std::set<uint64_t> counted;
  for (const auto& [path, entry] : current_) {
    if (entry.inode != nullptr && counted.insert(entry.inode->id).second) used += entry.inode->current.size();
  }
  return used;
}

Status SimDisk::write(SimInode& inode, std::string_view path, uint64_t offset, std::span<const std::byte> data) {
  if (data.empty()) return {};
  if (fault(proto::DISK_FULL, path)) {
    trace(TraceEvent::kDiskWrite, path, offset, UINT64_MAX);
    return Status::no_space("ENOSPC writing '" + std::string(path) + "' (injected)");
  }
  const uint64_t old_size = inode.current.size();
  const uint64_t growth = offset + data.size() > old_size ? offset + data.size() - old_size : 0;
  if (model_.capacity_bytes() > 0 && growth > 0 && used_bytes() + growth > model_.capacity_bytes()) {
    trace(TraceEvent::kDiskWrite, path, offset, UINT64_MAX - 1);
    return Status::no_space("ENOSPC writing '" + std::string(path) + "': disk capacity of " +
                            std::to_string(model_.capacity_bytes()) + " bytes reached");
  }
  uint64_t target = offset;
  if (corrupting_fault(proto::DISK_MISDIRECTED_WRITE, path)) {
    // Same alignment within a sector, another sector of the file (or just past its end).
    const uint64_t sectors = std::max(old_size, offset + data.size()) / sector_size_ + 1;
    uint64_t sector = random_.uniform(sectors);
    if (sector == offset / sector_size_) sector = (sector + 1) % sectors;
    target = sector * sector_size_ + offset % sector_size_;
  }
  std::vector<std::byte> flipped;
  if (corrupting_fault(proto::DISK_BIT_FLIP, path)) {
    flipped.assign(data.begin(), data.end());
    const uint64_t bit = random_.uniform(flipped.size() * 8);
    flipped[bit / 8] ^= static_cast<std::byte>(1u << (bit % 8));
    data = flipped;
  }
  if (target + data.size() > inode.current.size()) grow(inode, target + data.size());
  std::memcpy(inode.current.data() + target, data.data(), data.size());
  mark_dirty(inode, target, data.size());
  trace(TraceEvent::kDiskWrite, path, target, data.size());
  return {};
}

Status SimDisk::sync(SimInode& inode, std::string_view path) {
  if (fault(proto::DISK_SYNC_FAILURE, path)) {
    // The kernel reports the error once and marks the pages clean: they will not be retried.
    inode.dirty.clear();
    trace(TraceEvent::kDiskSync, path, inode.id, UINT64_MAX);
    return Status::io_error("fsync of '" + std::string(path) + "' failed (injected EIO)");
  }
  inode.durable.resize(inode.current.size());
  for (uint64_t sector : inode.dirty) {
    const uint64_t begin = sector * sector_size_;
    if (begin >= inode.current.size()) continue;
    const uint64_t end = std::min<uint64_t>(begin + sector_size_, inode.current.size());
    std::memcpy(inode.durable.data() + begin, inode.current.data() + begin, end - begin);
  }
  inode.dirty.clear();
  trace(TraceEvent::kDiskSync, path, inode.id, inode.durable.size());
  return {};
}

Status SimDisk::truncate(SimInode& inode, std::string_view path, uint64_t size) {
  const uint64_t old_size = inode.current.size();
  if (size > old_size && model_.capacity_bytes() > 0 && used_bytes() + (size - old_size) > model_.capacity_bytes()) {
    return Status::no_space("ENOSPC extending '" + std::string(path) + "'");
  }
  if (size > old_size) {
    grow(inode, size);
    trace(TraceEvent::kDiskWrite, path, size, UINT64_MAX - 2);
    return {};
  }
  inode.current.resize(size);
  // Sectors wholly past the new end no longer exist; the one holding the new end lost its tail.
  const uint64_t first_gone = (size + sector_size_ - 1) / sector_size_;
  inode.dirty.erase(inode.dirty.lower_bound(first_gone), inode.dirty.end());
  if (size % sector_size_ != 0) inode.dirty.insert(size / sector_size_);
  trace(TraceEvent::kDiskWrite, path, size, UINT64_MAX - 2);
  return {};
}

Status SimDisk::remove(std::string_view path) {
  CAIRN_RETURN_IF_ERROR(validate_path(path));
  auto it = current_.find(path);
  if (it == current_.end()) return Status::not_found("no file '" + std::string(path) + "'");
  if (it->second.directory) {
    for (const auto& [other, entry] : current_) {
      if (is_child_of(other, path)) return Status::failed_precondition("directory '" + std::string(path) + "' is not empty");
    }
  }
  current_.erase(it);
  trace(TraceEvent::kDiskMetadata, path, 2, 0);
  return {};
}

Status SimDisk::rename(std::string_view from, std::string_view to) {
  CAIRN_RETURN_IF_ERROR(validate_path(from));
  CAIRN_RETURN_IF_ERROR(validate_path(to));
  CAIRN_RETURN_IF_ERROR(check_parent(to));
  auto source = current_.find(from);
  if (source == current_.end()) return Status::not_found("no file '" + std::string(from) + "'");
  if (source->second.directory) return Status::invalid_argument("renaming directories is not supported");
  auto target = current_.find(to);
  if (target != current_.end() && target->second.directory) {
    return Status::invalid_argument("'" + std::string(to) + "' is a directory");
  }
  Entry entry = source->second;
  current_.erase(source);
  current_[std::string(to)] = entry;
  trace(TraceEvent::kDiskMetadata, from, 3, hash_text(to));
  return {};
}

Result<std::vector<std::string>> SimDisk::list(std::string_view directory) {
  CAIRN_RETURN_IF_ERROR(validate_path(directory, /*allow_root=*/true));
  if (!directory.empty()) {
    auto it = current_.find(directory);
    if (it == current_.end()) return Status::not_found("no directory '" + std::string(directory) + "'");
    if (!it->second.directory) return Status::invalid_argument("'" + std::string(directory) + "' is not a directory");
  }
  std::vector<std::string> names;
  for (const auto& [path, entry] : current_) {
    if (is_child_of(path, directory)) names.push_back(directory.empty() ? path : path.substr(directory.size() + 1));
  }
  std::sort(names.begin(), names.end());
  return names;
}

Status SimDisk::create_directory(std::string_view path) {
  CAIRN_RETURN_IF_ERROR(validate_path(path));
  CAIRN_RETURN_IF_ERROR(check_parent(path));
  auto it = current_.find(path);
  if (it != current_.end()) {
    return it->second.directory ? Status{} : Status::already_exists("'" + std::string(path) + "' is a file");
  }
  current_.emplace(std::string(path), Entry{true, nullptr});
  trace(TraceEvent::kDiskMetadata, path, 4, 0);
  return {};
}

Status SimDisk::sync_directory(std::string_view directory) {
  CAIRN_RETURN_IF_ERROR(validate_path(directory, /*allow_root=*/true));
  if (!directory.empty()) {
    auto it = current_.find(directory);
    if (it == current_.end() || !it->second.directory) {
      return Status::not_found("no directory '" + std::string(directory) + "'");
    }
  }
  if (fault(proto::DISK_SYNC_FAILURE, directory)) {
    trace(TraceEvent::kDiskSync, directory, 0, UINT64_MAX);
    return Status::io_error("fsync of directory '" + std::string(directory) + "' failed (injected EIO)");
  }
  for (auto it = durable_.begin(); it != durable_.end();) {
    it = is_child_of(it->first, directory) && current_.count(it->first) == 0 ? durable_.erase(it) : std::next(it);
  }
  for (const auto& [path, entry] : current_) {
    if (is_child_of(path, directory)) durable_[path] = entry;
  }
  trace(TraceEvent::kDiskSync, directory, 0, 0);
  return {};
}

Result<bool> SimDisk::exists(std::string_view path) {
  CAIRN_RETURN_IF_ERROR(validate_path(path));
  return current_.count(path) != 0;
}

std::vector<std::byte> SimDisk::crash_image(const SimInode& inode, std::string_view path) {
  std::vector<std::byte> image = inode.durable;
  const double survival = faults_ == nullptr ? 0.0 : faults_->rate_for_path(proto::DISK_TORN_WRITE, path);
  if (survival <= 0 || inode.dirty.empty()) return image;
  // The size is metadata: either the old one or the new one made it.
  if (inode.current.size() != inode.durable.size() && random_.chance(0.5)) image.resize(inode.current.size());
  uint64_t kept = 0;
  for (uint64_t sector : inode.dirty) {
    const uint64_t begin = sector * sector_size_;
    if (begin >= image.size()) continue;
    if (!random_.chance(survival)) continue;
    // The whole sector as the cache held it: bytes past the file's end are zeros.
    const uint64_t end = std::min<uint64_t>(begin + sector_size_, image.size());
    const uint64_t cached_end = std::min<uint64_t>(end, inode.current.size());
    std::memcpy(image.data() + begin, inode.current.data() + begin, cached_end - begin);
    std::fill(image.begin() + static_cast<std::ptrdiff_t>(cached_end), image.begin() + static_cast<std::ptrdiff_t>(end),
              std::byte{0});
    ++kept;
  }
  if (kept > 0 && kept < inode.dirty.size()) simulator_->count_fault("disk_torn_write", node_, inode.id);
  return image;
}

void SimDisk::crash() {
  std::set<uint64_t> done;
  for (auto& [path, entry] : durable_) {
    if (entry.inode == nullptr || !done.insert(entry.inode->id).second) continue;
    SimInode& inode = *entry.inode;
    inode.durable = crash_image(inode, path);
    inode.current = inode.durable;
    inode.dirty.clear();
  }
  current_ = durable_;
}

void SimDisk::wipe() {
  current_.clear();
  durable_.clear();
}

std::optional<std::vector<std::byte>> SimDisk::durable_image(std::string_view path) const {
  auto it = durable_.find(path);
  if (it == durable_.end() || it->second.inode == nullptr) return std::nullopt;
  return it->second.inode->durable;
}

}  // namespace cairn::sim
