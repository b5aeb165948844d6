// KvNode: everything a server of the replicated key-value store runs — the Store of the ranges
// it hosts (core/node/store.h: one log and one engine under "<directory>/store/", each range a
// KvStateMachine over the shared engine), and the client service (KvService). The same code
// runs as a simulated node and inside cairnd.
//
// Each node registers where it listens in the node registry (node_registry.h) and learns where
// the others listen from it, so members added at run time reach each other.
//
// A Store that stops on a storage error is reopened from its disk after a delay by a supervisor
// fiber, so a transient fault (a full disk, a failed fsync) heals without operator action; until
// then its ranges are served by the other nodes.
//
// A data directory of the single-group format (before ranges: "<directory>/g<group>/") is
// refused with FAILED_PRECONDITION at start.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/kv/kv_service.h"
#include "core/node/store.h"

namespace cairn::kv {

struct KvNodeOptions {
  std::vector<uint64_t> groups = {1};
  // The initial voters of every group, used only when `bootstrap` is set and the node has no
  // state for a group yet (the cluster is being created). Otherwise a replica without state
  // joins as a blank member and waits for a snapshot from its group's leader.
  std::vector<NodeId> voters = {};
  bool bootstrap = false;
  std::string directory = "raft";
  node::StoreOptions store = {};  // its directory is set from `directory`
  KvStateMachineOptions state_machine = {};
  KvServiceOptions service = {};
  Duration restart_delay = milliseconds(500);
  // The most this node's wall clock may differ from its peers' (hybrid_clock.h): a timestamp
  // further ahead than this is refused, and while the clock monitor finds this node's clock
  // this far from most peers', the node serves no client and hands its leaderships over.
  Duration max_clock_offset = milliseconds(500);
  ClockOffsetMonitorOptions clock_monitor = {};  // its max_offset is max_clock_offset
  // Where this node listens, registered in the node registry (node_registry.h, group
  // kRegistryGroup) once the node has started: through the `voters` above, which serve as seeds
  // when the node joins. Unset: the node does not register (a test's bare node).
  std::optional<proto::NodeDescriptor> self_descriptor = std::nullopt;
};

// The group whose key-value state holds the node registry (the ranges issue moves it to the
// metadata range).
inline constexpr uint64_t kRegistryGroup = 1;

class KvNode {
 public:
  static Result<std::unique_ptr<KvNode>> start(Runtime& runtime, KvNodeOptions options);
  ~KvNode();

  // The Store, while it is open (null between a failure and its reopening).
  node::Store* store() { return store_.get(); }
  HybridClock& clock() { return clock_; }
  const ClockOffsetMonitor& clock_monitor() const { return *clock_monitor_; }
  KvGroup find(uint64_t group);
  // How many times the supervisor reopened the Store after a failure.
  uint64_t replica_restarts() const { return replica_restarts_; }

 private:
  KvNode(Runtime& runtime, KvNodeOptions options);
  // Opens the Store and hosts every range of options_.groups.
  Status open_store();
  Result<std::shared_ptr<node::StateMachine>> open_state_machine(node::RangeId range,
                                                                 const std::shared_ptr<storage::KvEngine>& engine);
  std::string store_directory() const { return options_.directory + "/store"; }
  // open_store() after a failure: the database's files are first made what the cache shows.
  Status reopen_store();
  Status refuse_single_group_format();
  void supervise();
  // Every node that is a member of a group this node hosts.
  std::vector<NodeId> peers() const;
  // While this node's clock is out of line: hands each group it leads to another voter.
  void hand_over_leaderships();
  // The clock monitor's pings are the failure detector too: a peer that did not answer the last
  // kPingsMissedBeforeSuspicion is suspected, one whose incarnation changed restarted, and the
  // Store is told (quiet ranges it is in wake up). A node whose Store failed does not answer.
  static constexpr uint32_t kPingsMissedBeforeSuspicion = 2;
  void on_ping(NodeId peer, bool answered, uint64_t incarnation);
  // Writes self_descriptor into the registry, retrying with backoff until it is applied.
  void register_self();
  // A registry record applied (or found at start): the transport learns the node's peer address.
  void learn_node(const proto::NodeDescriptor& descriptor);

  Runtime* runtime_;
  KvNodeOptions options_;
  HybridClock clock_;
  std::unique_ptr<node::Store> store_;
  std::map<uint64_t, KvStateMachine*> state_machines_;  // of the Store's ranges
  std::unique_ptr<ClockOffsetMonitor> clock_monitor_;
  std::unique_ptr<KvService> service_;
  uint64_t replica_restarts_ = 0;
  std::map<NodeId, std::string> peer_addresses_;  // learned from the registry, to log only changes
  std::map<NodeId, bool> peer_suspected_;         // the failure detector's verdict on each peer
  std::map<NodeId, uint32_t> peer_missed_pings_;  // unanswered pings in a row, per peer
  std::map<NodeId, uint64_t> peer_incarnations_;  // each peer's incarnation, as its last answer gave it
  uint64_t store_incarnation_ = 0;  // drawn whenever the Store opens (ClockPingReply.incarnation)
  // Set before the supervisor is cancelled. Closing a replica's database can swallow the
  // cancellation (a destructor cannot rethrow it), so the supervisor checks this as well.
  bool stopping_ = false;
  FiberScope fibers_;
};

}  // namespace cairn::kv
