// One replica of the ABD register: serving, storing and crash recovery (see register_server.h).
#include "core/register/register_server.h"

#include <mutex>

#include "core/runtime/wait_any.h"


namespace cairn {
namespace {
constexpr ServiceId kRecoveryReplyService = services::kFirstEphemeralService - 1;
}  // namespace

RegisterServer::RegisterServer(Runtime& runtime, Options options)
    : runtime_(&runtime),
      options_(std::move(options)),
      store_(runtime.file_system()),
      recovery_fibers_(runtime.process()) {}

RegisterServer::~RegisterServer() {
  server_.reset();
  recovery_fibers_.cancel();
}

Status RegisterServer::start() {
  Logger& log = runtime_->logger();
  RegisterStore::Loaded loaded = store_.load();
  {
    switch (loaded.outcome) {
      case RegisterStore::LoadOutcome::kFresh:
        if (options_.bootstrap) {
          CAIRN_RETURN_IF_ERROR(store_.initialize(/*recovering=*/false));
          log.log(LogLevel::kInfo, "register", "initialized a new register");
        } else {
          log.log(LogLevel::kWarning, "register", "no register file outside bootstrap: rebuilding state from peers");
          CAIRN_RETURN_IF_ERROR(store_.initialize(/*recovering=*/true));
        }
        break;
      case RegisterStore::LoadOutcome::kLoaded:
        CAIRN_RETURN_IF_ERROR(store_.make_durable());
        log.log(LogLevel::kInfo, "register", loaded.recovering ? "resuming an unfinished rebuild" : "recovered from disk",
                {{"sequence", loaded.value.sequence()}, {"writer", loaded.value.writer()}});
        break;
      case RegisterStore::LoadOutcome::kDamaged:
        log.log(LogLevel::kError, "register", "register file damaged: rebuilding state from peers",
                {{"problem", loaded.problem}});
        CAIRN_RETURN_IF_ERROR(store_.initialize(/*recovering=*/true));
        break;
    }
  }
  CAIRN_ASSIGN_OR_RETURN(peers_, RpcClient::create(*runtime_, kRecoveryReplyService));
  server_ = std::make_unique<RpcServer>(*runtime_, services::kRegister);
  server_->add_handler<proto::RegisterReadRequest, proto::RegisterReadReply>(
      [this](const RpcContext& context, const proto::RegisterReadRequest& request) {
        return handle_read(context, request);
      });
  server_->add_handler<proto::RegisterWriteRequest, proto::RegisterWriteReply>(
      [this](const RpcContext& context, const proto::RegisterWriteRequest& request) {
        return handle_write(context, request);
      });
  CAIRN_RETURN_IF_ERROR(server_->start());
  if (store_.recovering()) recovery_fibers_.spawn("register-recovery", [this] { recover(); });
  return {};
}

Result<proto::RegisterReadReply> RegisterServer::handle_read(const RpcContext&, const proto::RegisterReadRequest&) {
  proto::RegisterReadReply reply;
  *reply.mutable_value() = store_.current();
  reply.set_recovering(store_.recovering());
  return reply;
}

Result<proto::RegisterWriteReply> RegisterServer::handle_write(const RpcContext&,
                                                               const proto::RegisterWriteRequest& request) {
  if (request.value().data().size() > RegisterStore::kMaxDataBytes) {
    return Status::invalid_argument("value of " + std::to_string(request.value().data().size()) +
                                    " bytes exceeds the register's limit of " +
                                    std::to_string(RegisterStore::kMaxDataBytes));
  }
  CAIRN_RETURN_IF_ERROR(store_if_newer(request.value()));
  proto::RegisterWriteReply reply;
  *reply.mutable_stored() = store_.current();
  return reply;
}

Status RegisterServer::store_if_newer(const proto::RegisterValue& value) {
  std::lock_guard lock(store_mutex_);
  const proto::RegisterValue& current = store_.current();
  if (value.sequence() == current.sequence() && value.writer() == current.writer() && value.data() != current.data()) {
    // One version, two values: acknowledging would let replicas disagree on what it holds.
    return Status::failed_precondition("version (" + std::to_string(value.sequence()) + "," +
                                       std::to_string(value.writer()) + ") already holds other data");
  }
  if (!register_value_newer(value, current)) return {};  // what we hold is durable and at least as new
  Status stored = store_.store(value);
  if (!stored.ok()) {
    runtime_->logger().log(LogLevel::kWarning, "register", "store failed", {{"error", stored.to_string()}});
  }
  return stored;
}

void RegisterServer::recover() {
  while (!recover_once()) runtime_->sleep(options_.recovery_retry_delay);
  runtime_->logger().log(LogLevel::kInfo, "register", "rebuilt state from peers",
                         {{"sequence", store_.current().sequence()}, {"writer", store_.current().writer()}});
}

bool RegisterServer::recover_once() {
  const std::size_t majority = options_.replicas.size() / 2 + 1;
  std::vector<Future<proto::Envelope>> replies;
  for (NodeId peer : options_.replicas) {
    if (peer == runtime_->node_id()) continue;
    replies.push_back(peers_->start_call(peer, services::kRegister, proto::RegisterReadRequest(),
                                         options_.recovery_round_timeout));
  }
  std::size_t counted = 0;
  proto::RegisterValue newest;
  for_each_in_completion_order(replies, [&](std::size_t, Result<proto::Envelope> reply) {
    if (!reply.ok()) return false;
    Result<proto::RegisterReadReply> read = RpcClient::unpack_response<proto::RegisterReadReply>(*reply);
    if (!read.ok() || read->recovering()) return false;
    ++counted;
    if (register_value_newer(read->value(), newest)) newest = read->value();
    return counted >= majority;
  });
  if (counted < majority) return false;
  return finish_recovery(newest).ok();
}

Status RegisterServer::finish_recovery(const proto::RegisterValue& newest) {
  std::lock_guard lock(store_mutex_);
  // Writes stored while recovering may be newer than what the peers reported.
  const proto::RegisterValue keep = register_value_newer(newest, store_.current()) ? newest : store_.current();
  return store_.finish_recovery(keep);
}

}  // namespace cairn
