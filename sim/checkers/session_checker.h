// SessionChecker: the per-client guarantees of a key-value history — read-your-writes and
// monotonic reads — for histories whose writes are ordered by a known position (the Raft log
// index at which each written value, and each delete, was applied).
//
//   read-your-writes  a read of a key after the client's own acknowledged write of it returns
//                     that write or a later one;
//   monotonic reads   a client's reads of a key never return a write earlier than one it
//                     already read.
//
// Linearizability implies both; they are checked apart because their failures explain
// themselves in one line (which client, which key, which two writes) and because they need no
// search, so they hold even where the linearizability checker runs out of budget. A read of
// nothing (the key absent) is judged against deletes: it needs a delete of the key after the
// write it must not precede.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "sim/checkers/history.h"

namespace cairn::sim {

// Where each write landed: values are unique, so a value names its write.
struct WriteOrder {
  std::map<std::string, uint64_t> value_index;                 // written value -> log index
  std::map<std::string, std::set<uint64_t>> delete_indexes;    // key -> indexes of its deletes
  // A request: (group, client id, request id), as deduplication knows it.
  using Request = std::tuple<uint64_t, uint64_t, uint64_t>;
  // Where each request was first applied. Not the reply's index: a retried request is answered
  // from deduplication at the retry's index, later in the log.
  std::map<Request, uint64_t> request_index;
  // The request of each acknowledged write or delete, by its position in the history.
  std::map<std::size_t, Request> acknowledged_request;
};

struct SessionViolations {
  std::vector<std::string> read_your_writes;
  std::vector<std::string> monotonic_reads;
};

// Judges every client's reads in `history` (one operation at a time per client, in history
// order). Reads whose value has no known position (never applied anywhere the observer saw) are
// skipped: the linearizability check judges those.
SessionViolations check_sessions(const linearizability::History& history, const WriteOrder& order);

}  // namespace cairn::sim
