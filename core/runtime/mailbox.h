// Mailbox: a service endpoint whose messages queue up for a fiber to receive. The queue is
// bounded; a message that arrives while it is full is dropped and counted, as a real network
// stack drops what it cannot buffer. Protocols above must tolerate that like any other loss.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "core/runtime/channel.h"
#include "core/runtime/network.h"

namespace cairn {

class Mailbox {
 public:
  static Result<std::unique_ptr<Mailbox>> create(Network& network, ServiceId service, std::size_t capacity);
  ~Mailbox();

  // Blocks until a message arrives.
  Result<proto::Envelope> receive() { return channel_.receive(); }
  std::uint64_t dropped() const { return dropped_; }
  std::size_t queued() const { return channel_.size(); }

 private:
  explicit Mailbox(std::size_t capacity) : channel_(capacity) {}

  Channel<proto::Envelope> channel_;
  std::uint64_t dropped_ = 0;
  std::unique_ptr<ServiceBinding> binding_;
};

}  // namespace cairn
