// Envelope payload packing (see message.h).
#include "core/runtime/message.h"

#include <string>

namespace cairn {

void pack_payload(const google::protobuf::Message& message, proto::Envelope& envelope) {
  envelope.set_message_type(message.GetDescriptor()->full_name());
  message.SerializeToString(envelope.mutable_payload());
}

Status unpack_payload(const proto::Envelope& envelope, google::protobuf::Message& message) {
  const std::string& expected = message.GetDescriptor()->full_name();
  if (envelope.message_type() != expected) {
    // The name came off the wire: quote at most a little of it.
    constexpr std::size_t kQuoted = 100;
    const std::string& got = envelope.message_type();
    return Status::invalid_argument("expected a " + expected + ", got '" + got.substr(0, kQuoted) +
                                    (got.size() > kQuoted ? "...'" : "'"));
  }
  if (!message.ParseFromString(envelope.payload())) {
    return Status::invalid_argument("payload does not parse as " + expected);
  }
  return {};
}

Status envelope_error(const proto::Envelope& envelope) {
  if (!envelope.has_error() || envelope.error().code() == 0) return {};
  const uint32_t code = envelope.error().code();
  const auto status_code = code <= static_cast<uint32_t>(StatusCode::kInternal) ? static_cast<StatusCode>(code)
                                                                                 : StatusCode::kInternal;
  return {status_code, envelope.error().message()};
}

void set_envelope_error(const Status& status, proto::Envelope& envelope) {
  envelope.mutable_error()->set_code(static_cast<uint32_t>(status.code()));
  envelope.mutable_error()->set_message(status.message());
}

}  // namespace cairn
