// The Store's inbox: everything that reaches a node's Store loop (store.h) from other fibers —
// Raft messages and snapshot chunks from the network, client requests for a range, the ticker's
// wake-ups, snapshot stream checks, and the applier's wake-ups — in one bounded channel, so
// that the loop handles whatever is queued before it gathers the next ready batches.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <variant>

#include "core/proto/kv.pb.h"
#include "core/proto/raft.pb.h"
#include "core/raft/raft.h"
#include "core/runtime/channel.h"
#include "core/runtime/future.h"
#include "core/runtime/network.h"

namespace cairn::node {

using RangeId = uint64_t;

struct ProposalOutcome {
  uint64_t index = 0;
  uint64_t term = 0;
  std::string result;  // the state machine's result for the entry
};

struct ProposeRequest {
  RangeId range = 0;
  std::string data;
  bool membership = false;
  std::shared_ptr<Promise<ProposalOutcome>> promise;
};

struct ReadRequest {
  RangeId range = 0;
  raft::ReadMode mode = raft::ReadMode::kReadIndex;
  std::shared_ptr<Promise<uint64_t>> promise;
};

struct TransferRequest {
  RangeId range = 0;
  NodeId target = 0;
  std::shared_ptr<Promise<bool>> promise;
};

// Only a wake-up: the loop counts ticks from the node's clock, so a full inbox loses no time.
struct TickEvent {};

// A snapshot stream's time is up: if the follower still waits for that snapshot, it failed.
struct SnapshotCheck {
  RangeId range = 0;
  NodeId follower = 0;
  uint64_t index = 0;
};

// The applier left reports (applied entries, exported snapshots, syncs) for the loop.
struct ApplierWake {};

using StoreEvent = std::variant<proto::RaftMessage, proto::RaftSnapshotChunk, ProposeRequest, ReadRequest,
                                TransferRequest, TickEvent, SnapshotCheck, ApplierWake>;
using StoreInbox = Channel<StoreEvent>;

}  // namespace cairn::node
