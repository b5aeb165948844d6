// The network as the core sees it: send a message to a node, receive the messages addressed to
// one of this node's services. Delivery is not guaranteed (the simulator drops, duplicates,
// delays and reorders messages; real TCP connections break), so every protocol above this
// layer is built to tolerate loss; rpc.h adds request/response with timeouts.
//
// Implementations: sim/sim_network (simulated links with faults) and net/tcp_transport (real TCP
// with length-prefixed protobuf frames). Both parse every message they deliver from bytes.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "core/proto/envelope.pb.h"
#include "core/runtime/status.h"

namespace cairn {

using NodeId = uint64_t;
using ServiceId = uint32_t;

// Called for every message that arrives for a bound service. It runs on the event loop or on a
// transport fiber and must not block: hand the message to a fiber (a Mailbox, a Promise) instead.
using MessageHandler = std::function<void(proto::Envelope&& envelope)>;

// Keeps a service bound; destroying it unbinds the service.
class ServiceBinding {
 public:
  virtual ~ServiceBinding() = default;
};

class Network {
 public:
  virtual ~Network() = default;

  // Queues `envelope` for delivery to envelope.destination() and returns at once. The source
  // field is set to this node. Errors are local only (unknown destination, message too large,
  // send queue full); success does not mean the message will arrive.
  virtual Status send(proto::Envelope envelope) = 0;

  // Routes messages for `service` on this node to `handler` until the binding is destroyed.
  // Fails with ALREADY_EXISTS if the service is bound already.
  virtual Result<std::unique_ptr<ServiceBinding>> bind(ServiceId service, MessageHandler handler) = 0;

  // Where `node` can be reached (HOST:PORT), learned from the cluster's node registry or from a
  // redirect; later messages to it dial there. Transports that route by node id (the simulator)
  // have nothing to learn.
  virtual void learn_address(NodeId node, const std::string& address) {
    (void)node;
    (void)address;
  }

  // Why `node` cannot be reached right now, as far as the transport knows (a refused or failed
  // connection); OK when it is connected or nothing is known. Used to say more than "timed out".
  virtual Status link_status(NodeId node) const {
    (void)node;
    return Status{};
  }
};

// Well-known service ids. Clients pick their own reply services above kFirstEphemeralService.
namespace services {
inline constexpr ServiceId kRegister = 10;
inline constexpr ServiceId kRaft = 11;        // Raft messages and snapshot chunks, every group
inline constexpr ServiceId kKeyValue = 12;    // the replicated key-value service's clients
inline constexpr ServiceId kNodeRegistration = 13;  // replies to a node's registration of itself
inline constexpr ServiceId kClock = 14;             // clock pings between nodes (clock_offset_monitor.h)
inline constexpr ServiceId kClockReplies = 15;      // their answers
inline constexpr ServiceId kFirstEphemeralService = 1000;
}  // namespace services

}  // namespace cairn
