// Page checksums for SQLite database pages, so that a flipped bit, a torn page or a page written
// to the wrong place is detected when the page is read, never served.
//
// Every page of a Cairn database keeps its last 8 bytes (SQLite's "reserved bytes", which the
// key-value engine sets to 8 when it creates the database) for:
//
//   offset page_size-8: u32 little-endian  CRC32C(page[0 .. page_size-8) || page number as u32 LE)
//   offset page_size-4: u32 little-endian  the page number (1-based, as SQLite counts pages)
//
// Mixing the page number into the checksum catches a valid page that landed at the wrong offset
// (a misdirected write); storing it lets a copy of the page held elsewhere (a rollback-journal
// record) be checked without knowing where it came from.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace cairn::storage {

inline constexpr std::size_t kPageChecksumBytes = 8;

// SQLite page sizes: a power of two from 512 to 65536.
bool is_valid_page_size(uint64_t size);

// Writes the checksum trailer of `page` (whose size is the page size) for `page_number`.
void seal_page(std::span<std::byte> page, uint32_t page_number);

enum class PageVerdict {
  kValid,
  kChecksumMismatch,   // the content does not match its checksum
  kWrongPageNumber,    // intact, but it is another page's content
};

// Checks `page` against its trailer; `expected_page_number` 0 accepts any page number (and
// `stored_page_number`, if not null, receives the one found).
PageVerdict verify_page(std::span<const std::byte> page, uint32_t expected_page_number,
                        uint32_t* stored_page_number = nullptr);

const char* page_verdict_name(PageVerdict verdict);

}  // namespace cairn::storage
