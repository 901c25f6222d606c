// global.user: started as root, ringlb binds, then runs as that user (DESIGN.md "Config";
// pitfalls §3): every thread has the user's uid and gid, no effective capabilities, and
// no_new_privs set, and it still forwards. Skips unless the test runs as root.
#include <gtest/gtest.h>
#include <pwd.h>
#include <unistd.h>

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

  int threads = 0;
  for (const auto& task : std::filesystem::directory_iterator(fmt::format("/proc/{}/task", lb->pid()))) {
    const std::string st = "\n" + read_file(task.path().string() + "/status");
    ++threads;
    const std::string tid = task.path().filename().string();
    EXPECT_EQ(status_field(st, "Uid"), fmt::format("{0} {0} {0} {0}", uid)) << "thread " << tid;
    EXPECT_EQ(status_field(st, "Gid"), fmt::format("{0} {0} {0} {0}", gid)) << "thread " << tid;
    EXPECT_EQ(status_field(st, "Groups"), "") << "thread " << tid << ": supplementary groups kept";
    EXPECT_EQ(status_field(st, "CapEff"), "0000000000000000") << "thread " << tid;
    EXPECT_EQ(status_field(st, "NoNewPrivs"), "1") << "thread " << tid;
  }
  EXPECT_GE(threads, 3) << "main, 2 workers (and the prober) expected";

  int cerr = 0;
  Fd c = connect_to(lp.port, &cerr);
  ASSERT_TRUE(c.valid()) << "errno " << -cerr;
  EXPECT_EQ(echo_round(c.get(), std::string(256 * 1024, 'u'), deadline_in(seconds(3))), Outcome::kOk);
}

}  // namespace
}  // namespace ringlb::it
