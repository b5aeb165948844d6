// A message in short form for the trace's readers (the event log and the Perfetto export): what
// it is and the fields that explain a schedule — a Raft message's type, term, index, commit and
// how many entries; a key-value request's key and value size — instead of its bytes.
//
//   RaftMessage RAFT_APPEND group=1 term=3 index=41 log_term=3 commit=40 entries=2
//   KvWriteRequest group=1 put k2 value=16B client=1003 request=7
//   response to request 12: UNAVAILABLE the leader changed
#pragma once

#include <string>

#include "core/proto/envelope.pb.h"

namespace cairn::sim {

std::string describe_envelope(const proto::Envelope& envelope);

}  // namespace cairn::sim
