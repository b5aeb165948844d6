// The epoll event loop driving fibers, timers, descriptors and signals (see epoll_loop.h).
#include "net/epoll_loop.h"

#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <ctime>

namespace cairn::net {
namespace {

int64_t clock_nanos(clockid_t clock) {
  timespec now{};
  ::clock_gettime(clock, &now);
  return static_cast<int64_t>(now.tv_sec) * 1'000'000'000LL + now.tv_nsec;
}

}  // namespace

std::string errno_message(const std::string& what, int error) {
  return what + ": " + std::strerror(error) + " (errno " + std::to_string(error) + ")";
}

Status errno_status(const std::string& what, int error) {
  std::string message = errno_message(what, error);
  switch (error) {
    case ENOENT: return Status::not_found(std::move(message));
    case EEXIST: return Status::already_exists(std::move(message));
    case ENOSPC:
    case EDQUOT: return Status::no_space(std::move(message));
    case EINVAL:
    case ENAMETOOLONG:
    case EISDIR:
    case ENOTDIR: return Status::invalid_argument(std::move(message));
    case EACCES:
    case EPERM:
    case EROFS:
    case ENOTEMPTY: return Status::failed_precondition(std::move(message));
    case ECONNREFUSED:
    case ECONNRESET:
    case EHOSTUNREACH:
    case ENETUNREACH:
    case ETIMEDOUT:
    case EPIPE: return Status::unavailable(std::move(message));
    case EMFILE:
    case ENFILE:
    case ENOMEM: return Status::resource_exhausted(std::move(message));
    default: return Status::io_error(std::move(message));
  }
}

int64_t EpollLoop::monotonic_nanos() { return clock_nanos(CLOCK_MONOTONIC); }
int64_t EpollLoop::wall_nanos() { return clock_nanos(CLOCK_REALTIME); }

Result<std::unique_ptr<EpollLoop>> EpollLoop::create(bool handle_signals) {
  const int epoll_fd = ::epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd < 0) return CAIRN_ERRNO_STATUS("epoll_create1");
  int signal_fd = -1;
  if (handle_signals) {
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGINT);
    sigset_t previous_mask;
    if (::sigprocmask(SIG_BLOCK, &signals, &previous_mask) != 0) {
      ::close(epoll_fd);
      return CAIRN_ERRNO_STATUS("sigprocmask");
    }
    auto undo = [&](const char* what) {
      Status status = CAIRN_ERRNO_STATUS(what);
      ::sigprocmask(SIG_SETMASK, &previous_mask, nullptr);
      if (signal_fd >= 0) ::close(signal_fd);
      ::close(epoll_fd);
      return status;
    };
    signal_fd = ::signalfd(-1, &signals, SFD_NONBLOCK | SFD_CLOEXEC);
    if (signal_fd < 0) return undo("signalfd");
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.fd = signal_fd;
    if (::epoll_ctl(epoll_fd, EPOLL_CTL_ADD, signal_fd, &event) != 0) return undo("epoll_ctl(signalfd)");
  }
  // Writing to a socket whose peer went away must give EPIPE, not kill the process.
  ::signal(SIGPIPE, SIG_IGN);
  return std::unique_ptr<EpollLoop>(new EpollLoop(epoll_fd, signal_fd));
}

EpollLoop::EpollLoop(int epoll_fd, int signal_fd)
    : epoll_fd_(epoll_fd),
      signal_fd_(signal_fd),
      scheduler_(Scheduler::Options{.order = Scheduler::Order::kFifo}),
      installation_(scheduler_) {}

EpollLoop::~EpollLoop() {
  if (signal_fd_ >= 0) ::close(signal_fd_);
  ::close(epoll_fd_);
}

TimerId EpollLoop::add_timer(Duration delay, std::function<void()> callback) {
  const int64_t due = monotonic_nanos() + std::max<int64_t>(0, delay.count());
  return timers_.add(due, 0, std::move(callback));
}

Status EpollLoop::watch(int fd) {
  auto [it, inserted] = watched_.emplace(fd, std::make_unique<Watched>());
  if (!inserted) return Status::already_exists("descriptor " + std::to_string(fd) + " is watched already");
  epoll_event event{};
  event.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
  event.data.fd = fd;
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &event) != 0) {
    const int error = errno;
    watched_.erase(it);
    return errno_status("epoll_ctl(add)", error);
  }
  return {};
}

void EpollLoop::unwatch(int fd) {
  auto it = watched_.find(fd);
  if (it == watched_.end()) return;
  CAIRN_ASSERT(it->second->readers.empty() && it->second->writers.empty(),
               "unwatching a descriptor that fibers still wait on");
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
  watched_.erase(it);
}

EpollLoop::Watched& EpollLoop::watched(int fd) {
  auto it = watched_.find(fd);
  CAIRN_ASSERT(it != watched_.end(), "waiting on a descriptor that is not watched");
  return *it->second;
}

// The entry is looked up again after every wake-up: nothing is held across a park.
void EpollLoop::wait_readable(int fd) {
  watched(fd).readable = false;
  while (!watched(fd).readable) wait_on(watched(fd).readers);
}

void EpollLoop::wait_writable(int fd) {
  watched(fd).writable = false;
  while (!watched(fd).writable) wait_on(watched(fd).writers);
}

void EpollLoop::dispatch(int fd, uint32_t events) {
  if (fd == signal_fd_) {
    read_signals();
    return;
  }
  auto it = watched_.find(fd);
  if (it == watched_.end()) return;
  Watched& state = *it->second;
  // Errors and hang-ups wake both sides: the next read or write reports what happened.
  const bool failed = (events & (EPOLLERR | EPOLLHUP)) != 0;
  if (failed || (events & (EPOLLIN | EPOLLRDHUP)) != 0) {
    state.readable = true;
    state.readers.notify_all();
  }
  if (failed || (events & EPOLLOUT) != 0) {
    state.writable = true;
    state.writers.notify_all();
  }
}

void EpollLoop::read_signals() {
  signalfd_siginfo info{};
  while (::read(signal_fd_, &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
    if (signal_handler_) signal_handler_(static_cast<int>(info.ssi_signo));
  }
}

void EpollLoop::run_until(const std::function<bool()>& done) {
  constexpr int kMaxEvents = 256;
  epoll_event events[kMaxEvents];
  while (true) {
    scheduler_.run_until_idle();
    if (done()) return;
    bool fired = false;
    while (auto callback = timers_.pop_due(monotonic_nanos())) {
      callback();
      fired = true;
    }
    // After timers fired there may be fibers to run: only peek at I/O then, so that a stream of
    // timers can delay but never starve the sockets.
    int timeout_ms = -1;
    if (fired || scheduler_.has_ready()) {
      timeout_ms = 0;
    } else if (auto next = timers_.next_due()) {
      const int64_t wait = *next - monotonic_nanos();
      timeout_ms = wait <= 0 ? 0 : static_cast<int>(std::min<int64_t>((wait + 999'999) / 1'000'000, 60'000));
    }
    const int count = ::epoll_wait(epoll_fd_, events, kMaxEvents, timeout_ms);
    if (count < 0) {
      CAIRN_ASSERT(errno == EINTR, errno_message("epoll_wait", errno));
      continue;
    }
    for (int i = 0; i < count; ++i) dispatch(events[i].data.fd, events[i].events);
  }
}

}  // namespace cairn::net
