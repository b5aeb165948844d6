// The batches the storage workload writes: a pure function of (seed, node, log index), so the
// workload can regenerate what any index must hold — after a crash, in a checker — without
// keeping a copy, and a byte encoding of them for the write-ahead log.
#pragma once

#include <cstdint>
#include <string>

#include "core/proto/scenario.pb.h"
#include "core/runtime/network.h"
#include "storage/kv/kv_store.h"

namespace cairn::sim {

class StorageBatches {
 public:
  StorageBatches(uint64_t seed, NodeId node, const proto::StorageWorkload& config);

  // The batch at log `index` (>= 1): it commits at timestamp `index`, and records `index` under
  // kAppliedIndexKey, as a range records its applied index beside its data.
  storage::WriteBatch batch(uint64_t index) const;
  // The index of the last batch `store` holds (0 for none).
  static Result<uint64_t> applied_index(storage::KvStore& store);
  // What the log record for `index` holds.
  std::string payload(uint64_t index) const;
  // A key of the workload's key space, by number.
  std::string key(uint64_t number) const;

 private:
  uint64_t seed_;
  proto::StorageWorkload config_;
};

}  // namespace cairn::sim
