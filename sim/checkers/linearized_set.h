// The set of operations a linearization search has placed so far, as a bitset that also keeps
// an order-independent fingerprint (XOR of a per-operation random word), so the search can look
// up "have I been here before" in constant time, and a compact canonical encoding for storing
// the visited sets: operations are numbered in invoke order, so a set in a long history looks
// like "everything up to about here, a few gaps, nothing after", which run-length encodes to a
// few words instead of one bit per operation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace cairn::sim::linearizability {

class LinearizedSet {
 public:
  explicit LinearizedSet(std::size_t capacity);

  void insert(std::size_t index);
  void erase(std::size_t index);
  bool contains(std::size_t index) const;
  std::size_t size() const { return size_; }
  std::size_t capacity() const { return capacity_; }
  uint64_t fingerprint() const { return fingerprint_; }

  // Appends the canonical encoding: equal sets give equal encodings, different sets different
  // ones. Runs of all-zero and all-one words become one header word each; other words are kept
  // literally behind a header that counts them; trailing zero words are left out.
  void encode(std::vector<uint64_t>& out) const;

 private:
  std::vector<uint64_t> words_;
  // Bounds that spare encode() a scan of the whole bitset: every word before full_words_ is all
  // ones, every word from end_words_ on is zero. Kept loose by insert/erase, tightened by encode.
  mutable std::size_t full_words_ = 0;
  mutable std::size_t end_words_ = 0;
  std::size_t capacity_ = 0;
  std::size_t size_ = 0;
  uint64_t fingerprint_ = 0;
};

}  // namespace cairn::sim::linearizability
