// The write-ahead log's crash-safety property (RapidCheck, on a simulated node): after random
// sequences of concurrent appends, crashes in the middle of them (with and without torn writes),
// crashes during the recovery that follows, clean reopens and remove_before, every open of the
// log finds
//  - every acknowledged record (and every record an earlier open recovered), with its exact type
//    and payload, from the expected first index on: nothing acknowledged is ever lost;
//  - consecutive indexes, each record passing its checksum on read;
//  - unacknowledged records only as whole records, only ones whose append was in flight at the
//    last crash, each at most once, and only after every acknowledged one (at the tail);
//  - reads outside [first_index, last_index] refused with OUT_OF_RANGE.
// Every payload starts with the id of the append attempt that wrote it, so a record read back
// can be traced to exactly one attempt.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <map>
#include <ostream>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "core/runtime/event.h"
#include "storage/wal/wal_format.h"
#include "storage/wal/write_ahead_log.h"
#include "tests/sim/sim_harness.h"
#include "tests/support/reaching_property.h"

namespace cairn {
namespace {

using sim::BootContext;
using sim::FaultPlan;

const WalOptions kOptions{.max_record_bytes = 16 * 1024,
                          .max_segment_bytes = 4 * wal::kBlockSize,
                          .max_pending_records = 64,
                          .max_pending_bytes = 64 * 1024};

struct Step {
  enum Kind { kAppend, kCrash, kReopen, kRemoveBefore };
  Kind kind = kAppend;
  // One entry per appender fiber: the payload sizes of the group it appends (1 = append()).
  std::vector<std::vector<uint32_t>> groups;
  bool torn_writes = false;     // kCrash: unsynced sectors survive at random
  uint32_t crash_after_us = 0;  // kCrash: how long the appends run before the power goes
  // kCrash: if not 0, the power goes again this long after the restart, while recovery may still
  // be truncating or rewriting the tail.
  uint32_t crash_in_recovery_us = 0;
  uint32_t remove_permille = 0; // kRemoveBefore: where in [first, last + 1] to cut
};

void showValue(const Step& step, std::ostream& os) {  // how RapidCheck prints a failing case
  static const char* const kNames[] = {"append", "crash", "reopen", "remove_before"};
  os << kNames[step.kind] << "{groups=" << step.groups.size();
  if (step.kind == Step::kCrash) {
    os << " torn=" << step.torn_writes << " after_us=" << step.crash_after_us
       << " in_recovery_us=" << step.crash_in_recovery_us;
  }
  if (step.kind == Step::kRemoveBefore) os << " permille=" << step.remove_permille;
  os << "}";
}

rc::Gen<std::vector<std::vector<uint32_t>>> groups_generator() {
  const auto size = rc::gen::oneOf(rc::gen::inRange<uint32_t>(8, 600), rc::gen::inRange<uint32_t>(600, 9000));
  const auto group = rc::gen::mapcat(rc::gen::inRange(1, 5), [size](int records) {
    return rc::gen::container<std::vector<uint32_t>>(static_cast<std::size_t>(records), size);
  });
  return rc::gen::mapcat(rc::gen::inRange(1, 9), [group](int appenders) {
    return rc::gen::container<std::vector<std::vector<uint32_t>>>(static_cast<std::size_t>(appenders), group);
  });
}

rc::Gen<Step> step_generator() {
  return rc::gen::build<Step>(
      rc::gen::set(&Step::kind, rc::gen::element(Step::kAppend, Step::kAppend, Step::kCrash, Step::kCrash,
                                                 Step::kReopen, Step::kRemoveBefore)),
      rc::gen::set(&Step::groups, groups_generator()), rc::gen::set(&Step::torn_writes, rc::gen::arbitrary<bool>()),
      rc::gen::set(&Step::crash_after_us, rc::gen::inRange<uint32_t>(0, 3000)),
      rc::gen::set(&Step::crash_in_recovery_us,
                   rc::gen::oneOf(rc::gen::just<uint32_t>(0), rc::gen::inRange<uint32_t>(1, 1500))),
      rc::gen::set(&Step::remove_permille, rc::gen::inRange<uint32_t>(0, 1200)));
}

// What the log must contain, kept by the harness.
struct Model {
  std::map<uint64_t, std::vector<std::byte>> payloads;  // attempt id -> payload (its type: 1 + id % 3)
  std::map<uint64_t, uint64_t> durable;                 // index -> attempt id that must be there
  std::set<uint64_t> in_flight;                         // attempts not acknowledged since the last open
  uint64_t first_index = 1;
  uint64_t next_attempt = 1;
};

uint8_t type_of(uint64_t attempt) { return static_cast<uint8_t>(1 + attempt % 3); }

std::vector<std::byte> payload_of(uint64_t attempt, uint32_t size) {
  std::vector<std::byte> payload(std::max<uint32_t>(size, 8));
  wal::store_u64(payload.data(), attempt);
  Random random(attempt);
  for (std::size_t i = 8; i < payload.size(); ++i) payload[i] = static_cast<std::byte>(random.next_u64());
  return payload;
}

// Drives one simulated node: its main fiber keeps the log open until asked to close and reopen
// it; the harness spawns appenders and checkers into the node and crashes it at will. Failures
// seen inside fibers are collected in `problems` (RapidCheck assertions cannot cross a fiber).
class LogHarness {
 public:
  explicit LogHarness(uint64_t seed)
      : world_(seed, 1, [this](Runtime& runtime, const BootContext&) { host(runtime); }, &faults_) {
    world_.start_all();
  }

  sim::SimNode& node() { return world_.node(1); }

  // Waits until the node's main fiber has opened the log `opens` times in all.
  void wait_for_open(uint64_t opens) {
    RC_ASSERT(run_until([&] { return opens_ >= opens; }));
    RC_ASSERT(open_status_.ok());
    RC_ASSERT(log_ != nullptr);
  }
  uint64_t opens() const { return opens_; }

  // Starts one appender fiber per group; returns once they are all running.
  void start_appends(const std::vector<std::vector<uint32_t>>& groups, Model& model) {
    for (const std::vector<uint32_t>& sizes : groups) {
      std::vector<uint64_t> attempts;
      for (uint32_t size : sizes) {
        const uint64_t attempt = model.next_attempt++;
        model.payloads[attempt] = payload_of(attempt, size);
        model.in_flight.insert(attempt);
        attempts.push_back(attempt);
      }
      spawn_tracked("appender", [this, attempts, &model] { append_group(attempts, model); });
    }
  }
  void wait_for_fibers() { RC_ASSERT(run_until([&] { return live_fibers_ == 0; })); }

  void crash(bool torn_writes, Duration after) {
    world_.run_for(after);
    if (torn_writes) faults_ = sim::testing::plan_with(proto::DISK_TORN_WRITE, 0.5);
    node().crash();
    faults_ = FaultPlan{};
    RC_ASSERT(live_fibers_ == 0);
    node().start();
  }
  // Crashes again `after` the last restart if the log is not open yet (recovery was under way).
  void crash_during_recovery(bool torn_writes, Duration after, uint64_t opens_before) {
    world_.run_for(after);
    if (opens_ > opens_before) return;
    crash(torn_writes, Duration{0});
  }
  void reopen() {
    close_requested_.set();
  }

  // Checks the open log against the model, then records what it holds as durable.
  void verify(Model& model) {
    spawn_tracked("verifier", [this, &model] { check_log(*log_, model); });
    wait_for_fibers();
  }

  void remove_before(uint32_t permille, Model& model) {
    spawn_tracked("compactor", [this, permille, &model] {
      const uint64_t old_first = log_->first_index();
      const uint64_t target = old_first + (log_->last_index() + 1 - old_first) * permille / 1000;
      const Status removed = log_->remove_before(target);
      if (!removed.ok()) return problem("remove_before failed: " + removed.to_string());
      const uint64_t first = log_->first_index();
      if (first != old_first && first > target) problem("remove_before went past its target");
      const std::vector<WalSegmentInfo> segments = log_->segments();
      if (segments.size() >= 2 && segments[1].first_index <= target) problem("a removable segment was kept");
      if (segments.front().first_index != first) problem("first_index is not the first segment's");
      model.first_index = first;
      model.durable.erase(model.durable.begin(), model.durable.lower_bound(first));
    });
    wait_for_fibers();
  }

  const std::vector<std::string>& problems() const { return problems_; }

 private:
  // The node's main fiber: open, serve until asked to close, repeat. Dies with the process.
  void host(Runtime& runtime) {
    while (true) {
      Result<std::unique_ptr<WriteAheadLog>> opened = WriteAheadLog::open_log(runtime, kOptions);
      open_status_ = opened.status();
      ++opens_;
      if (!opened.ok()) Event().wait();  // the harness fails the case
      std::unique_ptr<WriteAheadLog> log = std::move(opened).value();
      struct Published {
        WriteAheadLog** slot;
        ~Published() { *slot = nullptr; }
      } published{&log_};
      log_ = log.get();
      close_requested_.wait();
      close_requested_.reset();
    }
  }

  void append_group(const std::vector<uint64_t>& attempts, Model& model) {
    WriteAheadLog& log = *log_;
    std::vector<WalRecordInput> records;
    for (uint64_t attempt : attempts) records.push_back({.type = type_of(attempt), .payload = model.payloads[attempt]});
    Result<uint64_t> first = records.size() == 1 ? log.append(records[0].type, records[0].payload)
                                                 : log.append_batch(records);
    if (!first.ok()) return problem("append failed: " + first.status().to_string());
    for (std::size_t i = 0; i < attempts.size(); ++i) {
      if (model.durable.count(*first + i) != 0) problem("index " + std::to_string(*first + i) + " given twice");
      model.durable[*first + i] = attempts[i];
      model.in_flight.erase(attempts[i]);
    }
  }

  void check_log(WriteAheadLog& log, Model& model) {
    const uint64_t first = log.first_index();
    const uint64_t last = log.last_index();
    if (first != model.first_index) {
      problem("first index " + std::to_string(first) + ", expected " + std::to_string(model.first_index));
    }
    if (!model.durable.empty() && model.durable.rbegin()->first > last) {
      problem("acknowledged record " + std::to_string(model.durable.rbegin()->first) + " lost; last index is " +
              std::to_string(last) + "; " + log.recovery_report().summary());
    }
    if (log.read(first - 1).status().code() != StatusCode::kOutOfRange) problem("read below first index");
    if (log.read(last + 1).status().code() != StatusCode::kOutOfRange) problem("read above last index");
    bool past_acknowledged = false;
    for (uint64_t index = first; index <= last; ++index) {
      Result<WalRecord> record = log.read(index);
      if (!record.ok()) return problem("read " + std::to_string(index) + ": " + record.status().to_string());
      if (record->index != index || record->payload.size() < 8) return problem("bad record " + std::to_string(index));
      const uint64_t attempt = wal::load_u64(record->payload.data());
      auto expected = model.payloads.find(attempt);
      if (expected == model.payloads.end() || expected->second != record->payload || record->type != type_of(attempt)) {
        return problem("record " + std::to_string(index) + " is not what attempt " + std::to_string(attempt) + " wrote");
      }
      auto durable = model.durable.find(index);
      if (durable != model.durable.end()) {
        if (durable->second != attempt) return problem("record " + std::to_string(index) + " was replaced");
        if (past_acknowledged) return problem("acknowledged record " + std::to_string(index) + " after unacknowledged ones");
      } else {
        if (model.in_flight.erase(attempt) == 0) {
          return problem("record " + std::to_string(index) + " (attempt " + std::to_string(attempt) +
                         ") was not in flight at the crash, or appears twice");
        }
        past_acknowledged = true;
        model.durable[index] = attempt;  // recovery made it durable: it must stay
      }
    }
    model.in_flight.clear();  // in-flight appends that did not survive this open never will
  }

  template <typename Body>
  void spawn_tracked(std::string name, Body body) {
    ++live_fibers_;
    node().spawn(std::move(name), [this, body = std::move(body)] {
      struct Done {
        int* live;
        ~Done() { --*live; }
      } done{&live_fibers_};
      body();
    });
  }
  bool run_until(const std::function<bool()>& condition) {
    return world_.simulator.run_until(world_.simulator.now() + seconds(600).count(), condition);
  }
  void problem(std::string text) { problems_.push_back(std::move(text)); }

  FaultPlan faults_;
  WriteAheadLog* log_ = nullptr;
  Status open_status_;
  uint64_t opens_ = 0;
  Event close_requested_;
  int live_fibers_ = 0;
  std::vector<std::string> problems_;
  // Last: destroyed first, so the node's fibers unwind while everything they use still exists.
  sim::testing::World world_;
};

RC_REACHING_PROP(WalProperty, AcknowledgedRecordsSurviveCrashesTornWritesReopensAndCompaction,
                 "a crash with torn writes", 0.8, 100, ()) {
  const uint64_t seed = *rc::gen::inRange<uint64_t>(1, 1'000'000'000);
  const int step_count = *rc::gen::inRange(1, 40);
  const auto steps = *rc::gen::container<std::vector<Step>>(static_cast<std::size_t>(step_count), step_generator());
  LogHarness harness(seed);
  Model model;
  int torn_crashes = 0;
  harness.wait_for_open(1);
  for (const Step& step : steps) {
    switch (step.kind) {
      case Step::kAppend:
        harness.start_appends(step.groups, model);
        harness.wait_for_fibers();
        harness.verify(model);  // the live log, without a reopen
        break;
      case Step::kCrash: {
        torn_crashes += step.torn_writes ? 1 : 0;
        const uint64_t opens = harness.opens();
        harness.start_appends(step.groups, model);
        harness.crash(step.torn_writes, microseconds(step.crash_after_us));
        if (step.crash_in_recovery_us > 0) {
          harness.crash_during_recovery(step.torn_writes, microseconds(step.crash_in_recovery_us), opens);
        }
        harness.wait_for_open(opens + 1);
        harness.verify(model);
        break;
      }
      case Step::kReopen: {
        const uint64_t opens = harness.opens();
        harness.reopen();
        harness.wait_for_open(opens + 1);
        harness.verify(model);
        break;
      }
      case Step::kRemoveBefore:
        harness.remove_before(step.remove_permille, model);
        harness.verify(model);
        break;
    }
    if (!harness.problems().empty()) {
      std::string all;
      for (const std::string& problem : harness.problems()) all += problem + "\n";
      RC_FAIL(all);
    }
  }
  RC_CLASSIFY(torn_crashes > 0, "a crash with torn writes");
}

}  // namespace
}  // namespace cairn
