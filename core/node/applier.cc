// The Store's apply fiber (applier.h).
#include "core/node/applier.h"

#include <utility>

namespace cairn::node {
namespace {

std::size_t data_bytes(const std::vector<proto::RaftEntry>& entries) {
  std::size_t bytes = 0;
  for (const proto::RaftEntry& entry : entries) bytes += entry.data().size();
  return bytes;
}

}  // namespace

Applier::Applier(Runtime& runtime, std::function<Status()> sync, StoreInbox& inbox, RaftObserver* observer)
    : runtime_(&runtime), sync_(std::move(sync)), inbox_(&inbox), observer_(observer) {
  CAIRN_ASSERT(sync_ != nullptr);
}

void Applier::submit(ApplyJob job) {
  CAIRN_ASSERT(job.kind == ApplyJob::Kind::kSync || job.state_machine != nullptr, "a job names its state machine");
  queued_bytes_ += data_bytes(job.entries);
  jobs_.push_back(std::move(job));
  work_.notify_one();
}

std::vector<ApplierReport> Applier::take_reports() { return std::exchange(reports_, {}); }

void Applier::wait_idle() {
  while (failure_.ok() && !idle()) wait_on(idle_);
}

void Applier::run() {
  while (failure_.ok()) {
    while (jobs_.empty()) wait_on(work_);
    ApplyJob job = std::move(jobs_.front());
    jobs_.pop_front();
    running_ = true;
    const std::size_t bytes = data_bytes(job.entries);
    const Status done = perform(job);
    CAIRN_ASSERT(queued_bytes_ >= bytes);
    queued_bytes_ -= bytes;
    running_ = false;
    if (!done.ok()) {
      failure_ = done;
      // The loop learns of it at its next wake-up and fails the Store.
      (void)inbox_->try_send(ApplierWake{});
    }
    if (idle() || !failure_.ok()) idle_.notify_all();
  }
}

Status Applier::perform(ApplyJob& job) {
  switch (job.kind) {
    case ApplyJob::Kind::kApply: return apply(job);
    case ApplyJob::Kind::kExport: return export_snapshot(job);
    case ApplyJob::Kind::kSync: return sync();
  }
  CAIRN_ASSERT(false, "unknown job kind");
  return Status::internal("unreachable");
}

Status Applier::apply(ApplyJob& job) {
  CAIRN_ASSERT(!job.entries.empty(), "an apply job carries entries");
  node::StateMachine& machine = *job.state_machine;
  // Entries at or below the applied point were applied before a restart (the log replays them).
  std::vector<proto::RaftEntry> to_apply;
  for (proto::RaftEntry& entry : job.entries) {
    if (entry.index() > machine.applied().index()) to_apply.push_back(std::move(entry));
  }
  ApplierReport applied{.kind = ApplierReport::Kind::kApplied, .range = job.range};
  if (!to_apply.empty()) {
    runtime_->probe("replica.apply.starting");
    if (runtime_->buggify("replica.apply.delayed")) runtime_->sleep(milliseconds(1 + runtime_->random().uniform(20)));
    CAIRN_ASSIGN_OR_RETURN(applied.results, machine.apply(to_apply, job.membership_after));
    CAIRN_ASSERT(applied.results.size() == to_apply.size(), "one result per entry");
    applied_since_sync_[job.range] = to_apply.back().index();
    // Now, not when the loop takes the report: a reader may see these entries' effects before.
    if (observer_ != nullptr) {
      for (const proto::RaftEntry& entry : to_apply) observer_->on_applied(runtime_->node_id(), job.range, entry);
    }
  }
  applied.entries = std::move(to_apply);
  report(std::move(applied));
  return Status{};
}

Status Applier::export_snapshot(ApplyJob& job) {
  node::StateMachine& machine = *job.state_machine;
  ApplierReport exported{.kind = ApplierReport::Kind::kExported, .range = job.range};
  exported.snapshot_message = std::move(job.snapshot_message);
  // The state machine describes itself: what it holds now is at or after the index Raft asked
  // for, since every earlier job of this range has run.
  const proto::RaftSnapshotMetadata& described = machine.applied();
  CAIRN_ASSERT(described.index() >= exported.snapshot_message.snapshot().index(),
               "a snapshot is exported after the entries it covers were applied");
  *exported.snapshot_message.mutable_snapshot() = described;
  exported.chunks = machine.export_snapshot(job.chunk_bytes);
  report(std::move(exported));
  return Status{};
}

Status Applier::sync() {
  if (runtime_->buggify("replica.state_machine.sync_postponed")) return Status{};
  CAIRN_RETURN_IF_ERROR(sync_());
  if (applied_since_sync_.empty()) return Status{};
  report(ApplierReport{.kind = ApplierReport::Kind::kDurable, .durable_applied = std::exchange(applied_since_sync_, {})});
  return Status{};
}

void Applier::report(ApplierReport report) {
  reports_.push_back(std::move(report));
  // A full inbox means the loop is busy: it takes the reports on its next round anyway.
  (void)inbox_->try_send(ApplierWake{});
}

}  // namespace cairn::node
