// Protobuf <-> JSON for Cairn's JSON surfaces (proto_json.h).
#include "net/http/proto_json.h"

#include <google/protobuf/util/json_util.h>

namespace cairn::net::http {

std::string to_json(const google::protobuf::Message& message, bool print_defaults) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = print_defaults;
  std::string text;
  // Printing a well-formed message cannot fail; a failure would be a bug in protobuf.
  const auto printed = google::protobuf::util::MessageToJsonString(message, &text, options);
  CAIRN_ASSERT(printed.ok(), "protobuf could not print a message as JSON");
  return text;
}

Status from_json(std::string_view json, google::protobuf::Message& message) {
  message.Clear();
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  const auto parsed =
      google::protobuf::util::JsonStringToMessage(google::protobuf::StringPiece(json.data(), json.size()), &message, options);
  if (!parsed.ok()) return Status::invalid_argument("bad JSON: " + std::string(parsed.message()));
  return {};
}

}  // namespace cairn::net::http
