// A single simulated machine for storage tests: run a piece of code in its process, crash it
// (kill -9: unsynced data is lost, or torn with DISK_TORN_WRITE), run the next piece in the
// next incarnation, and reach into its disk to damage files the way a bad drive would.
#pragma once

#include <functional>
#include <memory>
#include <string_view>

#include "sim/fault_plan.h"
#include "sim/sim_disk.h"
#include "sim/sim_node.h"
#include "sim/simulator.h"
#include "tests/sim/sim_harness.h"

namespace cairn::storage::testing {

class SingleMachine {
 public:
  explicit SingleMachine(uint64_t seed, const sim::FaultPlan* faults = nullptr, bool corruptible_disk = false)
      : simulator_(seed) {
    simulator_.install_network(
        std::make_unique<sim::SimNetwork>(simulator_, sim::testing::fixed_latency_network(1), nullptr));
    sim::SimNodeOptions options{.id = 1,
                                .region = "r",
                                .disk = sim::testing::fast_disk(),
                                .corruptible_disk = corruptible_disk,
                                .faults = faults};
    node_ = &simulator_.add_node(std::make_unique<sim::SimNode>(
        simulator_, options, [this](Runtime& runtime, const sim::BootContext&) {
          if (body_) body_(runtime);
          finished_ = true;
        }));
  }

  // Starts the machine (restarting it if it crashed), runs `body` in its main fiber, and returns
  // whether the body finished within `limit` of simulated time. The machine stays up.
  bool run(std::function<void(Runtime&)> body, Duration limit = seconds(3600)) {
    return run_until(std::move(body), [this] { return finished_; }, limit);
  }

  // As run(), but stops as soon as `reached()` holds (the body may still be running: crash()
  // then kills it where it stands).
  bool run_until(std::function<void(Runtime&)> body, const std::function<bool()>& reached,
                 Duration limit = seconds(3600)) {
    body_ = std::move(body);
    finished_ = false;
    if (node_->up()) node_->crash();
    node_->start();
    return simulator_.run_until(simulator_.now() + limit.count(), reached);
  }

  // Power loss now.
  void crash() {
    if (node_->up()) node_->crash();
  }

  // Overwrites bytes of a file in both the cache and the durable image, as silent corruption on
  // the medium would. The file must exist.
  void corrupt(std::string_view path, uint64_t offset, std::span<const std::byte> bytes) {
    auto inode = node_->disk().open(path, OpenOptions::read_write());
    CAIRN_ASSERT(inode.ok(), "corrupt(): no such file");
    for (std::vector<std::byte>* image : {&(*inode)->current, &(*inode)->durable}) {
      CAIRN_ASSERT(offset + bytes.size() <= image->size(), "corrupt(): past the end of the file");
      std::copy(bytes.begin(), bytes.end(), image->begin() + static_cast<std::ptrdiff_t>(offset));
    }
  }
  void flip_bit(std::string_view path, uint64_t offset, int bit) {
    auto image = node_->disk().durable_image(path);
    CAIRN_ASSERT(image.has_value() && offset < image->size(), "flip_bit(): no such byte");
    const std::byte flipped = (*image)[offset] ^ static_cast<std::byte>(1u << bit);
    corrupt(path, offset, std::span<const std::byte>(&flipped, 1));
  }
  std::vector<std::byte> durable_image(std::string_view path) {
    auto image = node_->disk().durable_image(path);
    return image ? *image : std::vector<std::byte>{};
  }

  sim::SimNode& node() { return *node_; }
  sim::Simulator& simulator() { return simulator_; }

 private:
  sim::Simulator simulator_;
  sim::SimNode* node_ = nullptr;
  std::function<void(Runtime&)> body_;
  bool finished_ = false;
};

}  // namespace cairn::storage::testing
