// Jepsen's shape of a history: an invocation and a completion are separate events (:invoke,
// then :ok, :fail or :info), paired by process. Both the jepsen-log and the EDN formats read
// their events into this, and EventPairing turns the events into completed operations:
//  - an :ok completion took effect; a :fail one did not; an :info one may have (unknown);
//  - an invocation still open at the end of the history is unknown;
//  - a process invoking again while its previous operation is open (Jepsen gives a crashed
//    process a new number, but hand-made or truncated logs may not) leaves that operation
//    unknown rather than failing the parse;
//  - each event's position in the history is its time, so real-time order is the event order.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "core/runtime/status.h"
#include "sim/checkers/edn_reader.h"
#include "sim/checkers/history.h"

namespace cairn::sim::linearizability {

enum class EventType { kInvoke, kOk, kFail, kInfo };

// From a keyword's name: "invoke", "ok", "fail", "info".
std::optional<EventType> parse_event_type(std::string_view name);

struct HistoryEvent {
  uint64_t process = 0;
  EventType type = EventType::kInvoke;
  Function function = Function::kRead;
  std::optional<std::string> key = {};  // set only when the event names a key
  Value value = {};                     // read: the value read; write: written; cas: the new value
  Value expected = {};                  // cas
  uint64_t line = 0;
};

// An EDN scalar as a history value: nil, a string's content, an integer in decimal, a keyword
// with its colon (":a"); anything else as its EDN text.
Value history_value(const EdnValue& value);

// Fills `event`'s key, value and expected from Jepsen's :value for its function: a read's value
// on :ok, a write's value and a cas's [expected new] on :invoke. With `key_value_tuples` (Jepsen's
// independent workloads) the value is a [key value] tuple; `value` may be nullptr (nil).
Status read_event_value(const EdnValue* value, bool key_value_tuples, HistoryEvent& event);

class EventPairing {
 public:
  explicit EventPairing(std::size_t max_operations) : max_operations_(max_operations) {}

  // Errors: a completion with no open invocation, or of another function or key; too many
  // operations. Messages start with "line N: ".
  Status add(const HistoryEvent& event);

  // The operations, in invocation order; open invocations become unknown.
  History finish() &&;

  uint64_t superseded_invocations() const { return superseded_; }

 private:
  Status invoke(const HistoryEvent& event);
  Status complete(const HistoryEvent& event);

  std::size_t max_operations_;
  History operations_;
  std::map<uint64_t, std::size_t> open_;  // process -> its open operation
  int64_t position_ = 0;
  uint64_t superseded_ = 0;
};

}  // namespace cairn::sim::linearizability
