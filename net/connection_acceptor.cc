// The listener and accept loop shared by the transport and the HTTP server (see
// connection_acceptor.h).
#include "net/connection_acceptor.h"

#include <memory>
#include <utility>

#include "core/runtime/assert.h"

namespace cairn::net {
namespace {

// An accepted connection's slot: counted open from its accept until its fiber is done with it, or
// until that fiber is destroyed unstarted and drops the last reference.
struct OpenConnection {
  OpenConnection(AcceptCounters& connection_counters, Socket accepted)
      : counters(&connection_counters), socket(std::move(accepted)) {
    ++counters->open;
  }
  ~OpenConnection() { --counters->open; }
  OpenConnection(const OpenConnection&) = delete;
  OpenConnection& operator=(const OpenConnection&) = delete;

  AcceptCounters* counters;
  Socket socket;
};

void accept_connections(EpollLoop& loop, Runtime& runtime, FiberScope& fibers, Socket listener,
                        const AcceptOptions& options, AcceptCounters& counters, const ServeConnection& serve) {
  const std::string fiber_name = options.component + "-connection";
  while (true) {
    Result<Socket> accepted = accept_tcp(loop, listener);
    if (!accepted.ok()) {
      runtime.logger().log(LogLevel::kWarning, options.component, "accept failed",
                           {{"error", accepted.status().to_string()}});
      runtime.sleep(milliseconds(100));
      continue;
    }
    ++counters.accepted;
    if (counters.open >= options.max_open) {
      ++counters.refused;
      runtime.logger().log(LogLevel::kWarning, options.component, "too many connections: closing a new one",
                           {{"limit", options.max_open}});
      continue;  // the Socket closes as it goes out of scope
    }
    auto connection = std::make_shared<OpenConnection>(counters, std::move(*accepted));
    fibers.spawn(fiber_name, [connection, serve]() mutable {
      std::shared_ptr<OpenConnection> owned = std::move(connection);  // released when the body ends
      serve(owned->socket);
    });
  }
}

}  // namespace

Result<uint16_t> listen_and_accept(EpollLoop& loop, Runtime& runtime, FiberScope& fibers, const std::string& address,
                                   AcceptOptions options, AcceptCounters& counters, ServeConnection serve) {
  CAIRN_ASSERT(options.max_open > 0, "a server must allow at least one connection");
  CAIRN_ASSIGN_OR_RETURN(SocketAddress parsed, parse_socket_address(address));
  CAIRN_ASSIGN_OR_RETURN(Socket listener, listen_tcp(loop, parsed));
  CAIRN_ASSIGN_OR_RETURN(uint16_t port, listener.local_port());
  auto shared = std::make_shared<Socket>(std::move(listener));
  const std::string fiber_name = options.component + "-accept";
  fibers.spawn(fiber_name, [&loop, &runtime, &fibers, shared, options = std::move(options), &counters,
                            serve = std::move(serve)] {
    accept_connections(loop, runtime, fibers, std::move(*shared), options, counters, serve);
  });
  return port;
}

}  // namespace cairn::net
