// The TCP transport's defences, in one process: the node runs on the real epoll runtime in this
// thread while a plain blocking socket in another thread plays a misbehaving peer or client.
// Covers the handshake timeout, oversized Hellos, a dialed peer that turns out to be another
// node, the connection cap, and the bounds of every send queue (to peers and to itself); and
// the addresses learned at run time (the node registry's) and what a refused dial reports.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <tuple>

#include "net/epoll_runtime.h"
#include "tests/net/raw_peer.h"

namespace cairn::net {
namespace {

using Clock = std::chrono::steady_clock;

EpollRuntime::Options quiet_options(NodeId id) {
  EpollRuntime::Options options;
  options.node_id = id;
  options.handle_signals = false;
  options.log_level = LogLevel::kError;
  return options;
}

using testing::connect_loopback;
using testing::hello_frame;
using testing::read_until_closed;

TEST(TcpTransport, SilentConnectionIsClosedAtTheHandshakeTimeout) {
  auto options = quiet_options(1);
  options.transport.handshake_timeout = milliseconds(150);
  auto runtime = EpollRuntime::create(options).value();
  std::atomic<double> closed_after{-1};
  runtime->run([&] {
    const uint16_t port = runtime->transport().listen("127.0.0.1:0").value();
    std::thread peer([port, &closed_after] {
      const int fd = connect_loopback(port);
      const auto start = Clock::now();
      if (read_until_closed(fd)) closed_after = std::chrono::duration<double>(Clock::now() - start).count();
      ::close(fd);
    });
    runtime->sleep(seconds(1));
    peer.join();
    return 0;
  });
  EXPECT_GE(closed_after.load(), 0.14);
  EXPECT_LT(closed_after.load(), 0.9);
  EXPECT_EQ(runtime->transport().stats().connections_rejected, 1u);
}

TEST(TcpTransport, AHelloLargerThanAHelloIsRefusedUnread) {
  auto runtime = EpollRuntime::create(quiet_options(1)).value();
  bool closed = false;
  runtime->run([&] {
    const uint16_t port = runtime->transport().listen("127.0.0.1:0").value();
    std::thread peer([port, &closed] {
      const int fd = connect_loopback(port);
      const std::string header("\x00\x20\x00\x00", 4);  // an 8 KiB first frame
      ::send(fd, header.data(), header.size(), MSG_NOSIGNAL);
      closed = read_until_closed(fd);
      ::close(fd);
    });
    runtime->sleep(milliseconds(300));
    peer.join();
    return 0;
  });
  EXPECT_TRUE(closed);
  EXPECT_EQ(runtime->transport().stats().connections_rejected, 1u);
}

TEST(TcpTransport, ADialedPeerThatIsAnotherNodeIsRefused) {
  // A listener that claims to be node 3 where node 2 was configured.
  const auto [listener, port] = testing::listen_loopback();
  ASSERT_GE(listener, 0);
  std::thread impostor([listener] {
    const int fd = ::accept(listener, nullptr, nullptr);
    const std::string hello = hello_frame(3);
    ::send(fd, hello.data(), hello.size(), MSG_NOSIGNAL);
    timeval timeout{2, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    read_until_closed(fd);
    ::close(fd);
  });
  auto options = quiet_options(1);
  options.peers[2] = "127.0.0.1:" + std::to_string(port);
  options.transport.backoff_min = seconds(5);  // one attempt within the test
  auto runtime = EpollRuntime::create(options).value();
  runtime->run([&] {
    proto::Envelope envelope;
    envelope.set_destination(2);
    EXPECT_TRUE(runtime->network().send(envelope).ok());
    runtime->sleep(milliseconds(300));
    return 0;
  });
  impostor.join();
  ::close(listener);
  EXPECT_EQ(runtime->transport().stats().handshakes_failed, 1u);
  EXPECT_EQ(runtime->transport().stats().connections_established, 0u);
}

TEST(TcpTransport, ConnectionsBeyondTheCapAreClosedOnArrival) {
  auto options = quiet_options(1);
  options.transport.max_incoming_connections = 2;
  options.transport.handshake_timeout = seconds(3);
  auto runtime = EpollRuntime::create(options).value();
  std::atomic<int> closed_early{0};
  runtime->run([&] {
    const uint16_t port = runtime->transport().listen("127.0.0.1:0").value();
    std::thread client([port, &closed_early] {
      // A burst: a connection counts from its accept, so with three open at once the third is
      // refused whatever the order of accepts. All three stay open until the refusal is seen (or
      // two seconds pass, well within the handshake timeout): closing one earlier would make
      // room for a late accept under a loaded machine.
      pollfd polls[3];
      for (pollfd& entry : polls) entry = pollfd{.fd = connect_loopback(port), .events = POLLIN, .revents = 0};
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
      while (std::chrono::steady_clock::now() < deadline) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (::poll(polls, 3, static_cast<int>(left.count()) + 1) > 0) break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));  // a second refusal, were there one
      for (const pollfd& entry : polls) {
        char byte;
        // The node sends its Hello only after reading ours; a connection it closed reads as EOF.
        if (::recv(entry.fd, &byte, 1, MSG_DONTWAIT) == 0) ++closed_early;
        ::close(entry.fd);
      }
    });
    runtime->sleep(milliseconds(2500));
    client.join();
    return 0;
  });
  EXPECT_EQ(closed_early.load(), 1);
  EXPECT_EQ(runtime->transport().stats().incoming.refused, 1u);
  EXPECT_EQ(runtime->transport().stats().incoming.accepted, 3u);
}

TEST(TcpTransport, SendQueuesAreBoundedInFramesAndBytes) {
  auto options = quiet_options(1);
  options.peers[2] = "127.0.0.1:1";  // nobody listens: the link keeps redialing
  options.transport.send_queue_frames = 8;
  options.transport.send_queue_bytes = 1 << 20;
  auto runtime = EpollRuntime::create(options).value();
  int accepted = 0;
  Status refused;
  int accepted_by_bytes = 0;
  runtime->run([&] {
    for (int i = 0; i < 20; ++i) {
      proto::Envelope envelope;
      envelope.set_destination(2);
      Status sent = runtime->network().send(envelope);
      if (sent.ok()) ++accepted; else refused = sent;
    }
    return 0;
  });
  EXPECT_EQ(accepted, 8);
  EXPECT_EQ(refused.code(), StatusCode::kResourceExhausted);

  auto by_bytes = quiet_options(1);
  by_bytes.peers[2] = "127.0.0.1:1";
  by_bytes.transport.send_queue_bytes = 1000;
  auto runtime_by_bytes = EpollRuntime::create(by_bytes).value();
  runtime_by_bytes->run([&] {
    for (int i = 0; i < 10; ++i) {
      proto::Envelope envelope;
      envelope.set_destination(2);
      envelope.set_payload(std::string(300, 'x'));
      if (runtime_by_bytes->network().send(envelope).ok()) ++accepted_by_bytes;
    }
    return 0;
  });
  EXPECT_EQ(accepted_by_bytes, 3) << "three 300-byte frames fit in 1000 bytes";
}

TEST(TcpTransport, MessagesToItselfAreBoundedToo) {
  auto options = quiet_options(1);
  options.transport.send_queue_frames = 4;
  auto runtime = EpollRuntime::create(options).value();
  int accepted = 0;
  runtime->run([&] {
    for (int i = 0; i < 10; ++i) {
      proto::Envelope envelope;
      envelope.set_destination(1);
      if (runtime->network().send(envelope).ok()) ++accepted;
    }
    return 0;
  });
  EXPECT_EQ(accepted, 4);
}

}  // namespace
}  // namespace cairn::net

namespace cairn::net {
namespace {

// A loopback listener played by a plain socket in another thread: it answers as `node` and
// counts the bytes that arrive after its Hello.
class ListeningPeer {
 public:
  explicit ListeningPeer(NodeId node) {
    std::tie(listener_, port_) = testing::listen_loopback();
    EXPECT_GE(listener_, 0);
    thread_ = std::thread([this, node] {
      const int fd = ::accept(listener_, nullptr, nullptr);
      if (fd < 0) return;
      const std::string hello = testing::hello_frame(node);
      ::send(fd, hello.data(), hello.size(), MSG_NOSIGNAL);
      timeval timeout{2, 0};
      ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
      char buffer[4096];
      ssize_t got;
      while ((got = ::recv(fd, buffer, sizeof buffer, 0)) > 0) bytes_ += static_cast<std::size_t>(got);
      ::close(fd);
    });
  }
  ~ListeningPeer() {
    ::shutdown(listener_, SHUT_RDWR);
    thread_.join();
    ::close(listener_);
  }
  uint16_t port() const { return port_; }
  std::size_t bytes() const { return bytes_; }

 private:
  int listener_ = -1;
  uint16_t port_ = 0;
  std::atomic<std::size_t> bytes_{0};
  std::thread thread_;
};

TEST(TcpTransport, ANodeLearnedAtRunTimeIsDialedAtItsAddress) {
  ListeningPeer peer(2);
  auto runtime = EpollRuntime::create(quiet_options(1)).value();
  Status before;
  runtime->run([&] {
    proto::Envelope envelope;
    envelope.set_destination(2);
    before = runtime->network().send(envelope);  // unknown: no address, no connection
    runtime->network().learn_address(2, "127.0.0.1:" + std::to_string(peer.port()));
    EXPECT_TRUE(runtime->network().send(envelope).ok());
    runtime->sleep(milliseconds(300));
    return 0;
  });
  EXPECT_EQ(before.code(), StatusCode::kUnavailable);
  EXPECT_EQ(runtime->transport().stats().connections_established, 1u);
  runtime.reset();  // closes the connection: the peer's reads end
  // Its Hello and the envelope's frame arrived (both more than a 4-byte length each).
  EXPECT_GT(peer.bytes(), 8u);
}

TEST(TcpTransport, AfterARefusedConnectionSendsFailAtOnceSayingSo) {
  auto options = quiet_options(1);
  options.peers[2] = "127.0.0.1:1";  // nobody listens: refused
  options.transport.backoff_min = seconds(5);  // one attempt within the test
  auto runtime = EpollRuntime::create(options).value();
  Status first;
  Status later;
  Status link;
  runtime->run([&] {
    proto::Envelope envelope;
    envelope.set_destination(2);
    first = runtime->network().send(envelope);  // queued while the first dial is under way
    runtime->sleep(milliseconds(300));
    later = runtime->network().send(envelope);
    link = runtime->network().link_status(2);
    return 0;
  });
  EXPECT_TRUE(first.ok()) << first.to_string();
  EXPECT_EQ(later.code(), StatusCode::kUnavailable);
  EXPECT_NE(later.message().find("cannot connect to node 2 at 127.0.0.1:1"), std::string::npos) << later.message();
  EXPECT_NE(later.message().find("refused"), std::string::npos) << later.message();
  EXPECT_EQ(link.message(), later.message());
}

}  // namespace
}  // namespace cairn::net
