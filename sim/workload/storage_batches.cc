// Deterministic batches of the storage workload and their log encoding (see storage_batches.h).
#include "sim/workload/storage_batches.h"

#include <cstdio>

#include "core/runtime/random.h"
#include "storage/encoding/little_endian.h"

namespace cairn::sim {
namespace {

// After every key of the workload's key space ("key-...").
constexpr std::string_view kAppliedIndexKey = "\xff" "applied";

}  // namespace

StorageBatches::StorageBatches(uint64_t seed, NodeId node, const proto::StorageWorkload& config)
    : seed_(derive_seed(seed, node)), config_(config) {}

std::string StorageBatches::key(uint64_t number) const {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "key-%06llu", static_cast<unsigned long long>(number));
  return buffer;
}

storage::WriteBatch StorageBatches::batch(uint64_t index) const {
  Random random(derive_seed(seed_, index));
  storage::WriteBatch batch;
  batch.commit_timestamp = index;
  const uint64_t mutations = 1 + random.uniform(config_.max_mutations_per_batch());
  for (uint64_t i = 0; i < mutations; ++i) {
    std::string key_name = key(random.uniform(config_.keys()));
    if (random.chance(0.2)) {
      batch.remove(std::move(key_name));
      continue;
    }
    std::string value(random.uniform(uint64_t{config_.max_value_bytes()} + 1), '\0');
    for (char& byte : value) byte = static_cast<char>(random.next_u64());
    batch.put(std::move(key_name), std::move(value));
  }
  std::string applied;
  storage::append_u64(applied, index);
  batch.put(std::string(kAppliedIndexKey), std::move(applied));
  return batch;
}

Result<uint64_t> StorageBatches::applied_index(storage::KvStore& store) {
  CAIRN_ASSIGN_OR_RETURN(std::optional<std::string> applied, store.get(kAppliedIndexKey, storage::kMaxTimestamp));
  if (!applied) return uint64_t{0};
  if (applied->size() != 8) return Status::corruption("the applied index record is unreadable");
  return storage::load_u64(reinterpret_cast<const std::byte*>(applied->data()));
}

std::string StorageBatches::payload(uint64_t index) const {
  const storage::WriteBatch written = batch(index);
  std::string out;
  storage::append_u64(out, index);
  storage::append_u64(out, written.commit_timestamp);
  storage::append_u32(out, static_cast<uint32_t>(written.mutations.size()));
  for (const storage::KvMutation& mutation : written.mutations) {
    storage::append_u8(out, mutation.kind == storage::KvMutation::Kind::kPut ? 1 : 2);
    storage::append_u32(out, static_cast<uint32_t>(mutation.key.size()));
    out += mutation.key;
    storage::append_u32(out, static_cast<uint32_t>(mutation.value.size()));
    out += mutation.value;
  }
  return out;
}

}  // namespace cairn::sim
