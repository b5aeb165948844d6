// Bounded service inboxes (see mailbox.h).
#include "core/runtime/mailbox.h"

namespace cairn {

Result<std::unique_ptr<Mailbox>> Mailbox::create(Network& network, ServiceId service, std::size_t capacity) {
  std::unique_ptr<Mailbox> mailbox(new Mailbox(capacity));
  Mailbox* raw = mailbox.get();
  CAIRN_ASSIGN_OR_RETURN(raw->binding_, network.bind(service, [raw](proto::Envelope&& envelope) {
                           if (!raw->channel_.try_send(std::move(envelope)).ok()) ++raw->dropped_;
                         }));
  return mailbox;
}

// Unbind first so that nothing is delivered into a channel being destroyed. Fibers must not be
// waiting on the mailbox any more (its owner's FiberScope has ended them); the channel asserts it.
Mailbox::~Mailbox() { binding_.reset(); }

}  // namespace cairn
