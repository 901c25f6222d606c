// global.user: started as root, ringlb binds, then runs as that user (DESIGN.md "Config";
// pitfalls §3): every thread has the user's uid and gid, exactly the capabilities it still
// uses (CAP_NET_BIND_SERVICE, and CAP_SYS_RESOURCE when root had it) effective and permitted,
// and no_new_privs set; it still forwards, and a reload adding a listener on a port < 1024
// works after the drop. Skips unless the test runs as root.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <random>

#include <filesystem>

#include <fmt/format.h>

#include "harness.h"
#include "servers.h"
#include "sockets.h"

namespace ringlb::it {
namespace {

// The value of "Key:" in a /proc status file, tabs collapsed to single spaces.
std::string status_field(const std::string& status, const std::string& key) {
  const size_t at = status.find("\n" + key + ":");
  if (at == std::string::npos) return "";
  size_t start = at + key.size() + 2;
  const size_t end = status.find('\n', start);
  std::string v = status.substr(start, end - start);
  std::string out;
  for (char c : v) {
    if (c == '\t' || c == ' ') {
      if (!out.empty() && out.back() != ' ') out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

// The capability masks ringlb should keep, as /proc shows them: CAP_NET_BIND_SERVICE (10),
// plus CAP_SYS_RESOURCE (24) if this (root) process holds it.
std::string expected_caps(bool* has_sys_resource) {
  const uint64_t mine = std::strtoull(status_field("\n" + read_file("/proc/self/status"), "CapPrm").c_str(), nullptr, 16);
  *has_sys_resource = (mine >> 24) & 1;
  const uint64_t want = (uint64_t{1} << 10) | (*has_sys_resource ? uint64_t{1} << 24 : 0);
  return fmt::format("{:016x}", want);
}

// A port below 1024 that nothing on 127.0.0.1 uses right now (bound and released to check).
uint16_t free_low_port() {
  std::mt19937 rng(static_cast<unsigned>(::getpid()));
  for (int tries = 0; tries < 200; ++tries) {
    const uint16_t port = static_cast<uint16_t>(600 + rng() % 400);
    Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port);
    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) return port;
  }
  return 0;
}

TEST(Privileges, DropsToConfiguredUserOnEveryThread) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to start (global.user drops from root)";
  const passwd* pw = ::getpwnam("nobody");
  if (pw == nullptr) GTEST_SKIP() << "no user 'nobody' on this machine";
  const uid_t uid = pw->pw_uid;
  const gid_t gid = pw->pw_gid;

  TempDir dir;
  TcpServer backend(echo_handler());
  ReservedPort lp = reserve_port();
  ConfigSpec spec = simple_config(lp.port, {backend.address()});
  spec.workers = 2;
  spec.user = "nobody";
  spec.pools[0].health_interval = "200ms";
  std::string err;
  auto lb = start_ringlb(dir, spec, &err);
  ASSERT_TRUE(lb) << err;

  bool has_sys_resource = false;
  const std::string caps = expected_caps(&has_sys_resource);
  int threads = 0;
  for (const auto& task : std::filesystem::directory_iterator(fmt::format("/proc/{}/task", lb->pid()))) {
    const std::string st = "\n" + read_file(task.path().string() + "/status");
    ++threads;
    const std::string tid = task.path().filename().string();
    EXPECT_EQ(status_field(st, "Uid"), fmt::format("{0} {0} {0} {0}", uid)) << "thread " << tid;
    EXPECT_EQ(status_field(st, "Gid"), fmt::format("{0} {0} {0} {0}", gid)) << "thread " << tid;
    EXPECT_EQ(status_field(st, "Groups"), "") << "thread " << tid << ": supplementary groups kept";
    EXPECT_EQ(status_field(st, "CapEff"), caps) << "thread " << tid;
    EXPECT_EQ(status_field(st, "CapPrm"), caps) << "thread " << tid;
    EXPECT_EQ(status_field(st, "CapInh"), "0000000000000000") << "thread " << tid;
    EXPECT_EQ(status_field(st, "CapAmb"), "0000000000000000") << "thread " << tid;
    EXPECT_EQ(status_field(st, "NoNewPrivs"), "1") << "thread " << tid;
  }
  EXPECT_GE(threads, 3) << "main, 2 workers (and the prober) expected";

  int cerr = 0;
  Fd c = connect_to(lp.port, &cerr);
  ASSERT_TRUE(c.valid()) << "errno " << -cerr;
  EXPECT_EQ(echo_round(c.get(), std::string(256 * 1024, 'u'), deadline_in(seconds(3))), Outcome::kOk);
  EXPECT_EQ(lb->count_events("privileges_dropped", {{"user", "nobody"}}), 1) << lb->log_tail();
  // Without CAP_SYS_RESOURCE (this VM's root lacks it) one warning names the pipe limit.
  EXPECT_EQ(lb->count_events("pipe_limit"), has_sys_resource ? 0 : 1) << lb->log_tail();
  if (!has_sys_resource) {
    EXPECT_NE(lb->log().find("fs.pipe-user-pages-soft"), std::string::npos);
  }

  // A reload adds a listener on a port < 1024: needs the kept CAP_NET_BIND_SERVICE.
  const uint16_t low = free_low_port();
  ASSERT_NE(low, 0) << "no free port below 1024 on 127.0.0.1";
  ConfigSpec next = spec;
  next.listeners.push_back(ListenerSpec{"low", "127.0.0.1", low, "p"});
  // After the drop the reload reads the config as the user: it must be readable by it.
  ASSERT_EQ(::chmod(dir.path().c_str(), 0755), 0);
  write_file(dir.file("ringlb.toml"), to_toml(next));
  ASSERT_EQ(::chmod(dir.file("ringlb.toml").c_str(), 0644), 0);
  lb->signal(SIGHUP);
  ASSERT_TRUE(lb->wait_event("reloaded", {}, seconds(5))) << lb->log_tail();
  Fd l = connect_to(low, &cerr);
  ASSERT_TRUE(l.valid()) << "port " << low << ": errno " << -cerr;
  EXPECT_EQ(echo_round(l.get(), "low port after the drop", deadline_in(seconds(3))), Outcome::kOk);
  EXPECT_EQ(echo_round(c.get(), "still here", deadline_in(seconds(3))), Outcome::kOk);
}

}  // namespace
}  // namespace ringlb::it
