// Non-blocking TCP sockets parked on the EpollLoop (see socket.h).
#include "net/socket.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>

#include "core/runtime/timeout.h"

namespace cairn::net {
namespace {

struct ResolvedAddress {
  sockaddr_storage storage{};
  socklen_t length = 0;
  int family = AF_INET;
};

Result<ResolvedAddress> resolve(const SocketAddress& address) {
  ResolvedAddress resolved;
  const std::string host = address.host == "localhost" ? "127.0.0.1" : address.host;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&resolved.storage);
  if (::inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(address.port);
    resolved.length = sizeof(sockaddr_in);
    resolved.family = AF_INET;
    return resolved;
  }
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&resolved.storage);
  if (::inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(address.port);
    resolved.length = sizeof(sockaddr_in6);
    resolved.family = AF_INET6;
    return resolved;
  }
  return Status::invalid_argument("'" + address.host + "' is not an IP address (names other than localhost are not resolved)");
}

Result<int> new_socket(int family) {
  const int fd = ::socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return CAIRN_ERRNO_STATUS("socket");
  return fd;
}

// Small messages go out at once; a peer that vanished without a reset (power loss, a NAT that
// forgot the flow) is detected by keepalive probes within about 25 s, and unacknowledged data
// fails the connection after 30 s, instead of TCP's default of many minutes.
void configure_connection(int fd) {
  const int one = 1;
  const int keepalive_idle_seconds = 10;
  const int keepalive_interval_seconds = 5;
  const int keepalive_probes = 3;
  const unsigned user_timeout_ms = 30'000;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  ::setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
  ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &keepalive_idle_seconds, sizeof keepalive_idle_seconds);
  ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &keepalive_interval_seconds, sizeof keepalive_interval_seconds);
  ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &keepalive_probes, sizeof keepalive_probes);
  ::setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &user_timeout_ms, sizeof user_timeout_ms);
}

}  // namespace

std::string SocketAddress::to_string() const {
  return (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

Result<SocketAddress> parse_socket_address(std::string_view text) {
  std::string_view host;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    const std::size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return Status::invalid_argument("address '" + std::string(text) + "' should look like [::1]:7001");
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    const std::size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) {
      return Status::invalid_argument("address '" + std::string(text) + "' needs a port, like 127.0.0.1:7001");
    }
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  unsigned value = 0;
  const auto [end, error] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || error != std::errc() || end != port.data() + port.size() || value > 65535) {
    return Status::invalid_argument("address '" + std::string(text) + "' has an invalid port");
  }
  if (host.empty()) return Status::invalid_argument("address '" + std::string(text) + "' has no host");
  SocketAddress address{std::string(host), static_cast<uint16_t>(value)};
  if (auto resolved = resolve(address); !resolved.ok()) return resolved.status();
  return address;
}

Socket& Socket::operator=(Socket&& other) noexcept {
  if (this != &other) {
    close();
    loop_ = other.loop_;
    fd_ = other.fd_;
    other.fd_ = -1;
  }
  return *this;
}

void Socket::close() {
  if (fd_ < 0) return;
  loop_->unwatch(fd_);
  ::close(fd_);
  fd_ = -1;
}

Result<std::size_t> Socket::read_some(char* out, std::size_t size) {
  while (true) {
    const ssize_t n = ::recv(fd_, out, size, 0);
    if (n >= 0) return static_cast<std::size_t>(n);
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      loop_->wait_readable(fd_);
      continue;
    }
    return CAIRN_ERRNO_STATUS("recv");
  }
}

Status Socket::write_all(std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
    if (n >= 0) {
      data.remove_prefix(static_cast<std::size_t>(n));
      continue;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      loop_->wait_writable(fd_);
      continue;
    }
    return CAIRN_ERRNO_STATUS("send");
  }
  return {};
}

Result<uint16_t> Socket::local_port() const {
  sockaddr_storage storage{};
  socklen_t length = sizeof storage;
  if (::getsockname(fd_, reinterpret_cast<sockaddr*>(&storage), &length) != 0) return CAIRN_ERRNO_STATUS("getsockname");
  if (storage.ss_family == AF_INET6) return ntohs(reinterpret_cast<sockaddr_in6*>(&storage)->sin6_port);
  return ntohs(reinterpret_cast<sockaddr_in*>(&storage)->sin_port);
}

Result<Socket> listen_tcp(EpollLoop& loop, const SocketAddress& address, int backlog) {
  CAIRN_ASSIGN_OR_RETURN(ResolvedAddress resolved, resolve(address));
  CAIRN_ASSIGN_OR_RETURN(int fd, new_socket(resolved.family));
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&resolved.storage), resolved.length) != 0) {
    const int error = errno;
    ::close(fd);
    return errno_status("bind to " + address.to_string(), error);
  }
  if (::listen(fd, backlog) != 0) {
    const int error = errno;
    ::close(fd);
    return errno_status("listen on " + address.to_string(), error);
  }
  if (Status watched = loop.watch(fd); !watched.ok()) {
    ::close(fd);
    return watched;
  }
  return Socket(loop, fd);
}

Result<Socket> accept_tcp(EpollLoop& loop, Socket& listener) {
  while (true) {
    const int fd = ::accept4(listener.fd(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) {
      configure_connection(fd);
      if (Status watched = loop.watch(fd); !watched.ok()) {
        ::close(fd);
        return watched;
      }
      return Socket(loop, fd);
    }
    if (errno == EINTR || errno == ECONNABORTED) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      loop.wait_readable(listener.fd());
      continue;
    }
    return CAIRN_ERRNO_STATUS("accept");
  }
}

Result<Socket> connect_tcp(EpollLoop& loop, Runtime& runtime, const SocketAddress& address, Duration timeout) {
  CAIRN_ASSIGN_OR_RETURN(ResolvedAddress resolved, resolve(address));
  CAIRN_ASSIGN_OR_RETURN(int fd, new_socket(resolved.family));
  configure_connection(fd);
  if (Status watched = loop.watch(fd); !watched.ok()) {
    ::close(fd);
    return watched;
  }
  Socket socket(loop, fd);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&resolved.storage), resolved.length) == 0) return socket;
  if (errno != EINPROGRESS) return CAIRN_ERRNO_STATUS("connect to " + address.to_string());
  Status connected = with_timeout(runtime, timeout, [&]() -> Status {
    loop.wait_writable(fd);
    int error = 0;
    socklen_t length = sizeof error;
    ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length);
    if (error != 0) return errno_status("connect to " + address.to_string(), error);
    return {};
  });
  if (!connected.ok()) return connected;
  return socket;
}

}  // namespace cairn::net
