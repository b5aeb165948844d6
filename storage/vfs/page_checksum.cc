// Sealing and verifying the checksum trailer of SQLite pages (see page_checksum.h).
#include "storage/vfs/page_checksum.h"

#include <cstring>

#include "core/runtime/assert.h"
#include "storage/checksum/crc32c.h"
#include "storage/encoding/little_endian.h"

namespace cairn::storage {
namespace {

uint32_t page_checksum(std::span<const std::byte> page, uint32_t page_number) {
  std::byte number[4];
  store_u32(number, page_number);
  const uint32_t content = crc32c_extend(0, page.first(page.size() - kPageChecksumBytes));
  return crc32c_extend(content, number);
}

}  // namespace

bool is_valid_page_size(uint64_t size) { return size >= 512 && size <= 65536 && (size & (size - 1)) == 0; }

void seal_page(std::span<std::byte> page, uint32_t page_number) {
  CAIRN_ASSERT(is_valid_page_size(page.size()), "seal_page needs a whole page");
  std::byte* trailer = page.data() + page.size() - kPageChecksumBytes;
  store_u32(trailer, page_checksum(page, page_number));
  store_u32(trailer + 4, page_number);
}

PageVerdict verify_page(std::span<const std::byte> page, uint32_t expected_page_number, uint32_t* stored_page_number) {
  CAIRN_ASSERT(is_valid_page_size(page.size()), "verify_page needs a whole page");
  const std::byte* trailer = page.data() + page.size() - kPageChecksumBytes;
  const uint32_t stored_checksum = load_u32(trailer);
  const uint32_t stored_number = load_u32(trailer + 4);
  if (stored_page_number != nullptr) *stored_page_number = stored_number;
  if (page_checksum(page, stored_number) != stored_checksum) return PageVerdict::kChecksumMismatch;
  if (expected_page_number != 0 && stored_number != expected_page_number) return PageVerdict::kWrongPageNumber;
  return PageVerdict::kValid;
}

const char* page_verdict_name(PageVerdict verdict) {
  switch (verdict) {
    case PageVerdict::kValid: return "valid";
    case PageVerdict::kChecksumMismatch: return "checksum mismatch";
    case PageVerdict::kWrongPageNumber: return "another page's content";
  }
  return "?";
}

}  // namespace cairn::storage
