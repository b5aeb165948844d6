// Packing protobuf messages into envelopes and back, with a check of the payload's type name
// (like google.protobuf.Any, without the URL prefix).
#pragma once

#include <google/protobuf/message.h>

#include "core/proto/envelope.pb.h"
#include "core/runtime/status.h"

namespace cairn {

void pack_payload(const google::protobuf::Message& message, proto::Envelope& envelope);
// INVALID_ARGUMENT if the envelope carries another type or bytes that do not parse.
Status unpack_payload(const proto::Envelope& envelope, google::protobuf::Message& message);

// The error of a RESPONSE envelope as a Status (OK if it carries none).
Status envelope_error(const proto::Envelope& envelope);
void set_envelope_error(const Status& status, proto::Envelope& envelope);

}  // namespace cairn
