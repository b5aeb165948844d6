// RapidCheck: random schedules applied to clusters of pure Raft state machines — ticks,
// proposals, messages delivered out of order, lost and duplicated, crashes and restarts,
// partitions, compaction, leadership transfers, membership changes and reads — never break
// Raft's safety properties, as the oracle (sim/checkers/raft_safety_oracle.h) judges them after
// every step. A second property checks that, once the faults stop, the cluster elects a leader
// and commits a proposal: safety alone is also satisfied by a cluster that does nothing.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <algorithm>

#include "tests/core/raft_test_cluster.h"
#include "tests/support/reaching_property.h"

namespace cairn::raft::testing {
namespace {

enum class ActionKind {
  kTick,
  kPropose,
  kDeliver,
  kDrop,
  kDuplicate,
  kCrash,
  kRestart,
  kCompact,
  kPartition,
  kHeal,
  kTransfer,
  kMembershipChange,
  kRead,
  kLoseDurableSuffix,
  kQuiesce,
  kWake,
};

struct Action {
  ActionKind kind = ActionKind::kTick;
  uint64_t replica = 0;   // an index into the cluster's replicas
  uint64_t other = 0;     // a second replica, a queue position, or a change kind
  uint64_t amount = 0;
};

// `calm`: a stretch without new faults, in which crashed replicas restart and partitions heal,
// so that the group commits between storms (without them, two schedules in three committed fewer
// than ten entries, and the oracle had little to judge).
// `quiescence`: one action in five tries to quiet the leader or wakes a replica (its draw comes
// after the others', so schedules without it are the same as before it existed).
Action pick_action(Random& random, bool calm = false, bool quiescence = false) {
  // Deliveries dominate, so that the protocol makes progress between faults.
  const uint64_t roll = random.uniform(100);
  Action action;
  action.replica = random.uniform(16);
  action.other = random.uniform(64);
  action.amount = 1 + random.uniform(4);
  if (quiescence && random.uniform(5) == 0) {
    action.kind = action.other % 3 == 0 ? ActionKind::kWake : ActionKind::kQuiesce;
    return action;
  }
  if (calm) {
    action.kind = roll < 55   ? ActionKind::kDeliver
                  : roll < 75 ? ActionKind::kTick
                  : roll < 90 ? ActionKind::kPropose
                  : roll < 95 ? ActionKind::kRestart
                              : ActionKind::kHeal;
    return action;
  }
  if (roll < 45) action.kind = ActionKind::kDeliver;
  else if (roll < 60) action.kind = ActionKind::kTick;
  else if (roll < 70) action.kind = ActionKind::kPropose;
  else if (roll < 74) action.kind = ActionKind::kDrop;
  else if (roll < 77) action.kind = ActionKind::kDuplicate;
  else if (roll < 80) action.kind = ActionKind::kCrash;
  else if (roll < 84) action.kind = ActionKind::kRestart;
  else if (roll < 87) action.kind = ActionKind::kCompact;
  else if (roll < 89) action.kind = ActionKind::kPartition;
  else if (roll < 92) action.kind = ActionKind::kHeal;
  else if (roll < 94) action.kind = ActionKind::kTransfer;
  else if (roll < 96) action.kind = ActionKind::kMembershipChange;
  else if (roll < 98) action.kind = ActionKind::kRead;
  else action.kind = ActionKind::kLoseDurableSuffix;
  return action;
}

class ScheduleRunner {
 public:
  // `detect_losses`: whether storage damage that loses entries is known at restart (as the
  // write-ahead log's checksums make it) — the replica then catches up before voting again.
  // `whole_log_losses`: whether detected damage sometimes takes the whole log, membership marker
  // and state machine included, so that the replica comes back blank (off: the schedules of the
  // regression tests below, found before such losses were drawn).
  ScheduleRunner(uint64_t voters, uint64_t seed, bool detect_losses = true, bool whole_log_losses = true)
      : random_(seed), detect_losses_(detect_losses), whole_log_losses_(whole_log_losses) {
    std::vector<ReplicaId> voter_ids;
    for (ReplicaId id = 1; id <= voters; ++id) voter_ids.push_back(id);
    // One blank replica that membership changes may bring in.
    RaftOptions options;
    options.random_seed = seed;
    options.election_ticks = 5;
    options.max_inflight_appends = 4;
    options.max_append_bytes = 64;
    cluster_ = std::make_unique<RaftTestCluster>(voter_ids, std::vector<ReplicaId>{}, options,
                                                 std::vector<ReplicaId>{voters + 1});
  }

  RaftTestCluster& cluster() { return *cluster_; }
  void deliver_more_as_queue_grows() { scaled_delivery_ = true; }
  // Applies committed entries late, a few at a time after each action (asynchronous apply).
  void apply_late() {
    apply_late_ = true;
    cluster_->defer_apply();
  }

  void run(const Action& action) {
    const std::vector<ReplicaId> ids = cluster_->ids();
    const ReplicaId replica = ids[action.replica % ids.size()];
    const ReplicaId other = ids[action.other % ids.size()];
    auto& queue = cluster_->in_flight();
    switch (action.kind) {
      case ActionKind::kTick:
        // Time passes for everyone; now and then one replica's clock runs ahead of the others.
        for (uint64_t i = 0; i < action.amount; ++i) {
          if (action.other % 4 == 0) {
            cluster_->tick(replica);
          } else {
            for (ReplicaId id : ids) cluster_->tick(id);
          }
        }
        break;
      case ActionKind::kPropose: {
        // Clients find the leader (if any) most of the time.
        const ReplicaId target = action.other % 4 != 0 && cluster_->leader() != 0 ? cluster_->leader() : replica;
        if (cluster_->up(target)) (void)cluster_->raft(target).propose("v" + std::to_string(++proposals_));
        break;
      }
      case ActionKind::kDeliver: {
        // More at once as the queue grows (with deliver_more_as_queue_grows): five replicas
        // ticking fill it faster than a fixed number of deliveries empties it, and a flooded
        // queue answers every election too late (a third of five-voter schedules never elected a
        // second leader). Off for the regression schedules below, found with fixed deliveries.
        const uint64_t count = action.amount * (scaled_delivery_ ? 1 + queue.size() / 16 : 1);
        for (uint64_t i = 0; i < count && !queue.empty(); ++i) cluster_->deliver_at(random_.uniform(queue.size()));
        break;
      }
      case ActionKind::kDrop:
        if (!queue.empty()) cluster_->drop_at(action.other % queue.size());
        break;
      case ActionKind::kDuplicate:
        if (!queue.empty()) cluster_->duplicate_at(action.other % queue.size());
        break;
      case ActionKind::kCrash:
        // At most a minority down at once: a schedule that kills everyone tests nothing more.
        if (cluster_->up(replica) && down_count(ids) < ids.size() / 2) cluster_->crash(replica);
        break;
      case ActionKind::kRestart:
        for (std::size_t i = 0; i < ids.size(); ++i) {
          const ReplicaId candidate = ids[(action.replica + i) % ids.size()];
          if (!cluster_->up(candidate)) {
            cluster_->restart(candidate);
            break;
          }
        }
        break;
      case ActionKind::kCompact:
        if (cluster_->up(replica)) (void)cluster_->compact(replica, cluster_->raft(replica).log().applied());
        break;
      case ActionKind::kPartition:
        cluster_->cut(replica, other);
        if (action.amount % 2 == 0) cluster_->cut(other, replica);  // sometimes asymmetric
        break;
      case ActionKind::kHeal: cluster_->heal(); break;
      case ActionKind::kTransfer:
        if (cluster_->up(replica)) (void)cluster_->raft(replica).transfer_leadership(other);
        break;
      case ActionKind::kMembershipChange: propose_membership_change(replica, other, action.amount); break;
      case ActionKind::kLoseDurableSuffix:
        // Storage damage strikes one replica only (the simulator's "unreliable" minority): with
        // a majority catching up at once no leader could be elected to restore them.
        if (cluster_->up(ids.front()) && down_count(ids) < ids.size() / 2) {
          cluster_->crash(ids.front());
          if (detect_losses_ && whole_log_losses_ && action.other % 4 == 0) {
            cluster_->lose_log(ids.front());
          } else {
            cluster_->lose_durable_suffix(ids.front(), action.amount, detect_losses_);
          }
          cluster_->restart(ids.front());
        }
        break;
      case ActionKind::kQuiesce: {
        // The driver's rule: a leader with nothing to do goes quiet (a follower on a suspected
        // node does not hold it up); ticks then pass it by until something wakes it.
        const ReplicaId leader = cluster_->leader() != 0 ? cluster_->leader() : replica;
        if (cluster_->up(leader) && cluster_->raft(leader).can_quiesce([&](ReplicaId id) { return id == other; })) {
          cluster_->raft(leader).quiesce();
        }
        break;
      }
      case ActionKind::kWake:
        // The failure detector suspects (rightly or not) the node of this replica's leader.
        if (cluster_->up(replica)) cluster_->raft(replica).wake();
        break;
      case ActionKind::kRead:
        if (cluster_->up(replica)) {
          (void)cluster_->raft(replica).read_index("r" + std::to_string(++reads_),
                                                   action.amount % 2 == 0 ? ReadMode::kLease : ReadMode::kReadIndex);
        }
        break;
    }
    for (ReplicaId id : cluster_->ids()) cluster_->process_ready(id);
    if (apply_late_) {
      for (ReplicaId id : cluster_->ids()) cluster_->apply_pending(id, random_.uniform(4));
    }
  }

  // Heals everything, restarts every replica, and runs the cluster with ticks until a leader has
  // committed a proposal made after the faults stopped. Returns whether one did within the budget.
  //
  // The proposal is judged in the log of whoever leads now, not in its proposer's: the proposer
  // may be deposed before it replicates the entry (which a later leader then overwrites), or be
  // removed from the group by a change already in its log, after which nobody tells it what
  // commits. Whenever the leader's log does not hold the proposal, the leader is asked again.
  bool recovers(int max_rounds) {
    cluster_->heal();
    for (ReplicaId id : cluster_->ids()) {
      if (!cluster_->up(id)) cluster_->restart(id);
    }
    struct Proposal {
      uint64_t index = 0;
      uint64_t term = 0;
    };
    std::optional<Proposal> proposal;
    for (int round = 0; round < max_rounds; ++round) {
      cluster_->stabilize();
      if (const ReplicaId leader = cluster_->leader(); leader != 0) {
        Raft& raft = cluster_->raft(leader);
        if (proposal && raft.log().term(proposal->index) != proposal->term) proposal.reset();
        if (!proposal) {
          if (auto index = raft.propose("final"); index.ok()) proposal = Proposal{.index = *index, .term = raft.term()};
        }
        if (proposal && raft.log().committed() >= proposal->index) return true;
      }
      for (ReplicaId id : cluster_->ids()) cluster_->tick(id);
    }
    return false;
  }

 private:
  std::size_t down_count(const std::vector<ReplicaId>& ids) const {
    return static_cast<std::size_t>(std::count_if(ids.begin(), ids.end(), [&](ReplicaId id) { return !cluster_->up(id); }));
  }

  void propose_membership_change(ReplicaId replica, ReplicaId target, uint64_t variant) {
    if (!cluster_->up(replica)) return;
    proto::RaftMembershipChange change;
    proto::RaftReplicaChange* single = change.add_changes();
    single->set_replica(target);
    switch (variant % 4) {
      case 0: single->set_kind(proto::RAFT_ADD_LEARNER); break;
      case 1: single->set_kind(proto::RAFT_ADD_VOTER); break;
      case 2: single->set_kind(proto::RAFT_REMOVE); break;
      default:
        change.clear_changes();  // leave a joint configuration (refused if not in one)
        break;
    }
    if (variant % 3 == 0) change.set_transition(proto::RAFT_TRANSITION_JOINT_EXPLICIT);
    // Never shrink below three voters: a group of one or two is not what this test is about,
    // and with every removal allowed the schedule would soon leave no quorum to recover.
    const Membership& membership = cluster_->raft(replica).membership();
    if (single->kind() != proto::RAFT_ADD_VOTER && membership.voters().size() <= 3 && change.changes_size() > 0) return;
    (void)cluster_->raft(replica).propose_membership_change(change);
  }

  Random random_;
  bool detect_losses_ = true;
  bool whole_log_losses_ = true;
  bool scaled_delivery_ = false;
  bool apply_late_ = false;
  std::unique_ptr<RaftTestCluster> cluster_;
  uint64_t proposals_ = 0;
  uint64_t reads_ = 0;
};

// Most schedules must commit entries, or the oracle has little to judge.
RC_REACHING_PROP(RaftSchedules, RandomSchedulesPreserveSafety, "ten or more entries committed", 0.75, 400, ()) {
  const uint64_t voters = *rc::gen::element<uint64_t>(3, 5);
  const uint64_t seed = *rc::gen::arbitrary<uint64_t>();
  // RapidCheck sizes integers small at first; the schedule's length comes from the seed instead,
  // so that every case is long enough for several elections.
  const int steps = 300 + static_cast<int>(seed % 900);
  ScheduleRunner runner(voters, seed);
  runner.deliver_more_as_queue_grows();
  // Half the schedules apply late, so that membership changes, snapshots and compaction follow
  // what the state machine applied rather than what Raft handed out.
  const bool apply_late = seed % 2 == 0;
  if (apply_late) runner.apply_late();
  Random actions(derive_seed(seed, "actions"));
  for (int step = 0; step < steps; ++step) {
    runner.run(pick_action(actions, /*calm=*/step / 100 % 3 != 0));
    if (!runner.cluster().oracle().ok()) break;
  }
  // The distribution RapidCheck prints shows the schedules exercise the protocol: leaders are
  // elected and entries committed in most of them.
  const sim::RaftSafetyOracle& oracle = runner.cluster().oracle();
  RC_CLASSIFY(apply_late, "applied late");
  RC_CLASSIFY(oracle.leaders_seen() >= 2, "two or more leaders");
  RC_CLASSIFY(oracle.committed_entries() >= 10, "ten or more entries committed");
  if (!oracle.violations().empty()) RC_FAIL(oracle.violations().front());
}

// The same with quiescence: leaders go quiet, ticks pass quiet replicas by, and wake-ups come
// from messages, proposals, reads and a failure detector that is sometimes wrong. A leader can
// go quiet only when every follower it counts holds its whole log and it applied everything,
// which faulty schedules seldom allow: a little under half of them get there (measured 44 %).
RC_REACHING_PROP(RaftSchedules, RandomSchedulesWithQuiescencePreserveSafety, "a leader went quiet", 0.35, 200, ()) {
  const uint64_t voters = *rc::gen::element<uint64_t>(3, 5);
  const uint64_t seed = *rc::gen::arbitrary<uint64_t>();
  const int steps = 300 + static_cast<int>(seed % 900);
  ScheduleRunner runner(voters, seed);
  runner.deliver_more_as_queue_grows();
  if (seed % 2 == 0) runner.apply_late();
  Random actions(derive_seed(seed, "actions"));
  bool quiesced = false;
  for (int step = 0; step < steps; ++step) {
    runner.run(pick_action(actions, /*calm=*/step / 100 % 3 != 0, /*quiescence=*/true));
    for (ReplicaId id : runner.cluster().ids()) {
      if (runner.cluster().up(id) && runner.cluster().raft(id).quiesced() &&
          runner.cluster().raft(id).role() == Role::kLeader) {
        quiesced = true;
        RC_ASSERT(!runner.cluster().raft(id).lease_valid());  // a quiet leader holds no lease
      }
    }
    if (!runner.cluster().oracle().ok()) break;
  }
  const sim::RaftSafetyOracle& oracle = runner.cluster().oracle();
  RC_CLASSIFY(quiesced, "a leader went quiet");
  RC_CLASSIFY(oracle.committed_entries() >= 10, "ten or more entries committed");
  if (!oracle.violations().empty()) RC_FAIL(oracle.violations().front());
}

// Runs the faulty schedule of `seed`, then heals: whether a leader commits again within 200
// rounds, with safety intact.
bool recovers_after_faults(uint64_t voters, uint64_t seed, bool whole_log_losses = true, bool apply_late = false) {
  const int steps = 100 + static_cast<int>(seed % 400);
  ScheduleRunner runner(voters, seed, /*detect_losses=*/true, whole_log_losses);
  if (apply_late) runner.apply_late();
  Random actions(derive_seed(seed, "actions"));
  for (int step = 0; step < steps; ++step) runner.run(pick_action(actions));
  return runner.recovers(200) && runner.cluster().oracle().ok();
}

RC_GTEST_PROP(RaftSchedules, AfterFaultsStopALeaderCommitsAgain, ()) {
  const uint64_t voters = *rc::gen::element<uint64_t>(3, 5);
  const uint64_t seed = *rc::gen::arbitrary<uint64_t>();
  RC_ASSERT(recovers_after_faults(voters, seed, /*whole_log_losses=*/true, /*apply_late=*/seed % 2 == 0));
}

TEST(RaftSchedules, ALeaderRemovedRightAfterItProposesDoesNotStallRecovery) {
  // Found by the property above in CI: leader 2 of five proposes the recovery entry while its
  // own removal is in its log; replica 1 takes over and commits, but 2, no longer a member,
  // never hears of it. The check once waited for the proposer's commit index and failed here.
  EXPECT_TRUE(recovers_after_faults(5, 90944849527ull, /*whole_log_losses=*/false));
}

TEST(RaftSchedules, ALostSnapshotIsReportedAndTheFollowerCatchesUp) {
  // Found by the property above: the leader of three sent both followers snapshots that never
  // arrived, and held them in the snapshot state for good, committing nothing. The driver reports
  // a snapshot that was not confirmed in time; the test cluster now does as well.
  EXPECT_TRUE(recovers_after_faults(3, 92051756628794ull, /*whole_log_losses=*/false));
}

TEST(RaftSchedules, SilentlyLosingAcknowledgedEntriesBreaksSafety) {
  // The same schedules with storage damage that recovery does not notice: a replica forgets
  // entries it acknowledged and votes as if it never had them. Raft cannot survive that, and the
  // oracle must see it; with the loss detected (the property above), the replica catches up
  // before voting and no schedule breaks safety.
  int violating = 0;
  for (uint64_t seed = 1; seed <= 3000 && violating == 0; ++seed) {
    ScheduleRunner runner(3, seed, /*detect_losses=*/false);
    Random actions(derive_seed(seed, "actions"));
    for (int step = 0; step < 600 && runner.cluster().oracle().ok(); ++step) runner.run(pick_action(actions));
    if (!runner.cluster().oracle().ok()) ++violating;
  }
  EXPECT_GT(violating, 0);
}

}  // namespace
}  // namespace cairn::raft::testing
