// KvService: the replicated key-value store's server side — the client RPCs (write, read, scan)
// of every group a node hosts. Writes go through Raft on the leader (other replicas answer with
// a redirect naming the leader they know of). Reads follow the requested consistency:
//   linearizable  ReadIndex, on any replica (a follower asks the leader for the index, then
//                 waits until it has applied that far);
//   lease         on the leader only, from its lease when valid, else ReadIndex;
//   stale         the replica's applied state as it is, reporting the index it reflects.
// Administration (membership changes, leadership transfer) goes to the leader as well; any
// replica reports its own status.
#pragma once

#include <array>
#include <functional>
#include <memory>
#include <string_view>

#include "core/kv/clock_offset_monitor.h"
#include "core/kv/kv_state_machine.h"
#include "core/proto/kv.pb.h"
#include "core/node/range_replica.h"
#include "core/runtime/rpc.h"

namespace cairn::kv {

// A group's replica and its state machine (owned by the replica, alive while it is).
struct KvGroup {
  std::shared_ptr<node::RangeReplica> replica = nullptr;
  KvStateMachine* state_machine = nullptr;
};

struct KvServiceOptions {
  Duration request_timeout = seconds(2);  // how long a request may wait on Raft
  std::size_t max_concurrent_requests = 1024;
  uint32_t default_scan_limit = 1000;
  // A scan reply holds at most this many bytes of keys and values (one row at least) and says
  // where to resume (KvScanReply.resume_key).
  std::size_t scan_reply_bytes_max = limits::kScanReplyBytesMax;
};

class KvService {
 public:
  // `find_group` returns the group's replica and state machine (null replica: not hosted here,
  // or stopped).
  // `clock` (the node's, outliving the service) gives each write its timestamp. While
  // `clock_monitor` (if any) finds this node's clock out of line, client requests but status are
  // refused as UNAVAILABLE (clients then ask another node).
  KvService(Runtime& runtime, HybridClock& clock, std::function<KvGroup(uint64_t group)> find_group,
            KvServiceOptions options = {}, const ClockOffsetMonitor* clock_monitor = nullptr);
  Status start();

 private:
  // Requests as the metrics name them (label `op`); a write is named by its command's operation.
  enum class Operation : std::size_t {
    kPut,
    kDelete,
    kCompareAndSet,
    kRegisterNode,
    kWriteWithoutOperation,  // refused as INVALID_ARGUMENT
    kGet,
    kScan,
    kChangeMembership,
    kTransferLeadership,
    kStatus,
  };
  static constexpr std::size_t kOperationCount = 10;
  // Looked up once per operation; the registry keeps them beyond this service's life.
  struct OperationMetrics {
    std::string_view name;
    metrics::Histogram* seconds = nullptr;
    metrics::Counter* redirects = nullptr;
  };
  static Operation write_operation(const proto::KvWriteRequest& request);
  // Runs `handle` and records its latency and its outcome (error code or redirect) under `operation`.
  template <typename Reply, typename Handler>
  Result<Reply> measured(Operation operation, Handler handle);
  void record(Operation operation, MonotonicTime started, const Status& status, bool redirected);

  Result<proto::KvWriteReply> write(const proto::KvWriteRequest& request);
  Result<proto::KvReadReply> read(const proto::KvReadRequest& request);
  Result<proto::KvScanReply> scan(const proto::KvScanRequest& request);
  Result<proto::KvMembershipReply> change_membership(const proto::KvMembershipRequest& request);
  Result<proto::KvTransferLeadershipReply> transfer_leadership(const proto::KvTransferLeadershipRequest& request);
  Result<proto::KvStatusReply> status(const proto::KvStatusRequest& request);
  // Waits until a read of `group` at `consistency` may be served here; returns the redirect to
  // send instead, if any.
  Result<std::optional<proto::KvRedirect>> prepare_read(const KvGroup& group, proto::ReadConsistency consistency);
  Result<KvGroup> group(uint64_t id);
  // group(), refused with FAILED_PRECONDITION when this node was removed from the group.
  Result<KvGroup> member_group(uint64_t id);

  Runtime* runtime_;
  HybridClock* clock_;
  const ClockOffsetMonitor* clock_monitor_;
  std::function<KvGroup(uint64_t)> find_group_;
  KvServiceOptions options_;
  std::array<OperationMetrics, kOperationCount> operation_metrics_;
  RpcServer server_;
};

}  // namespace cairn::kv
