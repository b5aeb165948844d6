// RegisterStore: the replicated register's durable state on one node.
//
// On disk: the file register.dat holds two slots of one sector (512 bytes) each. A write goes
// to the slot that does not hold the current value, is synced, then read back and compared, so
// a write that the disk misdirected or corrupted is caught before it is acknowledged. Because a
// slot is exactly one sector and sector writes are atomic, a crash leaves each slot old or new,
// never half-written: a slot that fails its checksum is therefore damage, not a torn write, and
// the node must rebuild its state from its peers rather than trust what is left (the lesson of
// "Protocol-Aware Recovery", FAST'18).
//
// Slot layout (little-endian): magic "CRG1" | slot index (u32) | payload length (u32) |
// CRC32C of the preceding 8 bytes and the payload (u32) | payload: a RegisterSlot message.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "core/proto/register.pb.h"
#include "core/runtime/file_system.h"
#include "core/runtime/status.h"

namespace cairn {

// (sequence, writer) order: the register keeps the largest value it has seen.
bool register_value_newer(const proto::RegisterValue& a, const proto::RegisterValue& b);

class RegisterStore {
 public:
  static constexpr std::size_t kSlotSize = 512;
  static constexpr std::size_t kMaxDataBytes = 256;
  static constexpr const char* kFileName = "register.dat";

  enum class LoadOutcome {
    kFresh,    // no register file: this node never stored anything
    kLoaded,   // both slots valid; the value is the newer one
    kDamaged,  // the file exists but a slot is unreadable or invalid: state must be rebuilt
  };
  struct Loaded {
    LoadOutcome outcome = LoadOutcome::kFresh;
    proto::RegisterValue value{};  // valid for kLoaded (and the best guess for kDamaged)
    bool recovering = false;       // kLoaded: a rebuild from peers was under way and must go on
    std::string problem{};         // what was wrong, for kDamaged
  };

  explicit RegisterStore(FileSystem& file_system) : file_system_(&file_system) {}

  // Reads the file. I/O errors and invalid slots give kDamaged, never an error.
  Loaded load();
  // Makes what load() read durable (make_file_durable: the file and the directory that names
  // it): a node must not vouch for state that a power loss can take back.
  Status make_durable();
  // Creates the file with empty slots, durably, replacing a damaged one atomically (a new file
  // is written and synced, then renamed over the old one and the directory synced), so a crash
  // leaves either the old file or the new one, never a mixture. `recovering` marks the state as
  // incomplete until finish_recovery().
  Status initialize(bool recovering);
  // Durably stores `value` (newer than the current one); on error the current value is unchanged.
  Status store(const proto::RegisterValue& value);
  // Durably stores `value` (at least the current one) and clears the recovering mark.
  Status finish_recovery(const proto::RegisterValue& value);

  const proto::RegisterValue& current() const { return current_; }
  bool recovering() const { return recovering_; }

  // Decodes one slot image; exposed for the simulator's durability check and for tests.
  static Result<proto::RegisterSlot> decode_slot(std::span<const std::byte> image, uint32_t slot_index);
  static std::array<std::byte, kSlotSize> encode_slot(const proto::RegisterSlot& slot, uint32_t slot_index);
  // Decodes a whole file image the way load() does.
  static Loaded decode_file(std::span<const std::byte> image);

 private:
  Status write_next(const proto::RegisterValue& value, bool recovering);
  Status write_slot(uint32_t slot_index, const proto::RegisterSlot& slot);
  Result<std::unique_ptr<File>> open_file();

  FileSystem* file_system_;
  proto::RegisterValue current_;
  uint64_t generation_ = 0;
  bool recovering_ = false;
};

}  // namespace cairn
