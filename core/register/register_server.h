// RegisterServer: one replica of the replicated register (the multi-writer atomic register of
// Attiya, Bar-Noy and Dolev). It answers reads with its current value and stores a written
// value if it is newer, acknowledging only once the value is durable (register_store.h).
//
// Crash recovery: a node whose disk still holds valid state resumes from it. A node whose state
// may be lost — its register file is damaged, or missing although the cluster is not being
// created (its disk was replaced) — is *recovering*: it answers reads with recovering = true, so clients do not
// count it toward a read quorum, until it has read the value of a majority of the *other*
// replicas (none of them recovering) and stored the newest. A majority of the cluster that
// excludes this node still intersects every write quorum in a node that kept its state, so no
// acknowledged write is lost as long as fewer than a majority of replicas lose state at once.
// It goes on storing (and acknowledging) writes while it recovers: an acknowledgement only
// promises durability.
#pragma once

#include <memory>
#include <vector>

#include "core/register/register_store.h"
#include "core/runtime/event.h"
#include "core/runtime/mutex.h"
#include "core/runtime/rpc.h"
#include "core/runtime/runtime.h"

namespace cairn {

class RegisterServer {
 public:
  struct Options {
    std::vector<NodeId> replicas;        // every replica of the register, this node included
    // True only while the cluster is being created: then a missing register file means a new,
    // empty register. Otherwise a missing file means this node lost its disk and must rebuild.
    bool bootstrap = false;
    Duration recovery_round_timeout = milliseconds(500);
    Duration recovery_retry_delay = milliseconds(200);
  };

  RegisterServer(Runtime& runtime, Options options);
  ~RegisterServer();

  // Loads (or rebuilds) state and starts serving. Returns once requests are being served; a
  // recovery, if needed, goes on in the background.
  Status start();

  bool recovering() const { return store_.recovering(); }
  const proto::RegisterValue& current() const { return store_.current(); }

 private:
  Result<proto::RegisterReadReply> handle_read(const RpcContext& context, const proto::RegisterReadRequest& request);
  Result<proto::RegisterWriteReply> handle_write(const RpcContext& context, const proto::RegisterWriteRequest& request);
  void recover();
  bool recover_once();
  Status store_if_newer(const proto::RegisterValue& value);
  Status finish_recovery(const proto::RegisterValue& newest);

  Runtime* runtime_;
  Options options_;
  RegisterStore store_;
  Mutex store_mutex_;   // one store() at a time: it blocks on the disk
  std::unique_ptr<RpcClient> peers_;
  std::unique_ptr<RpcServer> server_;
  FiberScope recovery_fibers_;
};

}  // namespace cairn
