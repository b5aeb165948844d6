// A misbehaving peer for transport tests: plain blocking loopback sockets, and hand-made frames,
// so a test can send exactly the bytes it wants and see whether the node closes the connection.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <utility>

#include <google/protobuf/message.h>

#include "core/proto/envelope.pb.h"
#include "net/frame_codec.h"

namespace cairn::net::testing {

// A listening socket on 127.0.0.1 at a port the kernel picks: {fd, port}; fd -1 on failure.
inline std::pair<int, uint16_t> listen_loopback() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 || ::listen(fd, 8) != 0) {
    ::close(fd);
    return {-1, 0};
  }
  socklen_t length = sizeof address;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  return {fd, ntohs(address.sin_port)};
}

// Connects to 127.0.0.1:port; reads then time out after `timeout_seconds`. -1 on failure.
inline int connect_loopback(uint16_t port, int timeout_seconds = 5) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    ::close(fd);
    return -1;
  }
  timeval timeout{timeout_seconds, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  return fd;
}

// Reads (and discards) until the other side closes; false if it did not before the timeout.
inline bool read_until_closed(int fd) {
  char buffer[4096];
  while (true) {
    const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n > 0) continue;
    return n == 0 || errno == ECONNRESET;
  }
}

// One frame carrying `message` in an envelope, as the transport would send it.
inline std::string frame_of(const google::protobuf::Message& message) {
  proto::Envelope envelope;
  envelope.set_message_type(message.GetDescriptor()->full_name());
  envelope.set_payload(message.SerializeAsString());
  std::string frame;
  encode_frame(envelope, frame);
  return frame;
}

inline std::string hello_frame(uint64_t node_id, uint32_t protocol_version = 1) {
  proto::Hello hello;
  hello.set_node_id(node_id);
  hello.set_protocol_version(protocol_version);
  return frame_of(hello);
}

}  // namespace cairn::net::testing
