// A KvStateMachine with an engine of its own, for tests of one range (the Store shares one
// engine among all of a node's ranges; core/node/store.h).
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "core/kv/kv_state_machine.h"
#include "storage/kv/kv_engine.h"

namespace cairn::kv::testing {

struct OpenRange {
  std::shared_ptr<storage::KvEngine> engine;
  std::unique_ptr<KvStateMachine> machine;

  KvStateMachine* operator->() const { return machine.get(); }
  KvStateMachine& operator*() const { return *machine; }
  bool operator==(std::nullptr_t) const { return machine == nullptr; }
};

inline Result<OpenRange> open_range(Runtime& runtime, std::string path = "kv/data.db", KvStateMachineOptions options = {}) {
  OpenRange opened;
  CAIRN_ASSIGN_OR_RETURN(opened.engine, storage::KvEngine::open_engine(runtime, {.path = std::move(path)}));
  CAIRN_ASSIGN_OR_RETURN(opened.machine, KvStateMachine::open_range(runtime, opened.engine, options));
  return opened;
}

}  // namespace cairn::kv::testing
