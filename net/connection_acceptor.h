// listen_and_accept: the listening socket and accept loop of both of cairnd's servers, the peer
// and client transport (tcp_transport.h) and the HTTP server (http/http_server.h).
//
// Each accepted connection is served by `serve` in a fiber of its own. At most `max_open` are
// served at once; one more is closed on arrival. A connection counts as open from its accept, not
// from when its fiber first runs, so a burst accepted before any of those fibers starts cannot go
// over the limit; it stops counting when `serve` returns, or when its fiber is destroyed before it
// started (the server went away first). An accept error (out of descriptors, say) is logged and
// retried after 100 ms instead of in a busy loop.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

#include "core/runtime/fiber_scope.h"
#include "core/runtime/runtime.h"
#include "core/runtime/status.h"
#include "net/epoll_loop.h"
#include "net/socket.h"

namespace cairn::net {

struct AcceptCounters {
  uint64_t accepted = 0;  // every connection accepted, the refused ones included
  uint64_t refused = 0;   // closed on arrival: max_open were being served
  uint64_t open = 0;      // being served now
};

struct AcceptOptions {
  std::string component;     // names log lines and fibers: "tcp", "http"
  std::size_t max_open = 0;  // must be positive
};

// Serves one accepted connection; the socket is closed when it returns (it may be moved from).
using ServeConnection = std::function<void(Socket& socket)>;

// Listens on `address` ("127.0.0.1:0" picks a free port) and returns the port; a fiber of
// `fibers` then accepts there until it is cancelled, and the connection fibers (each with a copy
// of `serve`) belong to `fibers` too. `counters` must outlive every fiber of `fibers` (the owner
// declares it before its FiberScope).
Result<uint16_t> listen_and_accept(EpollLoop& loop, Runtime& runtime, FiberScope& fibers, const std::string& address,
                                   AcceptOptions options, AcceptCounters& counters, ServeConnection serve);

}  // namespace cairn::net
