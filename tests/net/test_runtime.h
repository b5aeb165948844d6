// A client-only EpollRuntime for tests of the real runtime: node 1, no signal handling, only
// warnings logged.
#pragma once

#include <gtest/gtest.h>

#include <memory>

#include "net/epoll_runtime.h"

namespace cairn::net::testing {

inline std::unique_ptr<EpollRuntime> make_test_runtime() {
  EpollRuntime::Options options;
  options.node_id = 1;
  options.handle_signals = false;
  options.log_level = LogLevel::kWarning;
  auto runtime = EpollRuntime::create(options);
  EXPECT_TRUE(runtime.ok()) << runtime.status().to_string();
  return std::move(runtime).value();
}

}  // namespace cairn::net::testing
