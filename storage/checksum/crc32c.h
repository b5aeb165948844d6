// CRC32C (Castagnoli), the checksum of every record Cairn writes to disk. Uses the SSE4.2
// crc32 instruction when the CPU has it and a table-driven loop otherwise; both give the same
// values (the standard CRC32C, e.g. crc32c("123456789") == 0xE3069283).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace cairn {

// Extends `crc` (the value returned for the data so far, 0 to start) with `data`.
uint32_t crc32c_extend(uint32_t crc, std::span<const std::byte> data);

inline uint32_t crc32c(std::span<const std::byte> data) { return crc32c_extend(0, data); }
inline uint32_t crc32c(std::string_view data) {
  return crc32c(std::as_bytes(std::span<const char>(data.data(), data.size())));
}

// Whether the hardware path is in use on this machine (for benchmarks and diagnostics).
bool crc32c_uses_hardware();

}  // namespace cairn
