// EpollLoop: the real event loop. It drives the same fiber Scheduler as the simulator (in FIFO
// order), real-time timers, readiness of file descriptors, and SIGTERM/SIGINT through a
// signalfd, from one thread.
//
// Fibers do I/O on non-blocking descriptors: try the call, and on EAGAIN park with
// wait_readable()/wait_writable() until epoll reports the descriptor ready (edge-triggered).
#pragma once

#include <csignal>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>

#include "core/runtime/scheduler.h"
#include "core/runtime/status.h"
#include "core/runtime/time.h"
#include "core/runtime/timer_queue.h"
#include "core/runtime/wait_list.h"

namespace cairn::net {

class EpollLoop {
 public:
  // `handle_signals`: block SIGTERM and SIGINT and deliver them to on_signal() instead. They stay
  // blocked after the loop is gone, so that a second signal during shutdown cannot kill the
  // process mid-way (a daemon exits right after).
  static Result<std::unique_ptr<EpollLoop>> create(bool handle_signals);
  ~EpollLoop();
  EpollLoop(const EpollLoop&) = delete;
  EpollLoop& operator=(const EpollLoop&) = delete;

  Scheduler& scheduler() { return scheduler_; }

  // CLOCK_MONOTONIC and CLOCK_REALTIME in nanoseconds.
  static int64_t monotonic_nanos();
  static int64_t wall_nanos();

  TimerId add_timer(Duration delay, std::function<void()> callback);
  void cancel_timer(TimerId id) { timers_.cancel(id); }

  // Watches a non-blocking descriptor. It must be unwatched (before close) with no fiber waiting.
  Status watch(int fd);
  void unwatch(int fd);
  // Park the calling fiber until the descriptor may be readable / writable again.
  void wait_readable(int fd);
  void wait_writable(int fd);

  // Called on the loop for SIGTERM / SIGINT (when handling signals).
  void on_signal(std::function<void(int signal)> handler) { signal_handler_ = std::move(handler); }

  // Runs fibers, timers and I/O until `done()` holds.
  void run_until(const std::function<bool()>& done);

 private:
  struct Watched {
    bool readable = true;
    bool writable = true;
    WaitList readers;
    WaitList writers;
  };

  EpollLoop(int epoll_fd, int signal_fd);
  Watched& watched(int fd);
  void dispatch(int fd, uint32_t events);
  void read_signals();

  int epoll_fd_;
  int signal_fd_;
  Scheduler scheduler_;
  Scheduler::Installation installation_;
  TimerQueue timers_;
  std::map<int, std::unique_ptr<Watched>> watched_;
  std::function<void(int)> signal_handler_;
};

// Formats errno as "what: strerror (errno N)" for error messages.
std::string errno_message(const std::string& what, int error);
// Maps an errno to a Status with a sensible code.
Status errno_status(const std::string& what, int error);

}  // namespace cairn::net

// errno_status(what, errno) with errno read before `what` is built: the order in which function
// arguments are evaluated is unspecified, and building a message may allocate.
#define CAIRN_ERRNO_STATUS(what)                             \
  ([&] {                                                     \
    const int cairn_saved_errno = errno;                     \
    return ::cairn::net::errno_status((what), cairn_saved_errno); \
  }())

namespace cairn::net {

}  // namespace cairn::net
