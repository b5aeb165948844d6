// The human-readable summary of a write-ahead log's recovery (see wal_recovery_report.h).
#include "storage/wal/wal_recovery_report.h"

namespace cairn {

std::string WalRecoveryReport::summary() const {
  std::string text;
  if (created) {
    text = "created a new log starting at index " + std::to_string(first_index);
  } else {
    text = "recovered " + std::to_string(segments) + (segments == 1 ? " segment" : " segments");
    if (records == 0) {
      text += ", no records (next index " + std::to_string(first_index) + ")";
    } else {
      text += ", records " + std::to_string(first_index) + ".." + std::to_string(last_index) + " (" +
              std::to_string(records) + ")";
    }
  }
  for (const std::string& path : removed_torn_segments) text += "; removed torn segment creation " + path;
  if (torn_tail) {
    text += "; torn tail dropped: " + std::to_string(torn_tail->bytes_dropped) +
            (torn_tail->all_zero ? " zero bytes of " : " bytes of ") + torn_tail->segment_path + " at offset " +
            std::to_string(torn_tail->offset) + " (" + torn_tail->reason + ")";
  }
  for (const WalDamagedRange& range : damaged) {
    text += "; salvaged around damage: ";
    text += range.last_index >= range.first_index
                ? "indexes " + std::to_string(range.first_index) + ".." + std::to_string(range.last_index)
                : "an unknown number of records from index " + std::to_string(range.first_index) + " (truncated)";
    text += " unreadable in " + range.path + " at offset " + std::to_string(range.offset) + " (" + range.reason + ")";
  }
  return text;
}

}  // namespace cairn
