// SIGTERM drains: the listener closes at once (new connects are refused), live connections keep
// flowing to their natural end or drain_timeout, then ringlb logs `stopped` and exits 0; a
// second SIGTERM exits at once.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>

#include <fmt/format.h>

#include <atomic>
#include <thread>

#include "harness.h"
#include "servers.h"
#include "sockets.h"
#include "stream.h"

namespace ringlb::it {
namespace {

class DrainTest : public ::testing::Test {
 protected:
  std::unique_ptr<RinglbProcess> start(const std::string& drain_timeout, int workers) {
    ConfigSpec spec = simple_config(lp_.port, {backend_.address()});
    spec.drain_timeout = drain_timeout;
    spec.workers = workers;
    spec.pools[0].health_interval = "1s";
    std::string err;
    auto lb = start_ringlb(dir_, spec, &err);
    EXPECT_TRUE(lb) << err;
    return lb;
  }

  TempDir dir_;
  TcpServer backend_{echo_handler()};
  ReservedPort lp_ = reserve_port();
};

TEST_F(DrainTest, LiveConnectionKeepsFlowingThenExitZero) {
  auto lb = start("20s", 2);
  ASSERT_TRUE(lb);
  int cerr = 0;
  Fd c = connect_to(lp_.port, &cerr);
  ASSERT_TRUE(c.valid()) << "errno " << -cerr;

  // A stream of 128 KiB echo rounds, each checked byte for byte, running across the SIGTERM.
  std::atomic<bool> stop{false};
  std::atomic<int> rounds{0};
  std::atomic<bool> broke{false};
  std::string stream_error;  // written by the streamer before `broke`, read after join
  std::thread streamer([&] {
    for (uint64_t seed = 1000; !stop; ++seed) {
      const std::string chunk = pattern_string(seed, 0, 128 * 1024);
      const Outcome o = echo_round(c.get(), chunk, deadline_in(seconds(5)));
      if (o != Outcome::kOk) {
        stream_error = fmt::format("round {}: {}", rounds.load(), to_string(o));
        broke = true;
        return;
      }
      rounds++;
    }
  });
  const Deadline warm = deadline_in(seconds(10));
  while (rounds < 20 && !broke && Clock::now() < warm) std::this_thread::sleep_for(milliseconds(5));
  lb->signal(SIGTERM);
  const int at_sigterm = rounds;
  EXPECT_TRUE(lb->wait_event("draining", {}, seconds(3))) << "no `draining` event after SIGTERM";
  EXPECT_TRUE(connects_refused(lp_.port)) << "new connections still accepted while draining";
  // Flowing, not fast: 10 more rounds within a bound that allows for retransmission timeouts
  // (the lossy-netns runs drop segments; one RTO stalls a round for 200 ms or more).
  const Deadline flowing = deadline_in(seconds(10));
  while (rounds - at_sigterm <= 10 && !broke && Clock::now() < flowing) std::this_thread::sleep_for(milliseconds(5));
  stop = true;
  streamer.join();
  EXPECT_EQ(stream_error, "") << "the live connection broke during the drain";
  EXPECT_GT(rounds - at_sigterm, 10) << "the live connection stalled during the drain";
  EXPECT_TRUE(lb->running()) << "ringlb exited while a connection was live (drain_timeout 20s)";

  // The client ends the connection cleanly; ringlb must then finish at once, not at 20 s.
  ::shutdown(c.get(), SHUT_WR);
  std::string rest;
  EXPECT_EQ(read_to_eof(c.get(), &rest, deadline_in(seconds(3))), Outcome::kEof);
  c.reset();
  const auto status = lb->wait_exit(seconds(5));
  ASSERT_TRUE(status) << "ringlb still running 5 s after its last connection closed";
  EXPECT_EQ(exit_code(status), 0) << describe_status(status);
  EXPECT_EQ(lb->count_events("stopped"), 1) << lb->log_tail();
}

TEST_F(DrainTest, DrainTimeoutEndsIdleConnection) {
  auto lb = start("1s", 1);
  ASSERT_TRUE(lb);
  int cerr = 0;
  Fd c = connect_to(lp_.port, &cerr);
  ASSERT_TRUE(c.valid()) << "errno " << -cerr;
  ASSERT_EQ(echo_round(c.get(), "hi", deadline_in(seconds(3))), Outcome::kOk);
  const auto t0 = Clock::now();
  lb->signal(SIGTERM);
  const auto status = lb->wait_exit(seconds(6));
  const double took = seconds_since(t0);
  ASSERT_TRUE(status) << "ringlb still running 6 s after SIGTERM with drain_timeout 1s";
  EXPECT_EQ(exit_code(status), 0) << describe_status(status);
  EXPECT_GE(took, 0.8) << "exited before drain_timeout with a live connection";
  EXPECT_LE(took, 4.0) << "exited long after drain_timeout (1s)";
  const Outcome o = wait_closed(c.get(), deadline_in(seconds(2)));
  EXPECT_TRUE(o == Outcome::kEof || o == Outcome::kReset) << "client connection: " << to_string(o);
  EXPECT_EQ(lb->count_events("stopped"), 1);
}

TEST_F(DrainTest, SecondSigtermExitsAtOnce) {
  auto lb = start("30s", 1);
  ASSERT_TRUE(lb);
  int cerr = 0;
  Fd c = connect_to(lp_.port, &cerr);
  ASSERT_TRUE(c.valid()) << "errno " << -cerr;
  ASSERT_EQ(echo_round(c.get(), "hi", deadline_in(seconds(3))), Outcome::kOk);
  lb->signal(SIGTERM);
  ASSERT_TRUE(lb->wait_event("draining", {}, seconds(3)));
  EXPECT_TRUE(lb->running()) << "first SIGTERM with a live connection and drain_timeout 30s must not exit";
  const auto t1 = Clock::now();
  lb->signal(SIGTERM);
  const auto status = lb->wait_exit(seconds(3));
  ASSERT_TRUE(status) << "still running 3 s after the second SIGTERM";
  EXPECT_LT(seconds_since(t1), 2.0);
}

// SIGINT drains like SIGTERM; with nothing live ringlb stops at once, exit 0.
TEST_F(DrainTest, SigintWithNoConnectionsStopsCleanly) {
  auto lb = start("20s", 2);
  ASSERT_TRUE(lb);
  lb->signal(SIGINT);
  const auto status = lb->wait_exit(seconds(3));
  ASSERT_TRUE(status) << "still running 3 s after SIGINT with no connections";
  EXPECT_EQ(exit_code(status), 0) << describe_status(status);
  EXPECT_EQ(lb->count_events("draining"), 1);
  EXPECT_EQ(lb->count_events("stopped"), 1);
}

}  // namespace
}  // namespace ringlb::it
