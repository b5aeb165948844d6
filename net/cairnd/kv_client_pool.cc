// Lending key-value clients to concurrent requests (kv_client_pool.h).
#include "net/cairnd/kv_client_pool.h"

namespace cairn::net {

KvClientPool::Lease::~Lease() {
  if (client_ != nullptr) pool_->idle_.push_back(std::move(client_));
}

KvClientPool::KvClientPool(Runtime& runtime, Options options) : runtime_(&runtime), options_(std::move(options)) {
  CAIRN_ASSERT(options_.first_reply_service >= services::kFirstEphemeralService,
               "the pool's reply services must be ephemeral ones");
  CAIRN_ASSERT(options_.max_clients > 0, "a pool needs room for one client");
}

Result<KvClientPool::Lease> KvClientPool::acquire() {
  if (!idle_.empty()) {
    std::unique_ptr<kv::KvClient> client = std::move(idle_.back());
    idle_.pop_back();
    return Lease(this, std::move(client));
  }
  if (created_ >= options_.max_clients) {
    return Status::resource_exhausted("all " + std::to_string(options_.max_clients) + " forwarding clients are busy");
  }
  kv::KvClientOptions client_options = options_.client;
  client_options.reply_service = options_.first_reply_service + static_cast<ServiceId>(created_);
  client_options.client_id = 0;  // drawn at random: the state machine deduplicates per client
  CAIRN_ASSIGN_OR_RETURN(std::unique_ptr<kv::KvClient> client, kv::KvClient::create(*runtime_, client_options));
  ++created_;
  return Lease(this, std::move(client));
}

}  // namespace cairn::net
