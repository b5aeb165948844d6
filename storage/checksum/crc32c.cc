// CRC32C with a hardware path (SSE4.2) and a portable table path; see crc32c.h.
#include "storage/checksum/crc32c.h"

#include <array>
#include <cstring>

namespace cairn {
namespace {

constexpr uint32_t kPolynomial = 0x82f63b78;  // reflected Castagnoli polynomial

constexpr std::array<uint32_t, 256> make_table() {
  std::array<uint32_t, 256> table{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t crc = i;
    for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ ((crc & 1) ? kPolynomial : 0);
    table[i] = crc;
  }
  return table;
}

constexpr std::array<uint32_t, 256> kTable = make_table();

uint32_t extend_portable(uint32_t crc, const unsigned char* data, std::size_t size) {
  for (std::size_t i = 0; i < size; ++i) crc = kTable[(crc ^ data[i]) & 0xff] ^ (crc >> 8);
  return crc;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) uint32_t extend_hardware(uint32_t crc, const unsigned char* data,
                                                           std::size_t size) {
  uint64_t crc64 = crc;
  while (size >= 8) {
    uint64_t word;
    std::memcpy(&word, data, sizeof word);
    crc64 = __builtin_ia32_crc32di(crc64, word);
    data += 8;
    size -= 8;
  }
  uint32_t crc32 = static_cast<uint32_t>(crc64);
  while (size > 0) {
    crc32 = __builtin_ia32_crc32qi(crc32, *data);
    ++data;
    --size;
  }
  return crc32;
}

bool detect_hardware() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("sse4.2");
}
#else
uint32_t extend_hardware(uint32_t crc, const unsigned char* data, std::size_t size) {
  return extend_portable(crc, data, size);
}
bool detect_hardware() { return false; }
#endif

const bool kHardware = detect_hardware();

}  // namespace

uint32_t crc32c_extend(uint32_t crc, std::span<const std::byte> data) {
  const auto* bytes = reinterpret_cast<const unsigned char*>(data.data());
  const uint32_t state = ~crc;
  const uint32_t result = kHardware ? extend_hardware(state, bytes, data.size())
                                    : extend_portable(state, bytes, data.size());
  return ~result;
}

bool crc32c_uses_hardware() { return kHardware; }

}  // namespace cairn
