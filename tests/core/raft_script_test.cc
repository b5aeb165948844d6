// Data-driven tests of the pure Raft state machine: each file in tests/core/raft_scripts/ is a
// script of input events (ticks, proposals, message deliveries, crashes, partitions) and, after
// each command, the exact messages and states it must produce. The format (as etcd's datadriven
// tests):
//
//   # a comment
//   command arg arg key=value
//   ----
//   expected output, line by line
//   <blank line>
//
// Commands (replica ids are numbers):
//   cluster voters=1,2,3 [learners=4] [blank=5] [pre_vote=false] [check_quorum=false]
//           [election=10] [heartbeat=1] [inflight=64] [max_append_bytes=N] [seed=N] [drift=2]
//   campaign ID | tick ID [N] | tick-all [N] | quiesce ID (the leader goes quiet if it can) | wake ID
//   propose ID DATA | propose-membership ID add-voter=4 add-learner=5 remove=2 [joint|explicit]
//   leave-joint ID | transfer ID TARGET | read ID CONTEXT [lease] | compact ID INDEX
//   report-snapshot ID FOLLOWER ok|fail | report-unreachable ID FOLLOWER
//   stabilize        process Readies and deliver messages until quiet; prints each delivery
//   deliver [N]      deliver the N oldest queued messages (default all queued now)
//   process-ready ID carry out one Ready; prints the messages it queued
//   drop-queued      forget every queued message
//   status [ID...] | log ID | applied ID | progress ID | read-states ID | oracle
//   crash ID | restart ID | isolate ID | cut FROM TO | partition 1,2 3,4,5 | heal
//   lose-log ID      (crashed) ID's log and membership are destroyed: it restarts blank
//
// Set CAIRN_REWRITE_RAFT_SCRIPTS=1 to rewrite the expected outputs from what the code does
// (then read the diff: the test is only as good as its reviewed expectations).
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "tests/core/raft_test_cluster.h"

namespace cairn::raft::testing {
namespace {

struct ScriptCommand {
  int line = 0;
  std::string text;
  std::string expected;
};

std::vector<std::string> split(const std::string& text, char separator) {
  std::vector<std::string> parts;
  std::stringstream stream(text);
  std::string part;
  while (std::getline(stream, part, separator)) {
    if (!part.empty()) parts.push_back(part);
  }
  return parts;
}

std::vector<ScriptCommand> parse_script(const std::string& path) {
  std::ifstream file(path);
  std::vector<ScriptCommand> commands;
  std::string line;
  int number = 0;
  while (std::getline(file, line)) {
    ++number;
    if (line.empty() || line[0] == '#') continue;
    ScriptCommand command{.line = number, .text = line, .expected = ""};
    if (!std::getline(file, line) || line != "----") {
      ADD_FAILURE() << path << ":" << number << ": a command must be followed by '----'";
      return commands;
    }
    ++number;
    while (std::getline(file, line) && !line.empty()) {
      ++number;
      command.expected += line + "\n";
    }
    ++number;
    commands.push_back(std::move(command));
  }
  return commands;
}

class ScriptRunner {
 public:
  std::string run(const std::string& command_text) {
    std::vector<std::string> words = split(command_text, ' ');
    const std::string command = words.front();
    words.erase(words.begin());
    std::ostringstream out;
    if (command == "cluster") {
      create_cluster(words);
    } else if (command == "campaign") {
      cluster().raft(id(words.at(0))).campaign();
    } else if (command == "quiesce") {
      Raft& raft = cluster().raft(id(words.at(0)));
      const bool quiet = raft.can_quiesce([](ReplicaId) { return false; });
      if (quiet) raft.quiesce();
      out << (quiet ? "quiesced" : "cannot quiesce") << "\n";
    } else if (command == "wake") {
      cluster().raft(id(words.at(0))).wake();
    } else if (command == "tick") {
      const int count = words.size() > 1 ? std::stoi(words[1]) : 1;
      for (int i = 0; i < count; ++i) cluster().tick(id(words.at(0)));
    } else if (command == "tick-all") {
      const int count = words.empty() ? 1 : std::stoi(words[0]);
      for (int i = 0; i < count; ++i) {
        for (ReplicaId replica : cluster().ids()) cluster().tick(replica);
      }
    } else if (command == "propose") {
      auto index = cluster().raft(id(words.at(0))).propose(words.size() > 1 ? words[1] : "");
      out << (index.ok() ? "index=" + std::to_string(*index) : index.status().to_string()) << "\n";
    } else if (command == "propose-membership" || command == "leave-joint") {
      auto index = cluster().raft(id(words.at(0))).propose_membership_change(membership_change(words));
      out << (index.ok() ? "index=" + std::to_string(*index) : index.status().to_string()) << "\n";
    } else if (command == "transfer") {
      out << cluster().raft(id(words.at(0))).transfer_leadership(id(words.at(1))).to_string() << "\n";
    } else if (command == "read") {
      const ReadMode mode = words.size() > 2 && words[2] == "lease" ? ReadMode::kLease : ReadMode::kReadIndex;
      out << cluster().raft(id(words.at(0))).read_index(words.at(1), mode).to_string() << "\n";
    } else if (command == "compact") {
      out << cluster().compact(id(words.at(0)), std::stoull(words.at(1))).to_string() << "\n";
    } else if (command == "report-snapshot") {
      cluster().raft(id(words.at(0))).report_snapshot(id(words.at(1)), words.at(2) == "ok");
    } else if (command == "report-unreachable") {
      cluster().raft(id(words.at(0))).report_unreachable(id(words.at(1)));
    } else if (command == "stabilize") {
      for (const std::string& delivered : cluster().stabilize()) out << delivered << "\n";
    } else if (command == "deliver") {
      std::size_t count = words.empty() ? cluster().in_flight().size() : std::stoul(words[0]);
      for (; count > 0; --count) {
        auto delivered = cluster().deliver_next();
        if (!delivered) break;
        out << *delivered << "\n";
      }
    } else if (command == "process-ready") {
      const std::size_t before = cluster().in_flight().size();
      cluster().process_ready(id(words.at(0)));
      for (std::size_t i = before; i < cluster().in_flight().size(); ++i) {
        out << describe_message(cluster().in_flight()[i].message) << "\n";
      }
    } else if (command == "drop-queued") {
      cluster().in_flight().clear();
    } else if (command == "status") {
      std::vector<ReplicaId> replicas = cluster().ids();
      if (!words.empty()) {
        replicas.clear();
        for (const std::string& word : words) replicas.push_back(id(word));
      }
      for (ReplicaId replica : replicas) {
        out << (cluster().up(replica) ? describe_replica(cluster().raft(replica)) : std::to_string(replica) + ": down")
            << "\n";
      }
    } else if (command == "log") {
      const RaftLog& log = cluster().raft(id(words.at(0))).log();
      out << "snapshot=" << log.snapshot_index() << "/" << log.snapshot_term() << " entries:";
      for (uint64_t index = log.first_index(); index <= log.last_index(); ++index) {
        out << " " << index << "/" << log.entry(index).term();
      }
      out << "\n";
    } else if (command == "applied") {
      const TestStateMachine& state = cluster().state(id(words.at(0)));
      out << "applied=" << state.applied_index << " commands:";
      for (const std::string& data : state.commands) out << " " << data;
      out << "\n";
    } else if (command == "progress") {
      const Raft& raft = cluster().raft(id(words.at(0)));
      for (ReplicaId replica : raft.membership().members()) {
        const Progress* progress = raft.progress(replica);
        if (progress != nullptr && replica != raft.id()) out << replica << ": " << progress->describe() << "\n";
      }
    } else if (command == "read-states") {
      for (const ReadState& state : cluster().read_states(id(words.at(0)))) {
        out << "index=" << state.index << " context=" << state.context << "\n";
      }
      cluster().read_states(id(words.at(0))).clear();
    } else if (command == "lease") {
      out << (cluster().raft(id(words.at(0))).lease_valid() ? "valid" : "invalid") << "\n";
    } else if (command == "oracle") {
      if (cluster().oracle().ok()) out << "ok\n";
      for (const std::string& violation : cluster().oracle().violations()) out << violation << "\n";
    } else if (command == "crash") {
      cluster().crash(id(words.at(0)));
    } else if (command == "restart") {
      cluster().restart(id(words.at(0)));
    } else if (command == "lose-log") {
      cluster().lose_log(id(words.at(0)));
    } else if (command == "isolate") {
      cluster().isolate(id(words.at(0)));
    } else if (command == "cut") {
      cluster().cut(id(words.at(0)), id(words.at(1)));
    } else if (command == "partition") {
      cluster().partition(id_set(words.at(0)), id_set(words.at(1)));
    } else if (command == "heal") {
      cluster().heal();
    } else {
      out << "unknown command '" << command << "'\n";
    }
    if (cluster_ && !cluster_->oracle().ok() && command != "oracle") {
      out << "ORACLE VIOLATION: " << cluster_->oracle().violations().front() << "\n";
    }
    return out.str();
  }

 private:
  RaftTestCluster& cluster() {
    CAIRN_ASSERT(cluster_ != nullptr, "the script must start with 'cluster'");
    return *cluster_;
  }

  static ReplicaId id(const std::string& text) { return std::stoull(text); }

  static std::set<ReplicaId> id_set(const std::string& text) {
    std::set<ReplicaId> ids;
    for (const std::string& part : split(text, ',')) ids.insert(id(part));
    return ids;
  }

  static std::vector<ReplicaId> id_list(const std::string& text) {
    std::vector<ReplicaId> ids;
    for (const std::string& part : split(text, ',')) ids.push_back(id(part));
    return ids;
  }

  void create_cluster(const std::vector<std::string>& words) {
    RaftOptions options;
    std::vector<ReplicaId> voters, learners, blank;
    for (const std::string& word : words) {
      const auto equals = word.find('=');
      const std::string key = word.substr(0, equals);
      const std::string value = word.substr(equals + 1);
      if (key == "voters") voters = id_list(value);
      if (key == "learners") learners = id_list(value);
      if (key == "blank") blank = id_list(value);
      if (key == "pre_vote") options.pre_vote = value == "true";
      if (key == "check_quorum") options.check_quorum = value == "true";
      if (key == "election") options.election_ticks = static_cast<uint32_t>(std::stoul(value));
      if (key == "heartbeat") options.heartbeat_ticks = static_cast<uint32_t>(std::stoul(value));
      if (key == "inflight") options.max_inflight_appends = std::stoul(value);
      if (key == "max_append_bytes") options.max_append_bytes = std::stoul(value);
      if (key == "seed") options.random_seed = std::stoull(value);
      if (key == "drift") options.max_clock_drift_ticks = static_cast<uint32_t>(std::stoul(value));
    }
    cluster_ = std::make_unique<RaftTestCluster>(voters, learners, options, blank);
  }

  static proto::RaftMembershipChange membership_change(const std::vector<std::string>& words) {
    proto::RaftMembershipChange change;
    for (std::size_t i = 1; i < words.size(); ++i) {
      const std::string& word = words[i];
      if (word == "joint") change.set_transition(proto::RAFT_TRANSITION_JOINT_IMPLICIT);
      if (word == "explicit") change.set_transition(proto::RAFT_TRANSITION_JOINT_EXPLICIT);
      const auto equals = word.find('=');
      if (equals == std::string::npos) continue;
      const std::string key = word.substr(0, equals);
      proto::RaftReplicaChange* replica_change = change.add_changes();
      replica_change->set_replica(id(word.substr(equals + 1)));
      if (key == "add-voter") replica_change->set_kind(proto::RAFT_ADD_VOTER);
      if (key == "add-learner") replica_change->set_kind(proto::RAFT_ADD_LEARNER);
      if (key == "remove") replica_change->set_kind(proto::RAFT_REMOVE);
    }
    return change;
  }

  std::unique_ptr<RaftTestCluster> cluster_;
};

std::vector<std::string> script_names() {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(CAIRN_SOURCE_DIR "/tests/core/raft_scripts")) {
    if (entry.path().extension() == ".txt") names.push_back(entry.path().stem().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

class RaftScript : public ::testing::TestWithParam<std::string> {};

TEST_P(RaftScript, ProducesTheExpectedMessagesAndStates) {
  const std::string path = CAIRN_SOURCE_DIR "/tests/core/raft_scripts/" + GetParam() + ".txt";
  const bool rewrite = std::getenv("CAIRN_REWRITE_RAFT_SCRIPTS") != nullptr;
  std::ifstream original_file(path);
  std::stringstream original;
  original << original_file.rdbuf();
  ScriptRunner runner;
  std::string rewritten;
  std::vector<ScriptCommand> commands = parse_script(path);
  ASSERT_FALSE(commands.empty()) << path;
  for (const ScriptCommand& command : commands) {
    const std::string actual = runner.run(command.text);
    if (!rewrite) {
      EXPECT_EQ(actual, command.expected) << path << ":" << command.line << ": " << command.text;
    }
  }
  if (rewrite) {
    // Keep comments and layout; replace each command's expected block.
    std::istringstream lines(original.str());
    std::string line;
    ScriptRunner rewriter;
    while (std::getline(lines, line)) {
      if (line.empty() || line[0] == '#') {
        rewritten += line + "\n";
        continue;
      }
      rewritten += line + "\n----\n" + rewriter.run(line) + "\n";
      std::getline(lines, line);  // ----
      while (std::getline(lines, line) && !line.empty()) {
      }
    }
    std::ofstream(path) << rewritten;
  }
}

INSTANTIATE_TEST_SUITE_P(Scripts, RaftScript, ::testing::ValuesIn(script_names()),
                         [](const ::testing::TestParamInfo<std::string>& parameter) {
                           std::string name = parameter.param;
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

}  // namespace
}  // namespace cairn::raft::testing
