// systemd integration (README "systemd"): conf/ringlb.service scores 3.0 or lower in
// `systemd-analyze security --offline=yes` while keeping what the sockmap path needs, and the
// binary speaks the Type=notify protocol: READY=1 after the first health round, RELOADING=1
// (with MONOTONIC_USEC) then READY=1 around a SIGHUP, STOPPING=1 on SIGTERM.
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cstdlib>
#include <string>

#include "harness.h"
#include "servers.h"
#include "sockets.h"

namespace ringlb::it {
namespace {

std::string unit_path() {
  const char* root = std::getenv("RINGLB_SOURCE_ROOT");
  return std::string(root ? root : ".") + "/conf/ringlb.service";
}

TEST(SystemdUnit, SecurityScoreAtMostThreeWithSockmapPrivileges) {
  const std::string analyze = find_program("systemd-analyze");
  ASSERT_NE(analyze, "") << "systemd-analyze missing: scripts/deps installs the systemd package";
  const std::string unit = read_file(unit_path());
  ASSERT_NE(unit, "") << "no unit at " << unit_path();
  const CommandResult r = run_command({analyze, "security", "--offline=yes", unit_path()});
  ASSERT_FALSE(r.timed_out());
  const std::string key = "Overall exposure level for ringlb.service: ";
  const size_t at = r.out.find(key);
  ASSERT_NE(at, std::string::npos) << r.out << r.err;
  const double score = std::strtod(r.out.c_str() + at + key.size(), nullptr);
  EXPECT_LE(score, 3.0) << r.out;
  std::printf("systemd-analyze security: %.1f\n", score);
  // The sockmap path must still be possible: its capabilities and the bpf syscall, and the
  // io_uring syscalls the workers are built on.
  for (const char* needed : {"Type=notify", "CAP_BPF", "CAP_NET_ADMIN", "CAP_NET_BIND_SERVICE", "CAP_SYS_RESOURCE",
                             "CAP_SETUID", "CAP_SETGID", " bpf", "io_uring_setup", "io_uring_enter",
                             "io_uring_register", "ExecReload=/bin/kill -HUP $MAINPID", "LimitNOFILE="}) {
    EXPECT_NE(unit.find(needed), std::string::npos) << "unit lacks " << needed;
  }
}

// A NOTIFY_SOCKET as systemd binds it: a unix datagram socket the service sends to.
class NotifySocket {
 public:
  explicit NotifySocket(const std::string& path) : path_(path) {
    fd_ = Fd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    path.copy(a.sun_path, sizeof a.sun_path - 1);
    ok_ = ::bind(fd_.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  }
  bool ok() const { return ok_; }
  // Datagrams until one contains `want`; all received text appended to *seen.
  bool wait_for(const std::string& want, milliseconds timeout, std::string* seen) {
    const Deadline d = deadline_in(timeout);
    while (Clock::now() < d) {
      pollfd p{fd_.get(), POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      char buf[4096];
      const ssize_t n = ::recv(fd_.get(), buf, sizeof buf, 0);
      if (n <= 0) continue;
      const std::string msg(buf, static_cast<size_t>(n));
      *seen += msg + "\n--\n";
      if (msg.find(want) != std::string::npos) {
        last_ = msg;
        return true;
      }
    }
    return false;
  }
  const std::string& last() const { return last_; }

 private:
  std::string path_;
  Fd fd_;
  bool ok_ = false;
  std::string last_;
};

TEST(SystemdNotify, ReadyReloadingStopping) {
  TempDir dir;
  TcpServer backend(echo_handler());
  ReservedPort lp = reserve_port();
  NotifySocket notify(dir.file("notify.sock"));
  ASSERT_TRUE(notify.ok());
  ConfigSpec spec = simple_config(lp.port, {backend.address()});
  write_file(dir.file("ringlb.toml"), to_toml(spec));
  RinglbProcess lb(dir, dir.file("ringlb.toml"));
  // The child inherits the environment at spawn; the test process does not keep it.
  ::setenv("NOTIFY_SOCKET", dir.file("notify.sock").c_str(), 1);
  std::string err;
  const bool started = lb.start_and_wait_ready(&err);
  ::unsetenv("NOTIFY_SOCKET");
  ASSERT_TRUE(started) << err;

  std::string seen;
  ASSERT_TRUE(notify.wait_for("READY=1", seconds(5), &seen)) << "no READY=1; got:\n" << seen;
  EXPECT_NE(notify.last().find("STATUS="), std::string::npos) << notify.last();

  lb.signal(SIGHUP);
  ASSERT_TRUE(notify.wait_for("RELOADING=1", seconds(5), &seen)) << "no RELOADING=1; got:\n" << seen;
  EXPECT_NE(notify.last().find("MONOTONIC_USEC="), std::string::npos) << notify.last();
  ASSERT_TRUE(notify.wait_for("READY=1", seconds(5), &seen)) << "no READY=1 after the reload; got:\n" << seen;
  EXPECT_TRUE(lb.wait_event("reloaded", {}, seconds(5)));

  lb.signal(SIGTERM);
  ASSERT_TRUE(notify.wait_for("STOPPING=1", seconds(5), &seen)) << "no STOPPING=1; got:\n" << seen;
  const auto status = lb.wait_exit(seconds(10));
  ASSERT_TRUE(status);
  EXPECT_EQ(exit_code(status), 0) << describe_status(status);
}

}  // namespace
}  // namespace ringlb::it
