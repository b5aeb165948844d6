// Two-slot, sector-atomic, read-back-verified storage of the register (see register_store.h).
#include "core/register/register_store.h"

#include <cstring>

#include "core/runtime/durable_file.h"
#include "storage/checksum/crc32c.h"
#include "storage/encoding/little_endian.h"

namespace cairn {
namespace {

constexpr char kMagic[4] = {'C', 'R', 'G', '1'};
constexpr std::size_t kHeaderSize = 16;

uint32_t slot_checksum(const std::byte* header, std::span<const std::byte> payload) {
  return crc32c_extend(crc32c(std::span<const std::byte>(header + 4, 8)), payload);
}

}  // namespace

bool register_value_newer(const proto::RegisterValue& a, const proto::RegisterValue& b) {
  if (a.sequence() != b.sequence()) return a.sequence() > b.sequence();
  return a.writer() > b.writer();
}

std::array<std::byte, RegisterStore::kSlotSize> RegisterStore::encode_slot(const proto::RegisterSlot& slot,
                                                                           uint32_t slot_index) {
  std::array<std::byte, kSlotSize> image{};
  const std::string payload = slot.SerializeAsString();
  CAIRN_ASSERT(payload.size() <= kSlotSize - kHeaderSize, "register slot payload too large");
  std::memcpy(image.data(), kMagic, 4);
  storage::store_u32(image.data() + 4, slot_index);
  storage::store_u32(image.data() + 8, static_cast<uint32_t>(payload.size()));
  std::memcpy(image.data() + kHeaderSize, payload.data(), payload.size());
  const auto payload_bytes = std::span<const std::byte>(image.data() + kHeaderSize, payload.size());
  storage::store_u32(image.data() + 12, slot_checksum(image.data(), payload_bytes));
  return image;
}

Result<proto::RegisterSlot> RegisterStore::decode_slot(std::span<const std::byte> image, uint32_t slot_index) {
  if (image.size() < kSlotSize) return Status::corruption("slot " + std::to_string(slot_index) + " is truncated");
  if (std::memcmp(image.data(), kMagic, 4) != 0) {
    return Status::corruption("slot " + std::to_string(slot_index) + " has no magic number");
  }
  const uint32_t stored_index = storage::load_u32(image.data() + 4);
  const uint32_t length = storage::load_u32(image.data() + 8);
  if (length > kSlotSize - kHeaderSize) {
    return Status::corruption("slot " + std::to_string(slot_index) + " has an impossible length");
  }
  const auto payload = image.subspan(kHeaderSize, length);
  if (slot_checksum(image.data(), payload) != storage::load_u32(image.data() + 12)) {
    return Status::corruption("slot " + std::to_string(slot_index) + " fails its checksum");
  }
  if (stored_index != slot_index) {
    return Status::corruption("slot " + std::to_string(slot_index) + " holds the record of slot " +
                              std::to_string(stored_index) + " (a misdirected write)");
  }
  proto::RegisterSlot slot;
  if (!slot.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) {
    return Status::corruption("slot " + std::to_string(slot_index) + " does not parse");
  }
  return slot;
}

RegisterStore::Loaded RegisterStore::decode_file(std::span<const std::byte> image) {
  Loaded loaded{.outcome = LoadOutcome::kLoaded};
  uint64_t best_generation = 0;
  bool any_valid = false;
  for (uint32_t index = 0; index < 2; ++index) {
    const auto slot_image = image.size() >= (index + 1) * kSlotSize ? image.subspan(index * kSlotSize, kSlotSize)
                                                                    : std::span<const std::byte>();
    Result<proto::RegisterSlot> slot = decode_slot(slot_image, index);
    if (!slot.ok()) {
      loaded.outcome = LoadOutcome::kDamaged;
      if (!loaded.problem.empty()) loaded.problem += "; ";
      loaded.problem += slot.status().message();
      continue;
    }
    if (!any_valid || slot->generation() > best_generation) {
      best_generation = slot->generation();
      loaded.value = slot->value();
      loaded.recovering = slot->recovering();
      any_valid = true;
    }
  }
  return loaded;
}

Result<std::unique_ptr<File>> RegisterStore::open_file() { return file_system_->open(kFileName, OpenOptions::read_write()); }

RegisterStore::Loaded RegisterStore::load() {
  Result<bool> exists = file_system_->exists(kFileName);
  if (!exists.ok()) return Loaded{.outcome = LoadOutcome::kDamaged, .problem = exists.status().to_string()};
  if (!*exists) return Loaded{.outcome = LoadOutcome::kFresh};
  Result<std::unique_ptr<File>> file = file_system_->open(kFileName, OpenOptions::read());
  if (!file.ok()) return Loaded{.outcome = LoadOutcome::kDamaged, .problem = file.status().to_string()};
  std::array<std::byte, 2 * kSlotSize> image{};
  Result<std::size_t> read = (*file)->read(0, image);
  if (!read.ok()) return Loaded{.outcome = LoadOutcome::kDamaged, .problem = read.status().to_string()};
  Loaded loaded = decode_file(std::span<const std::byte>(image.data(), *read));
  if (loaded.outcome == LoadOutcome::kLoaded) {
    current_ = loaded.value;
    recovering_ = loaded.recovering;
    generation_ = 0;
    for (uint32_t index = 0; index < 2; ++index) {
      auto slot = decode_slot(std::span<const std::byte>(image).subspan(index * kSlotSize, kSlotSize), index);
      if (slot.ok()) generation_ = std::max(generation_, slot->generation());
    }
  }
  return loaded;
}

Status RegisterStore::make_durable() { return make_file_durable(*file_system_, kFileName); }

Status RegisterStore::initialize(bool recovering) {
  std::string image;
  proto::RegisterSlot empty;
  empty.set_recovering(recovering);
  for (uint32_t index = 0; index < 2; ++index) {
    empty.set_generation(index);
    const auto slot = encode_slot(empty, index);
    image.append(reinterpret_cast<const char*>(slot.data()), slot.size());
  }
  CAIRN_RETURN_IF_ERROR(write_file_atomically(*file_system_, kFileName, image));
  current_ = proto::RegisterValue();
  generation_ = 1;
  recovering_ = recovering;
  return {};
}

Status RegisterStore::store(const proto::RegisterValue& value) { return write_next(value, recovering_); }

Status RegisterStore::finish_recovery(const proto::RegisterValue& value) { return write_next(value, false); }

Status RegisterStore::write_next(const proto::RegisterValue& value, bool recovering) {
  if (value.data().size() > kMaxDataBytes) {
    return Status::invalid_argument("register values are limited to " + std::to_string(kMaxDataBytes) + " bytes");
  }
  proto::RegisterSlot slot;
  slot.set_generation(generation_ + 1);
  *slot.mutable_value() = value;
  slot.set_recovering(recovering);
  // The slot not holding the current value: a crash or a bad write cannot touch the current one.
  CAIRN_RETURN_IF_ERROR(write_slot(static_cast<uint32_t>(slot.generation() % 2), slot));
  generation_ = slot.generation();
  current_ = value;
  recovering_ = recovering;
  return {};
}

Status RegisterStore::write_slot(uint32_t slot_index, const proto::RegisterSlot& slot) {
  CAIRN_ASSIGN_OR_RETURN(std::unique_ptr<File> file, open_file());
  const auto image = encode_slot(slot, slot_index);
  const uint64_t offset = static_cast<uint64_t>(slot_index) * kSlotSize;
  CAIRN_RETURN_IF_ERROR(file->write(offset, image));
  CAIRN_RETURN_IF_ERROR(file->sync());
  std::array<std::byte, kSlotSize> check{};
  CAIRN_ASSIGN_OR_RETURN(std::size_t read, file->read(offset, check));
  if (read != kSlotSize || check != image) {
    return Status::corruption("register slot " + std::to_string(slot_index) + " reads back differently than written");
  }
  return {};
}

}  // namespace cairn
