// Fixed-width little-endian integers in byte buffers, for the on-disk and on-wire formats of
// storage/. ByteReader decodes untrusted bytes: every read is bounds-checked and a short buffer
// is an error the caller turns into a clear Status, never an out-of-bounds access.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace cairn::storage {

inline void store_u32(std::byte* out, uint32_t value) {
  for (int i = 0; i < 4; ++i) out[i] = static_cast<std::byte>(value >> (8 * i));
}
inline void store_u64(std::byte* out, uint64_t value) {
  for (int i = 0; i < 8; ++i) out[i] = static_cast<std::byte>(value >> (8 * i));
}
inline uint32_t load_u32(const std::byte* in) {
  uint32_t value = 0;
  for (int i = 3; i >= 0; --i) value = (value << 8) | static_cast<uint32_t>(in[i]);
  return value;
}
inline uint64_t load_u64(const std::byte* in) {
  uint64_t value = 0;
  for (int i = 7; i >= 0; --i) value = (value << 8) | static_cast<uint64_t>(in[i]);
  return value;
}

inline void append_u8(std::string& out, uint8_t value) { out.push_back(static_cast<char>(value)); }
inline void append_u16(std::string& out, uint16_t value) {
  out.push_back(static_cast<char>(value));
  out.push_back(static_cast<char>(value >> 8));
}
inline void append_u32(std::string& out, uint32_t value) {
  std::byte bytes[4];
  store_u32(bytes, value);
  out.append(reinterpret_cast<const char*>(bytes), 4);
}
inline void append_u64(std::string& out, uint64_t value) {
  std::byte bytes[8];
  store_u64(bytes, value);
  out.append(reinterpret_cast<const char*>(bytes), 8);
}

// Reads fields in order from a buffer it does not own; each read returns nullopt once the
// buffer is too short (and every read after it does too).
class ByteReader {
 public:
  explicit ByteReader(std::string_view bytes) : bytes_(bytes) {}

  std::optional<uint8_t> u8() {
    if (!take(1)) return std::nullopt;
    return static_cast<uint8_t>(bytes_[position_ - 1]);
  }
  std::optional<uint16_t> u16() {
    if (!take(2)) return std::nullopt;
    const auto* at = reinterpret_cast<const unsigned char*>(bytes_.data() + position_ - 2);
    return static_cast<uint16_t>(at[0] | (at[1] << 8));
  }
  std::optional<uint32_t> u32() {
    if (!take(4)) return std::nullopt;
    return load_u32(reinterpret_cast<const std::byte*>(bytes_.data() + position_ - 4));
  }
  std::optional<uint64_t> u64() {
    if (!take(8)) return std::nullopt;
    return load_u64(reinterpret_cast<const std::byte*>(bytes_.data() + position_ - 8));
  }
  std::optional<std::string_view> bytes(std::size_t length) {
    if (!take(length)) return std::nullopt;
    return bytes_.substr(position_ - length, length);
  }

  std::size_t position() const { return position_; }
  std::size_t remaining() const { return failed_ ? 0 : bytes_.size() - position_; }
  bool failed() const { return failed_; }

 private:
  bool take(std::size_t length) {
    if (failed_ || length > bytes_.size() - position_) {
      failed_ = true;
      return false;
    }
    position_ += length;
    return true;
  }

  std::string_view bytes_;
  std::size_t position_ = 0;
  bool failed_ = false;
};

}  // namespace cairn::storage
