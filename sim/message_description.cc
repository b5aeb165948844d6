// Messages in short form (see message_description.h).
#include "sim/message_description.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/dynamic_message.h>
#include <google/protobuf/text_format.h>

#include <memory>

#include "core/proto/kv.pb.h"
#include "core/proto/raft.pb.h"
#include "core/runtime/message.h"
#include "core/runtime/status.h"

namespace cairn::sim {
namespace {

std::string describe_raft(const proto::RaftMessage& message) {
  std::string text = proto::RaftMessageType_Name(message.type()) + " group=" + std::to_string(message.group()) +
                     " term=" + std::to_string(message.term());
  const auto number = [&](const char* name, uint64_t value) {
    if (value != 0) text += std::string(" ") + name + "=" + std::to_string(value);
  };
  number("index", message.index());
  number("log_term", message.log_term());
  number("commit", message.commit());
  if (message.entries_size() > 0) text += " entries=" + std::to_string(message.entries_size());
  if (message.reject()) text += " reject hint=" + std::to_string(message.reject_hint());
  if (message.lost_entries()) text += " lost_entries";
  if (message.has_snapshot()) text += " snapshot=" + std::to_string(message.snapshot().index());
  number("round", message.heartbeat_round());
  if (message.lease()) text += " lease";
  return text;
}

std::string describe_command(const proto::KvCommand& command) {
  switch (command.operation_case()) {
    case proto::KvCommand::kPut:
      return "put " + command.put().key() + " value=" + std::to_string(command.put().value().size()) + "B";
    case proto::KvCommand::kDelete: return "delete " + command.delete_().key();
    case proto::KvCommand::kCompareAndSet:
      return "cas " + command.compare_and_set().key() +
             (command.compare_and_set().expect_absent() ? " expect=absent" : "") +
             " value=" + std::to_string(command.compare_and_set().value().size()) + "B";
    case proto::KvCommand::kRegisterNode:
      return "register node " + std::to_string(command.register_node().node()) + " at " +
             command.register_node().peer_address();
    case proto::KvCommand::OPERATION_NOT_SET: break;
  }
  return "empty command";
}

// Any other message: one line of text format with long strings cut short.
std::string describe_generic(const proto::Envelope& envelope) {
  const google::protobuf::Descriptor* descriptor =
      google::protobuf::DescriptorPool::generated_pool()->FindMessageTypeByName(envelope.message_type());
  if (descriptor == nullptr) return std::to_string(envelope.payload().size()) + "B";
  const google::protobuf::Message* prototype =
      google::protobuf::MessageFactory::generated_factory()->GetPrototype(descriptor);
  std::unique_ptr<google::protobuf::Message> message(prototype->New());
  if (!message->ParseFromString(envelope.payload())) return "unparseable " + std::to_string(envelope.payload().size()) + "B";
  google::protobuf::TextFormat::Printer printer;
  printer.SetSingleLineMode(true);
  printer.SetTruncateStringFieldLongerThan(24);
  std::string text;
  printer.PrintToString(*message, &text);
  while (!text.empty() && text.back() == ' ') text.pop_back();
  return text;
}

std::string describe_payload(const proto::Envelope& envelope) {
  const std::string& type = envelope.message_type();
  if (type == proto::RaftMessage::descriptor()->full_name()) {
    proto::RaftMessage message;
    if (message.ParseFromString(envelope.payload())) return describe_raft(message);
  } else if (type == proto::RaftSnapshotChunk::descriptor()->full_name()) {
    proto::RaftSnapshotChunk chunk;
    if (chunk.ParseFromString(envelope.payload())) {
      return "group=" + std::to_string(chunk.group()) + " snapshot=" + std::to_string(chunk.snapshot_index()) +
             " chunk " + std::to_string(chunk.chunk() + 1) + "/" + std::to_string(chunk.chunks()) + " " +
             std::to_string(chunk.data().size()) + "B";
    }
  } else if (type == proto::KvWriteRequest::descriptor()->full_name()) {
    proto::KvWriteRequest request;
    if (request.ParseFromString(envelope.payload())) {
      return "group=" + std::to_string(request.group()) + " " + describe_command(request.command()) +
             " client=" + std::to_string(request.command().client_id()) +
             " request_id=" + std::to_string(request.command().request_id());
    }
  } else if (type == proto::KvReadRequest::descriptor()->full_name()) {
    proto::KvReadRequest request;
    if (request.ParseFromString(envelope.payload())) {
      return "group=" + std::to_string(request.group()) + " get " + request.key() + " " +
             proto::ReadConsistency_Name(request.consistency());
    }
  }
  return describe_generic(envelope);
}

}  // namespace

std::string describe_envelope(const proto::Envelope& envelope) {
  std::string type = envelope.message_type();
  if (const std::size_t dot = type.rfind('.'); dot != std::string::npos) type = type.substr(dot + 1);
  std::string text = type.empty() ? "(no payload)" : type;
  if (envelope.kind() == proto::REQUEST) text += " rpc=" + std::to_string(envelope.request_id());
  if (envelope.kind() == proto::RESPONSE) text += " reply rpc=" + std::to_string(envelope.request_id());
  if (envelope.has_error() && envelope.error().code() != 0) {
    return text + " error: " + envelope_error(envelope).to_string();
  }
  if (!envelope.message_type().empty()) text += " " + describe_payload(envelope);
  return text;
}

}  // namespace cairn::sim
