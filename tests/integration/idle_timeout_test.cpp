// idle_timeout: a connection with no bytes either way for that long is closed on both sides
// (also when half-closed or stalled on a zero window); a connection that keeps exchanging bytes
// outlives it several times over.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>

#include <thread>

#include "harness.h"
#include "servers.h"
#include "sockets.h"
#include "stream.h"

namespace ringlb::it {
namespace {

class IdleTimeoutTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ConfigSpec spec = simple_config(lp_.port, {backend_.address()});
    spec.pools[0].idle_timeout = "1s";
    spec.pools[0].health_interval = "1s";
    std::string err;
    lb_ = start_ringlb(dir_, spec, &err);
    ASSERT_TRUE(lb_) << err;
  }

  TempDir dir_;
  HandlerReport backend_end_;
  // After the prologue, echoes until the stream ends and reports how it ended (eof or reset).
  TcpServer backend_{[this](int fd, const std::atomic<bool>& stopping) {
    if (!await_prologue(fd)) return;
    const auto t0 = Clock::now();
    char buf[4096];
    while (!stopping) {
      size_t got = 0;
      const Outcome o = recv_exact(fd, buf, 1, deadline_in(seconds(8)), &got);
      if (o != Outcome::kOk) {
        backend_end_.set(o == Outcome::kEof || o == Outcome::kReset,
                         std::string(to_string(o)) + " after " + std::to_string(seconds_since(t0)) + " s");
        return;
      }
      if (send_all(fd, buf, 1, deadline_in(seconds(2))) != Outcome::kOk) return;
    }
  }};
  ReservedPort lp_ = reserve_port();
  std::unique_ptr<RinglbProcess> lb_;
};

TEST_F(IdleTimeoutTest, IdleConnectionIsClosedOnBothSides) {
  int cerr = 0;
  Fd c = connect_with_prologue(lp_.port, &cerr);
  ASSERT_TRUE(c.valid()) << "errno " << -cerr;
  ASSERT_EQ(echo_round(c.get(), "x", deadline_in(seconds(3))), Outcome::kOk);
  const auto idle_from = Clock::now();
  const Outcome o = wait_closed(c.get(), deadline_in(seconds(6)));
  const double after = seconds_since(idle_from);
  EXPECT_TRUE(o == Outcome::kEof || o == Outcome::kReset) << "client saw " << to_string(o) << " after " << after << " s";
  EXPECT_GE(after, 0.8) << "closed before idle_timeout (1s)";
  EXPECT_LE(after, 5.0) << "idle connection lived far past idle_timeout (1s)";
  ASSERT_TRUE(backend_end_.wait(seconds(3))) << "the backend side was not closed";
  EXPECT_TRUE(backend_end_.ok()) << backend_end_.what();
}

TEST_F(IdleTimeoutTest, ActiveConnectionSurvives) {
  int cerr = 0;
  Fd c = connect_with_prologue(lp_.port, &cerr);
  ASSERT_TRUE(c.valid()) << "errno " << -cerr;
  const auto start = Clock::now();
  int rounds = 0;
  while (seconds_since(start) < 3.0) {
    ASSERT_EQ(echo_round(c.get(), "y", deadline_in(seconds(2))), Outcome::kOk)
        << "active connection broke after " << seconds_since(start) << " s (" << rounds << " rounds)";
    ++rounds;
    std::this_thread::sleep_for(milliseconds(300));
  }
  EXPECT_GE(rounds, 5);
  EXPECT_FALSE(backend_end_.wait(milliseconds(0))) << "backend connection ended: " << backend_end_.what();
}

// "Idle" means no bytes either way, whatever the state (pitfalls §2.9): a half-closed connection
// whose backend stays silent, and a connection stalled on a client that reads nothing (zero
// window, bytes pending but not moving), are both closed after idle_timeout.
class IdleStatesTest : public ::testing::Test {
 protected:
  std::unique_ptr<RinglbProcess> front(const TcpServer& backend) {
    ConfigSpec spec = simple_config(lp_.port, {backend.address()});
    spec.pools[0].idle_timeout = "1s";
    spec.pools[0].health_interval = "1s";
    std::string err;
    auto lb = start_ringlb(dir_, spec, &err);
    EXPECT_TRUE(lb) << err;
    return lb;
  }
  TempDir dir_;
  ReservedPort lp_ = reserve_port();
};

TEST_F(IdleStatesTest, HalfClosedSilentConnectionIsClosed) {
  TcpServer backend([](int fd, const std::atomic<bool>& stopping) {
    if (!await_prologue(fd)) return;
    std::string rest;
    (void)read_to_eof(fd, &rest, deadline_in(seconds(5)));
    // Got the client's FIN; stay open and silent until ringlb closes us (or 8 s).
    const Deadline d = deadline_in(seconds(8));
    while (!stopping && Clock::now() < d) {
      pollfd p{fd, POLLRDHUP, 0};
      if (::poll(&p, 1, 100) > 0 && (p.revents & (POLLHUP | POLLERR))) return;
    }
  });
  auto lb = front(backend);
  ASSERT_TRUE(lb);
  int cerr = 0;
  Fd c = connect_with_prologue(lp_.port, &cerr);
  ASSERT_TRUE(c.valid()) << "errno " << -cerr;
  ::shutdown(c.get(), SHUT_WR);
  const auto t0 = Clock::now();
  const Outcome o = wait_closed(c.get(), deadline_in(seconds(6)));
  EXPECT_TRUE(o == Outcome::kEof || o == Outcome::kReset)
      << "half-closed idle connection: " << to_string(o) << " after " << seconds_since(t0) << " s";
  EXPECT_GE(seconds_since(t0), 0.8) << "closed before idle_timeout";
}

TEST_F(IdleStatesTest, ConnectionStalledOnAClientThatNeverReadsIsClosed) {
  HandlerReport report;
  TcpServer backend([&](int fd, const std::atomic<bool>&) {
    if (!await_prologue(fd)) return;
    DuplexLeg out;  // far more than all the socket buffers on the way hold
    out.fd = fd;
    out.send_seed = 5;
    out.send_len = 1ull << 30;
    out.recv_len = 0;
    const auto r = run_duplex({out}, deadline_in(seconds(10)));
    report.set(r[0].send_end != Outcome::kTimeout, r[0].describe(out));
  });
  auto lb = front(backend);
  ASSERT_TRUE(lb);
  int cerr = 0;
  Fd c = connect_with_prologue(lp_.port, &cerr);
  ASSERT_TRUE(c.valid()) << "errno " << -cerr;
  // Read nothing: the backend's bytes pile up until every window is closed, then nothing moves.
  ASSERT_TRUE(report.wait(seconds(8))) << "the stalled connection was never closed (backend still blocked)";
  EXPECT_TRUE(report.ok()) << report.what();
  size_t bytes = 0;
  const Outcome o = wait_closed(c.get(), deadline_in(seconds(3)), &bytes);
  EXPECT_TRUE(o == Outcome::kEof || o == Outcome::kReset) << "client side: " << to_string(o);
  EXPECT_LT(bytes, 1ull << 30) << "the whole stream arrived: the connection was never stalled";
}

}  // namespace
}  // namespace ringlb::it
