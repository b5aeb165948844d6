// KvClient: a client of the replicated key-value store. It finds the leader (following
// redirects, trying each server in turn when none is known), retries with exponential backoff
// and jitter while no leader can serve it, and gives every write one request id for all its
// retries, so a retry after an unknown outcome is never applied twice (the state machine
// deduplicates, kv_state_machine.h). One operation at a time per client.
//
// Outcomes: OK; a definite failure (INVALID_ARGUMENT, a failed compare-and-set is OK with
// succeeded = false); or TIMEOUT when the deadline passed without an answer, in which case a
// write may or may not have taken effect.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/proto/kv.pb.h"
#include "core/runtime/rpc.h"

namespace cairn::kv {

struct KvClientOptions {
  std::vector<NodeId> servers;
  uint64_t group = 1;
  uint64_t client_id = 0;                      // 0: drawn at random
  ServiceId reply_service = services::kFirstEphemeralService;
  Duration attempt_timeout = milliseconds(500);  // the first attempt's; each timed-out attempt doubles it
  Duration min_backoff = milliseconds(10);
  Duration max_backoff = milliseconds(500);
  // Whether a redirect to a leader this client was not given teaches its transport where that
  // leader listens (the redirect names it, from the node registry): a client outside the cluster
  // (cairn) learns the client address; a node's own clients learn the peer address, which is
  // the one its transport must keep for that node (a joining node knows only its seeds).
  enum class LearnAddresses { kNone, kPeer, kClient };
  LearnAddresses learn_addresses = LearnAddresses::kNone;
};

class KvClient {
 public:
  static Result<std::unique_ptr<KvClient>> create(Runtime& runtime, KvClientOptions options);

  // Writes return the whole reply: the command's result and the log position it was applied at.
  Result<proto::KvWriteReply> put(std::string key, std::string value, Duration deadline);
  Result<proto::KvWriteReply> remove(std::string key, Duration deadline);
  Result<proto::KvWriteReply> compare_and_set(proto::KvCompareAndSet operation, Duration deadline);
  // Writes a node's record into the node registry (node_registry.h).
  Result<proto::KvWriteReply> register_node(proto::NodeDescriptor descriptor, Duration deadline);
  Result<std::optional<std::string>> get(std::string key, proto::ReadConsistency consistency, Duration deadline);
  // Up to `limit` entries of [start, end) (0: one page of the server's default size), fetched
  // page by page at the first page's timestamp: one consistent snapshot, however many pages.
  Result<std::vector<proto::KvEntry>> scan(std::string start, std::string end, uint32_t limit,
                                           proto::ReadConsistency consistency, Duration deadline);

  // Administration, sent to the leader.
  Result<proto::KvMembershipReply> change_membership(const proto::RaftMembershipChange& change, Duration deadline);
  Status transfer_leadership(NodeId target, Duration deadline);
  // What `server` knows of its replica of the group (one attempt, no redirect).
  Result<proto::KvStatusReply> status(NodeId server, Duration deadline);
  // The same question to every one of `servers` at once: a dead node costs one `deadline` in all,
  // not one each. Every server gets an entry, its reply or why there is none.
  std::map<NodeId, Result<proto::KvStatusReply>> status_of(const std::vector<NodeId>& servers, Duration deadline);

  uint64_t client_id() const { return options_.client_id; }
  // The request id of the latest write (deduplication's key, with the client id).
  uint64_t last_request_id() const { return next_request_id_ - 1; }
  NodeId leader_hint() const { return leader_hint_; }
  // Adds a server to try (a member found through another's status or a redirect).
  void add_server(NodeId server);
  const std::vector<NodeId>& servers() const { return options_.servers; }
  uint64_t attempts() const { return attempts_; }
  // Whether an attempt of the latest call timed out: the request may have taken effect although
  // a later attempt was answered (a retried membership change then finds itself in force).
  bool last_call_uncertain() const { return last_call_uncertain_; }
  // The highest timestamp seen in a reply (commits and reads). Every write carries it, so that
  // writes in this client's order commit at increasing timestamps across groups and nodes.
  uint64_t observed_timestamp() const { return observed_timestamp_; }

 private:
  KvClient(Runtime& runtime, KvClientOptions options, std::unique_ptr<RpcClient> rpc)
      : runtime_(&runtime), options_(std::move(options)), rpc_(std::move(rpc)) {}
  Result<proto::KvWriteReply> write(proto::KvCommand command, Duration deadline);
  void observe(uint64_t timestamp) { observed_timestamp_ = std::max(observed_timestamp_, timestamp); }
  // Sends `request` until a reply without a redirect arrives or the deadline passes.
  template <typename Reply>
  Result<Reply> call(const google::protobuf::Message& request, Duration deadline, bool leader_only);
  NodeId next_target(bool leader_only);
  // A redirect named where the leader listens: tell the transport, as the options ask.
  void learn_leader(const proto::NodeDescriptor& leader);
  // `error` for a call to `server`, or, for a timeout, why the transport cannot reach it.
  Status explained(NodeId server, const Status& error) const;
  // TIMEOUT saying how long was waited and why each server that was tried did not answer.
  Status no_answer(Duration deadline, const std::map<NodeId, Status>& errors) const;

  Runtime* runtime_;
  KvClientOptions options_;
  std::unique_ptr<RpcClient> rpc_;
  uint64_t next_request_id_ = 1;
  NodeId leader_hint_ = 0;
  std::size_t next_server_ = 0;
  uint64_t attempts_ = 0;
  bool last_call_uncertain_ = false;
  uint64_t observed_timestamp_ = 0;
};

}  // namespace cairn::kv
