// RegisterClient: reads and writes the replicated register (ABD). Each operation has two
// phases, each of which must reach a majority of the replicas:
//   read:  query -> the newest value among a majority of non-recovering replicas;
//          write-back -> store it on a majority (skipped when the majority already agreed),
//          so a later read can never return something older;
//   write: query -> the newest (sequence, writer) among a majority; then store
//          (sequence + 1, this writer, data) on a majority.
// Requests lost by the network are resent in rounds until the operation's deadline.
//
// Outcomes: OK; FAILED when nothing can have changed (the query phase did not finish); UNKNOWN
// when the write phase started but no majority confirmed in time (the value may or may not
// take effect). Checkers treat UNKNOWN writes as possibly applied.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/proto/register.pb.h"
#include "core/runtime/rpc.h"
#include "core/runtime/runtime.h"

namespace cairn {

enum class OperationOutcome { kOk, kFailed, kUnknown };

struct RegisterResult {
  OperationOutcome outcome = OperationOutcome::kFailed;
  proto::RegisterValue value;  // read: the value read; write: the value written (with its version)
  Status error;                // why, when not kOk
};

class RegisterClient {
 public:
  struct Options {
    std::vector<NodeId> replicas;
    // Part of every version this client writes, so it must be unique per client instance: a
    // client that restarts (and so forgets the sequences it used) must come back with a new id.
    uint64_t writer_id = 0;
    ServiceId reply_service = services::kFirstEphemeralService;
    Duration round_timeout = milliseconds(100);  // per round of requests before resending
    // Quorum sizes (N/R/W in Dynamo's terms); 0 means a majority. The register is linearizable
    // only when read_quorum + write_quorum > N; smaller quorums exist to show what breaks.
    std::size_t read_quorum = 0;
    std::size_t write_quorum = 0;
  };

  static Result<std::unique_ptr<RegisterClient>> create(Runtime& runtime, Options options);

  RegisterResult read(Duration deadline);
  RegisterResult write(std::string data, Duration deadline);

 private:
  RegisterClient(Runtime& runtime, Options options, std::unique_ptr<RpcClient> rpc);

  struct QueryOutcome {
    bool reached_majority = false;
    bool majority_agreed = false;   // every counted reply had the same version
    proto::RegisterValue newest;
    Status error;
  };
  // Phase 1: the newest value among a majority of non-recovering replicas.
  QueryOutcome query(MonotonicTime deadline);
  // Phase 2: `value` stored on a majority. Returns OK, or the reason it did not get there.
  Status store(const proto::RegisterValue& value, MonotonicTime deadline);
  std::size_t majority() const { return options_.replicas.size() / 2 + 1; }
  std::size_t read_quorum() const { return options_.read_quorum > 0 ? options_.read_quorum : majority(); }
  std::size_t write_quorum() const { return options_.write_quorum > 0 ? options_.write_quorum : majority(); }

  Runtime* runtime_;
  Options options_;
  std::unique_ptr<RpcClient> rpc_;
  // The last sequence this client wrote under. A write whose outcome was unknown may be stored
  // on some replicas without the next query seeing it; reusing its version for other data would
  // give one version two values.
  uint64_t last_sequence_ = 0;
};

}  // namespace cairn
