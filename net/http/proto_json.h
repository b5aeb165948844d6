// Protobuf messages as JSON, the one mapping every Cairn JSON surface uses (the HTTP API, the
// CLI's --json): protobuf's canonical JSON with the .proto field names, bytes as base64 and
// 64-bit integers as strings, so no value is ever altered by a JSON reader's doubles.
#pragma once

#include <string>
#include <string_view>

#include <google/protobuf/message.h>

#include "core/runtime/status.h"

namespace cairn::net::http {

// The message as one line of JSON. Scalar fields at their default value (0, false, "", an enum's
// first value) are left out unless `print_defaults`, which reports like a status should: a
// follower's role printed rather than absent.
std::string to_json(const google::protobuf::Message& message, bool print_defaults = false);

// Parses `json` into `message` (cleared first). An unknown field, a wrong type or malformed JSON
// is INVALID_ARGUMENT with protobuf's explanation: input is never half-understood.
Status from_json(std::string_view json, google::protobuf::Message& message);

}  // namespace cairn::net::http
