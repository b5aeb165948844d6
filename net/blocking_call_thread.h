// BlockingCallThread: runs the system calls that block on the disk (fdatasync) on a thread of
// their own, so that the event loop's one thread keeps serving the network, timers and every
// other fiber while a sync takes its millisecond or ten. Without it a daemon stood still for
// every fsync: no Raft message read, no request parsed.
//
// The calling fiber parks until the call returns, woken through an eventfd the loop watches.
// Calls run one at a time in submission order (a disk serves one sync at a time anyway). Called
// outside a fiber (a test on the main thread, start-up code), run() makes the call inline.
//
// A fiber cancelled while its call runs unwinds at once; the call finishes on the worker and its
// result is dropped. The descriptor it syncs may be closed meanwhile; fdatasync on a closed or
// reused descriptor changes no data, so that is harmless.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include "net/epoll_loop.h"

namespace cairn::net {

class BlockingCallThread {
 public:
  explicit BlockingCallThread(EpollLoop& loop);
  ~BlockingCallThread();  // waits for the call in progress, if any
  BlockingCallThread(const BlockingCallThread&) = delete;
  BlockingCallThread& operator=(const BlockingCallThread&) = delete;

  // Runs `call` (a system call wrapper returning 0 or an errno) and returns what it returned.
  int run(std::function<int()> call);

  // Limit: calls waiting for the worker. Each is a parked fiber, so this bounds nothing the
  // fibers do not bound already; it is asserted as a guard against a runaway caller.
  static constexpr std::size_t kMaxQueuedCalls = 4096;

 private:
  struct Call;
  void work();

  EpollLoop* loop_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::shared_ptr<Call>> queue_;
  bool stopping_ = false;
  std::thread worker_;  // last: it uses everything above
};

}  // namespace cairn::net
