// TcpTransport: the Network of the real daemon — envelopes in length-prefixed frames over TCP.
//
// Connections. Each node listens on one address. To reach a peer (configured, or learned later
// through learn_address) it keeps one outgoing link that dials, and on failure redials with
// exponential backoff (10 ms doubling to 2 s, with jitter). Frames wait in the link's bounded
// queue while it connects; while its last attempt has failed, send() fails at once with the
// reason (refused, unreachable, handshake). A node that is not a known peer (a client) is
// reached over the connection it opened to us.
//
// Handshake. Both sides first send a Hello with their node id and protocol version; a dialer
// checks that it reached the node it meant to. From then on the connection's node id is the
// source of every envelope read from it, whatever the envelope claims.
//
// Limits and bad input. A Hello larger than 4 KiB, frames over max_frame_bytes, bytes that do
// not parse, a first frame that is not a valid Hello, or no Hello within the handshake timeout:
// the connection is closed and the reason logged; the process carries on. At most
// max_incoming_connections are open at once (more are closed on arrival). Each send queue
// holds at most send_queue_frames frames and send_queue_bytes bytes; send() fails with
// RESOURCE_EXHAUSTED beyond that (sends to this node itself included). Connections use TCP
// keepalive and a user timeout, so a peer that vanished without a reset is noticed in about
// half a minute. A reader yields after every 256 KiB, so one fast sender cannot starve the rest.
//
// Trust. The node id in a Hello is taken at its word: until mutual TLS arrives (security issue),
// anyone who can reach the port can claim any id. Run nodes on a trusted network.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <memory>
#include <string>

#include "core/runtime/channel.h"
#include "core/runtime/fiber_scope.h"
#include "core/runtime/runtime.h"
#include "core/runtime/service_table.h"
#include "net/connection_acceptor.h"
#include "net/epoll_loop.h"
#include "net/frame_codec.h"
#include "net/socket.h"

namespace cairn::net {

inline constexpr uint32_t kProtocolVersion = 1;

struct TransportStats {
  uint64_t frames_sent = 0;
  uint64_t frames_received = 0;
  AcceptCounters incoming;             // accepted, refused on arrival (max_incoming_connections), open
  uint64_t connections_established = 0;
  uint64_t connections_rejected = 0;   // closed for bad input (oversized or malformed frames, bad hello)
  uint64_t send_queue_full = 0;
  uint64_t handshakes_failed = 0;      // a dialed peer answered wrongly or not at all
};

class TcpTransport final : public Network {
 public:
  struct Options {
    NodeId self = 0;
    std::map<NodeId, std::string> peers;  // node id -> "host:port"
    std::size_t max_frame_bytes = limits::kMessageBytesMax;
    std::size_t send_queue_frames = 4096;
    std::size_t send_queue_bytes = 64 << 20;
    std::size_t max_incoming_connections = 1024;
    Duration handshake_timeout = seconds(5);
    Duration connect_timeout = seconds(2);
    Duration backoff_min = milliseconds(10);
    Duration backoff_max = seconds(2);
  };

  // Peer addresses are checked here; an invalid one is INVALID_ARGUMENT.
  static Result<std::unique_ptr<TcpTransport>> create(EpollLoop& loop, Runtime& runtime, Options options);
  ~TcpTransport() override;

  // Accepts connections on `address` ("127.0.0.1:0" picks a free port); returns the port.
  Result<uint16_t> listen(const std::string& address);

  // Dials every configured peer now rather than at the first message to it. A node that has
  // nothing to say yet (a new member waiting to be added) is then still reachable: its peers
  // answer over the connection it opened.
  void connect_to_peers();

  Status send(proto::Envelope envelope) override;
  // Dials `node` at `address` from now on (an address from the node registry or a redirect);
  // an unusable address is logged and ignored.
  void learn_address(NodeId node, const std::string& address) override;
  // The last failure to connect to `node`, while it is not connected.
  Status link_status(NodeId node) const override;
  Result<std::unique_ptr<ServiceBinding>> bind(ServiceId service, MessageHandler handler) override;

  const TransportStats& stats() const { return stats_; }

 private:
  class Connection;

  // Frames waiting to be written, bounded in count (by the channel) and in bytes.
  class FrameQueue {
   public:
    FrameQueue(std::size_t max_frames, std::size_t max_bytes) : frames_(max_frames), max_bytes_(max_bytes) {}
    Status try_push(std::string frame);
    Result<std::string> pop();
    std::optional<std::string> try_pop();

   private:
    Channel<std::string> frames_;
    std::size_t bytes_ = 0;
    std::size_t max_bytes_;
  };

  struct PeerLink {
    SocketAddress address;
    FrameQueue queue;
    bool connected = false;
    Status last_failure;  // why the last attempt to connect failed; OK once connected
    PeerLink(SocketAddress peer_address, std::size_t max_frames, std::size_t max_bytes)
        : address(std::move(peer_address)), queue(max_frames, max_bytes) {}
  };

  TcpTransport(EpollLoop& loop, Runtime& runtime, Options options, std::map<NodeId, SocketAddress> peers);
  void serve_incoming(Socket& socket);
  void run_peer_link(NodeId peer, PeerLink& link);
  void deliver(NodeId from, proto::Envelope&& envelope);
  PeerLink& peer_link(NodeId peer);

  EpollLoop* loop_;
  Runtime* runtime_;
  Options options_;
  std::map<NodeId, SocketAddress> peer_addresses_;
  ServiceTable services_;
  std::map<NodeId, std::unique_ptr<PeerLink>> links_;
  std::map<NodeId, FrameQueue*> incoming_routes_;
  std::set<TimerId> loopback_timers_;
  TransportStats stats_;
  FiberScope fibers_;  // last member: its fibers use everything above
};

}  // namespace cairn::net
