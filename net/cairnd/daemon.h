// Daemon: what one cairnd process serves once its flags are checked — the data directory's
// identity, the listeners (peers, native clients, HTTP), the key-value node (its Raft groups and
// the client service) — until SIGTERM/SIGINT, then a clean stop in reverse order.
#pragma once

#include <string>
#include <vector>

#include "net/cairnd/node_identity.h"
#include "net/epoll_runtime.h"

namespace cairn::net {

struct DaemonOptions {
  NodeIdentity identity;
  std::string listen_peer;            // peers (and clients) connect here
  std::string listen_client;          // another address for native clients; empty: none
  std::string listen_http;            // the HTTP/JSON API (http_gateway.h); empty: none
  std::string advertise_host;         // the host others reach this node at; empty: each listen address's
  std::vector<NodeId> initial_voters; // this node and its --peer nodes
  bool bootstrap = true;              // --initial-cluster-state new
  std::string port_file;              // "peer=P\nclient=P\n[http=P\n]" once listening; empty: none
  Duration tick = milliseconds(100);
  uint32_t election_ticks = 10;
  uint32_t heartbeat_ticks = 1;
  Duration max_clock_offset = milliseconds(500);
  // Ranges hosted from the start, holding keyspaces 1 to `ranges`. Clients reach range 1 only
  // until the router comes (core/node/DESIGN.md): no flag sets more, the idle-ranges benchmark
  // does (tests/bench/cairnd_idle_benchmark.cc).
  uint32_t ranges = 1;
};

// Exit codes, as cairnd documents them.
inline constexpr int kExitClean = 0;
inline constexpr int kExitServingFailed = 1;
inline constexpr int kExitBadConfiguration = 2;

// Runs on the runtime's main fiber; returns the process's exit code.
int run_daemon(EpollRuntime& runtime, const DaemonOptions& options);

}  // namespace cairn::net
