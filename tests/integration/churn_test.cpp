// Connection churn with every way a connection can end: clean close, client half-close, client
// reset after data, close or reset before the backend connect has finished, backend reset.
// Afterwards ringlb holds no more sockets than when it started (no leaked fd, nothing left in
// CLOSE_WAIT) and still serves. Exercises slot reuse and cancellation in the workers.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

#include <fmt/format.h>

#include "harness.h"
#include "servers.h"
#include "sockets.h"

namespace ringlb::it {
namespace {

// Sockets among pid's open fds.
int socket_count(pid_t pid) {
  int n = 0;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(fmt::format("/proc/{}/fd", pid), ec)) {
    std::error_code lec;
    const auto target = std::filesystem::read_symlink(e.path(), lec);
    if (!lec && target.string().rfind("socket:", 0) == 0) ++n;
  }
  return n;
}

TEST(Churn, EveryKindOfEndingLeavesNoSocketBehind) {
  TempDir dir;
  // Echoes; a connection whose first byte is 'R' is reset by the backend instead.
  TcpServer backend([](int fd, const std::atomic<bool>& stopping) {
    char first = 0;
    const Outcome o = recv_exact(fd, &first, 1, deadline_in(seconds(10)));
    if (o != Outcome::kOk) return;  // a probe, or a client that left early
    if (first == 'R') {
      set_linger_reset(fd);
      return;
    }
    if (send_all(fd, &first, 1, deadline_in(seconds(5))) != Outcome::kOk) return;
    echo_until_eof(fd, stopping);
  });
  ReservedPort lp = reserve_port();
  ConfigSpec spec = simple_config(lp.port, {backend.address()});
  spec.workers = 2;
  spec.pools[0].health_interval = "1s";
  std::string err;
  auto lb = start_ringlb(dir, spec, &err);
  ASSERT_TRUE(lb) << err;
  const int baseline = socket_count(lb->pid());
  ASSERT_GT(baseline, 0);

  constexpr int kRounds = 60;
  int failures = 0;
  std::string details;
  auto fail = [&](int round, const char* kind, Outcome o) {
    if (failures++ < 5) details += fmt::format("\n  round {} {}: {}", round, kind, to_string(o));
  };
  for (int i = 0; i < kRounds; ++i) {
    const Deadline d = deadline_in(seconds(5));
    int cerr = 0;
    {  // clean close after an echo
      Fd c = connect_to(lp.port, &cerr);
      const Outcome o = c.valid() ? echo_round(c.get(), "hello", d) : Outcome::kError;
      if (o != Outcome::kOk) fail(i, "echo", o);
    }
    {  // client half-close: the echo comes back, then EOF
      Fd c = connect_to(lp.port, &cerr);
      if (c.valid() && send_all(c.get(), "half", d) == Outcome::kOk) {
        ::shutdown(c.get(), SHUT_WR);
        std::string back;
        const Outcome o = read_to_eof(c.get(), &back, d);
        if (o != Outcome::kEof || back != "half") fail(i, "half-close", o);
      } else {
        fail(i, "half-close connect", Outcome::kError);
      }
    }
    {  // client reset after data
      Fd c = connect_to(lp.port, &cerr);
      if (c.valid() && echo_round(c.get(), "bye", d) == Outcome::kOk) {
        set_linger_reset(c.get());
      } else {
        fail(i, "reset-after-data", Outcome::kError);
      }
    }
    {  // close at once, before ringlb's backend connect may have finished
      Fd c = connect_to(lp.port, &cerr);
    }
    {  // reset at once
      Fd c = connect_to(lp.port, &cerr);
      if (c.valid()) set_linger_reset(c.get());
    }
    {  // the backend resets: the client must see a reset
      Fd c = connect_to(lp.port, &cerr);
      if (c.valid() && send_all(c.get(), "R", d) == Outcome::kOk) {
        const Outcome o = wait_closed(c.get(), d);
        if (o != Outcome::kReset) fail(i, "backend reset", o);
      } else {
        fail(i, "backend reset connect", Outcome::kError);
      }
    }
  }
  EXPECT_EQ(failures, 0) << failures << " failed connections:" << details;

  // Every connection has ended on the client side; ringlb's sockets must drain back.
  int now = socket_count(lb->pid());
  const Deadline d = deadline_in(seconds(5));
  while (now > baseline && Clock::now() < d) {
    std::this_thread::sleep_for(milliseconds(100));
    now = socket_count(lb->pid());
  }
  EXPECT_LE(now, baseline) << "ringlb holds " << now - baseline << " more sockets than at start after "
                           << kRounds * 6 << " connections ended (leaked or stuck in CLOSE_WAIT)";
  int cerr = 0;
  Fd c = connect_to(lp.port, &cerr);
  ASSERT_TRUE(c.valid());
  EXPECT_EQ(echo_round(c.get(), "still serving", deadline_in(seconds(3))), Outcome::kOk);
}

}  // namespace
}  // namespace ringlb::it
