// Envelopes over TCP with handshakes, limits and reconnection (see tcp_transport.h).
#include "net/tcp_transport.h"

#include "core/runtime/event.h"
#include "core/runtime/message.h"
#include "core/runtime/timeout.h"

namespace cairn::net {

// One established connection: a reader fiber decoding frames into deliveries and a writer
// fiber draining a queue into the socket. serve() returns when either fails.
class TcpTransport::Connection {
 public:
  Connection(TcpTransport& transport, Socket socket, std::string description)
      : transport_(&transport),
        socket_(std::move(socket)),
        description_(std::move(description)),
        decoder_(transport.options_.max_frame_bytes) {}

  NodeId remote() const { return remote_; }

  // Exchanges Hellos. `expected` is the node we dialed (0 for an incoming connection).
  Status handshake(NodeId expected) {
    proto::Hello hello;
    hello.set_node_id(transport_->options_.self);
    hello.set_protocol_version(kProtocolVersion);
    proto::Envelope envelope;
    pack_payload(hello, envelope);
    std::string frame;
    encode_frame(envelope, frame);
    CAIRN_RETURN_IF_ERROR(socket_.write_all(frame));
    // A Hello is a few bytes: anything bigger is refused before it is buffered.
    FrameDecoder hello_decoder(kMaxHelloBytes);
    Result<proto::Envelope> first = with_timeout(*transport_->runtime_, transport_->options_.handshake_timeout,
                                                 [&] { return read_frame(hello_decoder); });
    if (!first.ok()) return first.status().with_context("handshake with " + description_);
    decoder_.feed(hello_decoder.take_buffered());  // frames that came right behind the Hello
    proto::Hello theirs;
    if (Status unpacked = unpack_payload(*first, theirs); !unpacked.ok()) {
      return Status::invalid_argument("the first frame from " + description_ + " is not a Hello: " + unpacked.message());
    }
    if (theirs.protocol_version() != kProtocolVersion) {
      return Status::invalid_argument(description_ + " speaks protocol version " +
                                      std::to_string(theirs.protocol_version()) + ", this node " +
                                      std::to_string(kProtocolVersion));
    }
    if (theirs.node_id() == 0) return Status::invalid_argument(description_ + " sent a Hello without a node id");
    if (expected != 0 && theirs.node_id() != expected) {
      return Status::invalid_argument(description_ + " is node " + std::to_string(theirs.node_id()) +
                                      ", expected node " + std::to_string(expected));
    }
    remote_ = theirs.node_id();
    return {};
  }

  Status serve(FrameQueue& queue) {
    Event broken;
    Status failure;
    FiberScope fibers(transport_->runtime_->process());  // declared last: ends before the above
    fibers.spawn("tcp-reader", [&] {
      failure = read_loop();
      broken.set();
    });
    fibers.spawn("tcp-writer", [&] {
      Status written = write_loop(queue);
      if (failure.ok()) failure = written;
      broken.set();
    });
    broken.wait();
    return failure;
  }

 private:
  static constexpr std::size_t kMaxHelloBytes = 4096;

  Result<proto::Envelope> read_frame(FrameDecoder& decoder) {
    while (true) {
      Result<std::optional<proto::Envelope>> frame = decoder.next();
      if (!frame.ok()) return frame.status();
      if (frame->has_value()) return std::move(**frame);
      CAIRN_RETURN_IF_ERROR(fill(decoder));
    }
  }

  Status fill(FrameDecoder& decoder) {
    constexpr std::size_t kChunk = 64 * 1024;
    if (buffer_.size() < kChunk) buffer_.resize(kChunk);
    CAIRN_ASSIGN_OR_RETURN(std::size_t received, socket_.read_some(buffer_.data(), buffer_.size()));
    if (received == 0) return Status::closed(description_ + " closed the connection");
    decoder.feed(std::string_view(buffer_.data(), received));
    read_since_yield_ += received;
    return {};
  }

  Status read_loop() {
    constexpr std::size_t kYieldEveryBytes = 256 * 1024;
    while (true) {
      Result<proto::Envelope> frame = read_frame(decoder_);
      if (!frame.ok()) return frame.status();
      ++transport_->stats_.frames_received;
      transport_->deliver(remote_, std::move(*frame));
      if (read_since_yield_ >= kYieldEveryBytes) {
        read_since_yield_ = 0;
        Scheduler::current()->yield();  // let other fibers, timers and sockets have a turn
      }
    }
  }

  Status write_loop(FrameQueue& queue) {
    constexpr std::size_t kBatchBytes = 256 * 1024;
    while (true) {
      Result<std::string> frame = queue.pop();
      if (!frame.ok()) return frame.status();
      std::string batch = std::move(*frame);
      std::size_t frames = 1;
      while (batch.size() < kBatchBytes) {
        std::optional<std::string> more = queue.try_pop();
        if (!more) break;
        batch += *more;
        ++frames;
      }
      CAIRN_RETURN_IF_ERROR(socket_.write_all(batch));
      transport_->stats_.frames_sent += frames;
    }
  }

  TcpTransport* transport_;
  Socket socket_;
  std::string description_;
  FrameDecoder decoder_;
  std::string buffer_;
  std::size_t read_since_yield_ = 0;
  NodeId remote_ = 0;
};

Status TcpTransport::FrameQueue::try_push(std::string frame) {
  if (bytes_ + frame.size() > max_bytes_) return Status::resource_exhausted("send queue byte budget exhausted");
  const std::size_t size = frame.size();
  CAIRN_RETURN_IF_ERROR(frames_.try_send(std::move(frame)));
  bytes_ += size;
  return {};
}

Result<std::string> TcpTransport::FrameQueue::pop() {
  Result<std::string> frame = frames_.receive();
  if (frame.ok()) bytes_ -= frame->size();
  return frame;
}

std::optional<std::string> TcpTransport::FrameQueue::try_pop() {
  std::optional<std::string> frame = frames_.try_receive();
  if (frame) bytes_ -= frame->size();
  return frame;
}

Result<std::unique_ptr<TcpTransport>> TcpTransport::create(EpollLoop& loop, Runtime& runtime, Options options) {
  if (options.self == 0) return Status::invalid_argument("the node id must not be 0");
  std::map<NodeId, SocketAddress> peers;
  for (const auto& [id, text] : options.peers) {
    if (id == 0) return Status::invalid_argument("peer node ids must not be 0");
    Result<SocketAddress> address = parse_socket_address(text);
    if (!address.ok()) return address.status().with_context("peer " + std::to_string(id));
    peers.emplace(id, *address);
  }
  return std::unique_ptr<TcpTransport>(new TcpTransport(loop, runtime, std::move(options), std::move(peers)));
}

TcpTransport::TcpTransport(EpollLoop& loop, Runtime& runtime, Options options, std::map<NodeId, SocketAddress> peers)
    : loop_(&loop),
      runtime_(&runtime),
      options_(std::move(options)),
      peer_addresses_(std::move(peers)),
      fibers_(runtime.process()) {}

TcpTransport::~TcpTransport() {
  for (TimerId id : loopback_timers_) loop_->cancel_timer(id);
  fibers_.cancel();
}

Result<uint16_t> TcpTransport::listen(const std::string& text) {
  return listen_and_accept(*loop_, *runtime_, fibers_, text,
                           AcceptOptions{.component = "tcp", .max_open = options_.max_incoming_connections},
                           stats_.incoming, [this](Socket& socket) { serve_incoming(socket); });
}

void TcpTransport::serve_incoming(Socket& socket) {
  Connection connection(*this, std::move(socket), "incoming connection");
  Status handshake = connection.handshake(0);
  if (!handshake.ok()) {
    ++stats_.connections_rejected;
    runtime_->logger().log(LogLevel::kWarning, "tcp", "closing connection", {{"error", handshake.to_string()}});
    return;
  }
  const NodeId remote = connection.remote();
  FrameQueue queue(options_.send_queue_frames, options_.send_queue_bytes);
  incoming_routes_[remote] = &queue;
  struct RouteGuard {
    TcpTransport* transport;
    NodeId remote;
    FrameQueue* queue;
    ~RouteGuard() {
      auto it = transport->incoming_routes_.find(remote);
      if (it != transport->incoming_routes_.end() && it->second == queue) transport->incoming_routes_.erase(it);
    }
  } guard{this, remote, &queue};
  Status ended = connection.serve(queue);
  const bool bad_input = ended.code() == StatusCode::kInvalidArgument;
  if (bad_input) ++stats_.connections_rejected;
  // A peer going away is news for the operator; a client hanging up after its command is not.
  const LogLevel level = bad_input ? LogLevel::kWarning : peer_addresses_.contains(remote) ? LogLevel::kInfo : LogLevel::kDebug;
  runtime_->logger().log(level, "tcp", "connection closed", {{"peer", remote}, {"reason", ended.to_string()}});
}

void TcpTransport::run_peer_link(NodeId peer, PeerLink& link) {
  Duration backoff = options_.backoff_min;
  std::string logged_failure;  // the failure last logged at warning: repeats go to debug
  while (true) {
    const std::string description = "node " + std::to_string(peer) + " at " + link.address.to_string();
    Result<Socket> socket = connect_tcp(*loop_, *runtime_, link.address, options_.connect_timeout);
    if (socket.ok()) {
      Connection connection(*this, std::move(*socket), description);
      Status handshake = connection.handshake(peer);
      if (handshake.ok()) {
        ++stats_.connections_established;
        backoff = options_.backoff_min;
        link.connected = true;
        link.last_failure = Status{};
        logged_failure.clear();
        runtime_->logger().log(LogLevel::kInfo, "tcp", "connected", {{"peer", peer}, {"address", link.address.to_string()}});
        Status ended = connection.serve(link.queue);
        link.connected = false;
        runtime_->logger().log(LogLevel::kInfo, "tcp", "connection lost", {{"peer", peer}, {"reason", ended.to_string()}});
        continue;
      }
      ++stats_.handshakes_failed;
      link.last_failure = Status::unavailable("handshake with " + description + " failed: " + handshake.message());
    } else {
      link.last_failure = Status::unavailable("cannot connect to " + description + ": " + socket.status().message());
    }
    // The first failure of a run is the operator's news; the redials that follow are not.
    const bool news = link.last_failure.message() != logged_failure;
    runtime_->logger().log(news ? LogLevel::kWarning : LogLevel::kDebug, "tcp", "cannot reach peer",
                           {{"peer", peer}, {"error", link.last_failure.message()}, {"retry_in_ms", static_cast<int64_t>(to_milliseconds(backoff))}});
    logged_failure = link.last_failure.message();
    const int64_t jitter = static_cast<int64_t>(runtime_->random().uniform(static_cast<uint64_t>(backoff.count() / 2 + 1)));
    runtime_->sleep(backoff + Duration{jitter});
    backoff = std::min(backoff * 2, options_.backoff_max);
  }
}

Status TcpTransport::link_status(NodeId node) const {
  auto link = links_.find(node);
  if (link == links_.end() || link->second->connected) return Status{};
  return link->second->last_failure;
}

void TcpTransport::learn_address(NodeId node, const std::string& address) {
  if (node == options_.self) return;
  Result<SocketAddress> parsed = parse_socket_address(address);
  if (!parsed.ok()) {
    runtime_->logger().log(LogLevel::kWarning, "tcp", "ignoring an unusable address",
                           {{"peer", node}, {"address", address}, {"error", parsed.status().to_string()}});
    return;
  }
  auto known = peer_addresses_.find(node);
  if (known != peer_addresses_.end() && known->second.to_string() == parsed->to_string()) return;
  peer_addresses_[node] = *parsed;
  // A link that exists dials the new address from its next attempt on.
  if (auto link = links_.find(node); link != links_.end()) link->second->address = *parsed;
  runtime_->logger().log(LogLevel::kInfo, "tcp", "learned the address of a node", {{"peer", node}, {"address", parsed->to_string()}});
}

TcpTransport::PeerLink& TcpTransport::peer_link(NodeId peer) {
  auto it = links_.find(peer);
  if (it != links_.end()) return *it->second;
  auto link = std::make_unique<PeerLink>(peer_addresses_.at(peer), options_.send_queue_frames, options_.send_queue_bytes);
  PeerLink& added = *link;
  links_.emplace(peer, std::move(link));
  fibers_.spawn("tcp-link-" + std::to_string(peer), [this, peer, &added] { run_peer_link(peer, added); });
  return added;
}

void TcpTransport::connect_to_peers() {
  for (const auto& [peer, address] : peer_addresses_) peer_link(peer);
}

Status TcpTransport::send(proto::Envelope envelope) {
  const NodeId to = envelope.destination();
  envelope.set_source(options_.self);
  std::string frame;
  encode_frame(envelope, frame);
  if (frame.size() - kFrameHeaderBytes > options_.max_frame_bytes) {
    return Status::invalid_argument("message of " + std::to_string(frame.size() - kFrameHeaderBytes) +
                                    " bytes exceeds the frame limit of " + std::to_string(options_.max_frame_bytes));
  }
  if (to == options_.self) {
    if (loopback_timers_.size() >= options_.send_queue_frames) {
      ++stats_.send_queue_full;
      return Status::resource_exhausted("too many messages to this node itself are waiting");
    }
    // Loopback, delivered from the loop so that a handler never runs inside send().
    auto shared = std::make_shared<proto::Envelope>(std::move(envelope));
    auto id = std::make_shared<TimerId>(0);
    *id = loop_->add_timer(Duration::zero(), [this, shared, id] {
      loopback_timers_.erase(*id);
      deliver(options_.self, std::move(*shared));
    });
    loopback_timers_.insert(*id);
    return {};
  }
  FrameQueue* queue = nullptr;
  if (peer_addresses_.count(to) != 0) {
    PeerLink& link = peer_link(to);
    // While the last attempt to connect failed, a send fails at once with why, rather than wait
    // in the queue for a connection that may never come (the caller can try elsewhere).
    if (!link.connected && !link.last_failure.ok()) return link.last_failure;
    queue = &link.queue;
  } else if (auto route = incoming_routes_.find(to); route != incoming_routes_.end()) {
    queue = route->second;
  } else {
    return Status::unavailable("no route to node " + std::to_string(to) + ": not a configured peer and not connected");
  }
  Status queued = queue->try_push(std::move(frame));
  if (!queued.ok()) {
    ++stats_.send_queue_full;
    return Status::resource_exhausted("send queue to node " + std::to_string(to) + " is full");
  }
  return {};
}

Result<std::unique_ptr<ServiceBinding>> TcpTransport::bind(ServiceId service, MessageHandler handler) {
  return services_.bind(service, std::move(handler));
}

void TcpTransport::deliver(NodeId from, proto::Envelope&& envelope) {
  // The node id the connection's Hello gave, not whatever the envelope claims (see "Trust" in
  // tcp_transport.h: the Hello itself is not authenticated yet).
  envelope.set_source(from);
  if (envelope.destination() != options_.self) {
    runtime_->logger().log(LogLevel::kDebug, "tcp", "dropping a message for another node",
                           {{"destination", envelope.destination()}, {"from", from}});
    return;
  }
  Status dispatched = services_.dispatch(std::move(envelope));
  if (!dispatched.ok()) {
    runtime_->logger().log(LogLevel::kDebug, "tcp", "dropping a message", {{"reason", dispatched.to_string()}, {"from", from}});
  }
}

}  // namespace cairn::net
