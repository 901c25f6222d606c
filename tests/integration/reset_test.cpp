// Reset propagation (DESIGN.md: "A reset on one side becomes a reset (SO_LINGER 0) on the
// other"): an abortive close by the client reaches the backend as ECONNRESET, and the reverse,
// both when idle and in the middle of a transfer. A clean close is covered by half_close_test.
#include <gtest/gtest.h>

#include "harness.h"
#include "servers.h"
#include "sockets.h"
#include "stream.h"

namespace ringlb::it {
namespace {

std::unique_ptr<RinglbProcess> front(const TempDir& dir, const TcpServer& backend, uint16_t port, std::string* err) {
  ConfigSpec spec = simple_config(port, {backend.address()});
  spec.pools[0].health_interval = "1s";
  return start_ringlb(dir, spec, err);
}

// Client: "hello" round trip (so the backend leg surely exists), then SO_LINGER {1,0} + close.
TEST(Reset, ClientResetReachesBackend) {
  TempDir dir;
  HandlerReport report;
  TcpServer backend([&](int fd, const std::atomic<bool>&) {
    if (!await_prologue(fd)) return;
    std::string hello;
    if (recv_exact(fd, &hello, 5, deadline_in(seconds(5))) != Outcome::kOk) return report.set(false, "no hello");
    if (send_all(fd, hello, deadline_in(seconds(5))) != Outcome::kOk) return report.set(false, "echo failed");
    const auto t0 = Clock::now();
    const Outcome o = wait_closed(fd, deadline_in(seconds(5)));
    report.set(o == Outcome::kReset, std::string("backend saw ") + to_string(o) + " after " +
                                         std::to_string(seconds_since(t0)) + " s");
  });
  ReservedPort lp = reserve_port();
  std::string err;
  auto lb = front(dir, backend, lp.port, &err);
  ASSERT_TRUE(lb) << err;

  int cerr = 0;
  Fd c = connect_with_prologue(lp.port, &cerr);
  ASSERT_TRUE(c.valid()) << "errno " << -cerr;
  ASSERT_EQ(echo_round(c.get(), "hello", deadline_in(seconds(5))), Outcome::kOk);
  set_linger_reset(c.get());
  c.reset();
  ASSERT_TRUE(report.wait(seconds(8)));
  EXPECT_TRUE(report.ok()) << report.what() << " (expected a reset)";
}

// Backend: "hello" round trip, waits for "go", then resets. The client must see ECONNRESET.
TEST(Reset, BackendResetReachesClient) {
  TempDir dir;
  TcpServer backend([](int fd, const std::atomic<bool>&) {
    if (!await_prologue(fd)) return;
    std::string msg;
    if (recv_exact(fd, &msg, 5, deadline_in(seconds(5))) != Outcome::kOk) return;
    if (send_all(fd, msg, deadline_in(seconds(5))) != Outcome::kOk) return;
    if (recv_exact(fd, &msg, 2, deadline_in(seconds(5))) != Outcome::kOk) return;
    set_linger_reset(fd);  // the server's close() after return is the reset
  });
  ReservedPort lp = reserve_port();
  std::string err;
  auto lb = front(dir, backend, lp.port, &err);
  ASSERT_TRUE(lb) << err;

  int cerr = 0;
  Fd c = connect_with_prologue(lp.port, &cerr);
  ASSERT_TRUE(c.valid()) << "errno " << -cerr;
  ASSERT_EQ(echo_round(c.get(), "hello", deadline_in(seconds(5))), Outcome::kOk);
  ASSERT_EQ(send_all(c.get(), "go", deadline_in(seconds(5))), Outcome::kOk);
  size_t extra = 0;
  EXPECT_EQ(wait_closed(c.get(), deadline_in(seconds(5)), &extra), Outcome::kReset)
      << "a backend reset must reach the client as a reset, not a FIN";
  EXPECT_EQ(extra, 0u);
}

// On the prologue, the backend streams 256 MiB; the client reads 1 MiB and resets. The backend's sends must
// fail with a reset (EPIPE/ECONNRESET) instead of completing or stalling.
TEST(Reset, ClientResetDuringTransferStopsBackend) {
  TempDir dir;
  HandlerReport report;
  TcpServer backend([&](int fd, const std::atomic<bool>&) {
    if (!await_prologue(fd)) return;
    DuplexLeg out;
    out.fd = fd;
    out.send_seed = 21;
    out.send_len = 256ull << 20;
    out.shutdown_after_send = false;
    out.recv_len = 0;
    const auto r = run_duplex({out}, deadline_in(seconds(20)));
    const bool reset = r[0].send_end == Outcome::kReset || r[0].end == Outcome::kReset;
    report.set(reset, r[0].describe(out));
  });
  ReservedPort lp = reserve_port();
  std::string err;
  auto lb = front(dir, backend, lp.port, &err);
  ASSERT_TRUE(lb) << err;

  int cerr = 0;
  Fd c = connect_with_prologue(lp.port, &cerr);
  ASSERT_TRUE(c.valid()) << "errno " << -cerr;
  std::string first;
  ASSERT_EQ(recv_exact(c.get(), &first, 1 << 20, deadline_in(seconds(10))), Outcome::kOk);
  EXPECT_EQ(first, pattern_string(21, 0, 1 << 20));
  set_linger_reset(c.get());
  c.reset();
  ASSERT_TRUE(report.wait(seconds(10))) << "backend still sending 10 s after the client reset";
  EXPECT_TRUE(report.ok()) << "backend: " << report.what() << " (expected a reset)";
}

}  // namespace
}  // namespace ringlb::it
