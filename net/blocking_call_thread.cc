// Blocking system calls off the event loop's thread (blocking_call_thread.h).
#include "net/blocking_call_thread.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>

#include "core/runtime/assert.h"
#include "core/runtime/scheduler.h"

namespace cairn::net {

// Shared by the fiber and the worker; whichever lets go last closes the eventfd, so the worker
// never writes to a descriptor the fiber closed (and the kernel reused).
struct BlockingCallThread::Call {
  std::function<int()> call;
  int event_fd = -1;
  int result = 0;
  ~Call() {
    if (event_fd >= 0) ::close(event_fd);
  }
};

BlockingCallThread::BlockingCallThread(EpollLoop& loop) : loop_(&loop), worker_([this] { work(); }) {}

BlockingCallThread::~BlockingCallThread() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  worker_.join();
}

int BlockingCallThread::run(std::function<int()> call) {
  Scheduler* scheduler = Scheduler::current();
  if (scheduler == nullptr || scheduler->running() == nullptr) return call();
  auto pending = std::make_shared<Call>();
  pending->call = std::move(call);
  pending->event_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (pending->event_fd < 0) return pending->call();  // out of descriptors: block the loop instead
  if (!loop_->watch(pending->event_fd).ok()) return pending->call();
  struct Unwatch {
    EpollLoop* loop;
    int fd;
    ~Unwatch() { loop->unwatch(fd); }
  } unwatch{loop_, pending->event_fd};
  {
    std::lock_guard lock(mutex_);
    CAIRN_ASSERT(queue_.size() < kMaxQueuedCalls, "too many blocking calls queued");
    queue_.push_back(pending);
  }
  wake_.notify_one();
  uint64_t signalled = 0;
  while (::read(pending->event_fd, &signalled, sizeof signalled) != static_cast<ssize_t>(sizeof signalled)) {
    loop_->wait_readable(pending->event_fd);  // may throw FiberCancelled: the worker finishes alone
  }
  return pending->result;
}

void BlockingCallThread::work() {
  while (true) {
    std::shared_ptr<Call> next;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and nothing left to do
      next = std::move(queue_.front());
      queue_.pop_front();
    }
    next->result = next->call();
    const uint64_t one = 1;
    while (::write(next->event_fd, &one, sizeof one) < 0 && errno == EINTR) {
    }
  }
}

}  // namespace cairn::net
