// The register checks on hand-made histories: each passes a correct history and fails the
// specific anomaly it exists to catch, naming the operations involved.
#include <gtest/gtest.h>

#include "core/register/register_store.h"
#include "sim/checkers/register_checker.h"

namespace cairn::sim {
namespace {

proto::RegisterValue version(uint64_t sequence, uint64_t writer, const std::string& data) {
  proto::RegisterValue value;
  value.set_sequence(sequence);
  value.set_writer(writer);
  value.set_data(data);
  return value;
}

RegisterOperation write_op(uint64_t client, int64_t start, int64_t end, proto::RegisterValue value,
                           OperationOutcome outcome = OperationOutcome::kOk) {
  RegisterOperation operation;
  operation.client = client;
  operation.write = true;
  operation.invoked_at = start;
  operation.completed_at = end;
  operation.outcome = outcome;
  operation.written_data = value.data();
  operation.value = std::move(value);
  return operation;
}

RegisterOperation read_op(uint64_t client, int64_t start, int64_t end, proto::RegisterValue value) {
  RegisterOperation operation;
  operation.client = client;
  operation.invoked_at = start;
  operation.completed_at = end;
  operation.outcome = OperationOutcome::kOk;
  operation.value = std::move(value);
  return operation;
}

TEST(RegisterChecks, ReadAfterAcknowledgedWriteMustSeeIt) {
  RegisterHistory good{write_op(1, 0, 10, version(1, 1, "a")), read_op(2, 20, 30, version(1, 1, "a"))};
  EXPECT_TRUE(check_reads_see_acknowledged_writes(good).passed);
  RegisterHistory stale{write_op(1, 0, 10, version(1, 1, "a")), write_op(1, 11, 15, version(2, 1, "b")),
                        read_op(2, 20, 30, version(1, 1, "a"))};
  CheckOutcome outcome = check_reads_see_acknowledged_writes(stale);
  EXPECT_FALSE(outcome.passed);
  EXPECT_NE(outcome.detail.find("read #2"), std::string::npos) << outcome.detail;
  EXPECT_NE(outcome.detail.find("write #1"), std::string::npos) << outcome.detail;
}

TEST(RegisterChecks, ConcurrentReadMayReturnTheOlderValue) {
  // The read overlaps the write: either value is allowed.
  RegisterHistory history{write_op(1, 0, 10, version(1, 1, "a")), write_op(1, 20, 40, version(2, 1, "b")),
                          read_op(2, 25, 30, version(1, 1, "a"))};
  EXPECT_TRUE(check_reads_see_acknowledged_writes(history).passed);
}

TEST(RegisterChecks, ReadAfterReadMustNotGoBack) {
  RegisterHistory history{write_op(1, 0, 50, version(2, 1, "b")), read_op(2, 1, 10, version(2, 1, "b")),
                          read_op(3, 20, 30, version(0, 0, ""))};
  EXPECT_FALSE(check_reads_see_acknowledged_writes(history).passed);
}

TEST(RegisterChecks, ReadsMustReturnWrittenData) {
  RegisterHistory good{write_op(1, 0, 10, version(1, 1, "a")), read_op(2, 5, 30, version(1, 1, "a")),
                       read_op(2, 0, 1, version(0, 0, ""))};
  EXPECT_TRUE(check_reads_return_written_values(good).passed);
  RegisterHistory invented{write_op(1, 0, 10, version(1, 1, "a")), read_op(2, 5, 30, version(1, 1, "z"))};
  EXPECT_FALSE(check_reads_return_written_values(invented).passed);
  RegisterHistory failed_write{write_op(1, 0, 10, version(0, 1, "a"), OperationOutcome::kFailed),
                               read_op(2, 5, 30, version(1, 1, "a"))};
  EXPECT_FALSE(check_reads_return_written_values(failed_write).passed) << "a failed write stored nothing";
  RegisterHistory unknown_write{write_op(1, 0, 10, version(1, 1, "a"), OperationOutcome::kUnknown),
                                read_op(2, 5, 30, version(1, 1, "a"))};
  EXPECT_TRUE(check_reads_return_written_values(unknown_write).passed) << "an unknown write may have landed";
}

std::vector<std::byte> file_image(const proto::RegisterValue& value, bool recovering = false) {
  std::vector<std::byte> image;
  for (uint32_t slot = 0; slot < 2; ++slot) {
    proto::RegisterSlot record;
    record.set_generation(slot + 1);
    record.set_recovering(recovering);
    *record.mutable_value() = slot == 1 ? value : proto::RegisterValue();
    const auto bytes = RegisterStore::encode_slot(record, slot);
    image.insert(image.end(), bytes.begin(), bytes.end());
  }
  return image;
}

TEST(RegisterChecks, DurabilityCountsWhatARestartWouldFind) {
  RegisterHistory history{write_op(1, 0, 10, version(5, 1, "five"))};
  RegisterCheckInput input;
  input.history = &history;
  input.durable_register_files = {file_image(version(5, 1, "five")), file_image(version(5, 1, "five")),
                                  file_image(version(4, 1, "four"))};
  EXPECT_TRUE(check_acknowledged_writes_durable(input).passed);

  input.durable_register_files = {file_image(version(5, 1, "five")), file_image(version(4, 1, "four")),
                                  file_image(version(4, 1, "four"))};
  EXPECT_FALSE(check_acknowledged_writes_durable(input).passed) << "a majority would read the older value";

  auto damaged = file_image(version(5, 1, "five"));
  damaged[RegisterStore::kSlotSize + 16] ^= std::byte{1};  // the newer slot's payload
  input.durable_register_files = {damaged, file_image(version(5, 1, "five")), std::nullopt};
  CheckOutcome outcome = check_acknowledged_writes_durable(input);
  EXPECT_FALSE(outcome.passed) << "one intact server of three is not a majority";
  EXPECT_NE(outcome.detail.find("damaged"), std::string::npos) << outcome.detail;

  input.durable_register_files = {file_image(version(5, 1, "five")), file_image(version(5, 1, "five")),
                                  file_image(version(0, 0, ""), /*recovering=*/true)};
  EXPECT_TRUE(check_acknowledged_writes_durable(input).passed) << "a recovering node will rebuild from the others";
}

TEST(RegisterChecks, LivenessNeedsEveryClientToProgressAfterHealing) {
  RegisterHistory history{read_op(1001, 60, 70, version(0, 0, "")), read_op(1002, 10, 20, version(0, 0, ""))};
  RegisterCheckInput input;
  input.history = &history;
  input.clients = {1001, 1002};
  input.quiesce_started_at = 0;
  input.ended_at = 100;
  CheckOutcome outcome = check_liveness(input);
  EXPECT_FALSE(outcome.passed);
  EXPECT_NE(outcome.detail.find("1002"), std::string::npos) << outcome.detail;
  history.push_back(read_op(1002, 80, 90, version(0, 0, "")));
  EXPECT_TRUE(check_liveness(input).passed);
}

}  // namespace
}  // namespace cairn::sim
