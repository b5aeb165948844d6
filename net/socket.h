// Non-blocking TCP sockets for fibers on the EpollLoop: listen, accept, connect with a timeout,
// and reads and writes that park the calling fiber instead of blocking the thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/runtime/runtime.h"
#include "core/runtime/status.h"
#include "net/epoll_loop.h"

namespace cairn::net {

struct SocketAddress {
  std::string host;  // an IPv4 or IPv6 literal; "localhost" means 127.0.0.1
  uint16_t port = 0;
  std::string to_string() const;
};

// Parses "127.0.0.1:7001", "[::1]:7001" or "localhost:7001". INVALID_ARGUMENT with the reason.
Result<SocketAddress> parse_socket_address(std::string_view text);

// Owns a descriptor that is watched by the loop; closes (and unwatches) it when destroyed.
class Socket {
 public:
  Socket() = default;
  Socket(EpollLoop& loop, int fd) : loop_(&loop), fd_(fd) {}
  Socket(Socket&& other) noexcept : loop_(other.loop_), fd_(other.fd_) { other.fd_ = -1; }
  Socket& operator=(Socket&& other) noexcept;
  ~Socket() { close(); }
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;

  int fd() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  void close();

  // Reads at most out.size() bytes, parking until some arrive. 0 means the peer closed.
  Result<std::size_t> read_some(char* out, std::size_t size);
  // Writes everything, parking while the send buffer is full.
  Status write_all(std::string_view data);
  // The port the socket is bound to.
  Result<uint16_t> local_port() const;

 private:
  EpollLoop* loop_ = nullptr;
  int fd_ = -1;
};

Result<Socket> listen_tcp(EpollLoop& loop, const SocketAddress& address, int backlog = 512);
// Accepts one connection, parking until one arrives.
Result<Socket> accept_tcp(EpollLoop& loop, Socket& listener);
// Connects, parking until connected, refused, or `timeout` passed.
Result<Socket> connect_tcp(EpollLoop& loop, Runtime& runtime, const SocketAddress& address, Duration timeout);

}  // namespace cairn::net
