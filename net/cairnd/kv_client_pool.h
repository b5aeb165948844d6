// KvClientPool: the key-value clients cairnd's HTTP gateway forwards requests through. A
// KvClient runs one operation at a time, so each request in flight borrows a client of its own
// (with its own reply service and client id) and returns it when done; an idle client keeps the
// leader it learned, so the next request goes straight there.
//
// Limit: at most `max_clients` exist at once (each binds a reply service); a request that finds
// none idle and the limit reached gets RESOURCE_EXHAUSTED rather than waiting without bound.
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

#include "core/kv/kv_client.h"

namespace cairn::net {

class KvClientPool {
 public:
  struct Options {
    kv::KvClientOptions client;          // servers and timeouts; reply_service and client_id are per client
    ServiceId first_reply_service = 0;   // clients bind first_reply_service, +1, ...
    std::size_t max_clients = 1024;
  };

  // A borrowed client, returned to the pool when destroyed.
  class Lease {
   public:
    Lease(KvClientPool* pool, std::unique_ptr<kv::KvClient> client) : pool_(pool), client_(std::move(client)) {}
    Lease(Lease&&) = default;
    Lease& operator=(Lease&&) = delete;
    ~Lease();
    kv::KvClient& operator*() const { return *client_; }
    kv::KvClient* operator->() const { return client_.get(); }

   private:
    KvClientPool* pool_;
    std::unique_ptr<kv::KvClient> client_;
  };

  KvClientPool(Runtime& runtime, Options options);

  Result<Lease> acquire();

  std::size_t clients_created() const { return created_; }
  std::size_t idle_clients() const { return idle_.size(); }

 private:
  Runtime* runtime_;
  Options options_;
  std::vector<std::unique_ptr<kv::KvClient>> idle_;
  std::size_t created_ = 0;
};

}  // namespace cairn::net
