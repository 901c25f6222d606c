// Overload refuses new connections and keeps serving the existing ones (DESIGN.md): the global
// max_connections closes the new client at accept; running out of file descriptors (EMFILE)
// pauses accepting with a backoff, without spinning, and accepting resumes once fds are free.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fmt/format.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "cluster.h"
#include "harness.h"
#include "servers.h"
#include "sockets.h"

namespace ringlb::it {
namespace {

// A new client connection answered by the echo backend within `timeout`: true if it echoed.
bool new_client_echoes(uint16_t port, milliseconds timeout, Fd* keep = nullptr) {
  int err = 0;
  Fd fd = connect_to(port, &err);
  if (!fd.valid()) return false;
  const bool ok = echo_round(fd.get(), "ping", deadline_in(timeout)) == Outcome::kOk;
  if (keep) *keep = std::move(fd);
  return ok;
}

// utime + stime of pid in seconds, from /proc/PID/stat (fields 14 and 15).
double cpu_seconds(pid_t pid) {
  std::ifstream f(fmt::format("/proc/{}/stat", pid));
  std::string all((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  const size_t rp = all.rfind(')');  // comm may contain spaces
  if (rp == std::string::npos) return -1;
  std::istringstream rest(all.substr(rp + 2));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14) utime = std::stoull(field);
    if (i == 15) stime = std::stoull(field);
  }
  return static_cast<double>(utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

// The flip side of "never spins": an idle balancer (health probes every 1 s, one idle client
// connection, two workers) sleeps. A busy loop anywhere (a worker, the prober, the signal
// loop) shows as a whole core.
TEST(Overload, IdleBalancerDoesNotSpin) {
  TempDir dir;
  TcpServer backend(echo_handler());
  ReservedPort lp = reserve_port();
  ConfigSpec spec = simple_config(lp.port, {backend.address()});
  spec.workers = 2;
  spec.pools[0].health_interval = "1s";
  spec.pools[0].health_timeout = "500ms";
  std::string err;
  auto lb = start_ringlb(dir, spec, &err);
  ASSERT_TRUE(lb) << err;
  int cerr = 0;
  Fd c = connect_to(lp.port, &cerr);
  ASSERT_TRUE(c.valid());
  ASSERT_EQ(echo_round(c.get(), "idle", deadline_in(seconds(3))), Outcome::kOk);
  const double cpu0 = cpu_seconds(lb->pid());
  const auto t0 = Clock::now();
  std::this_thread::sleep_for(milliseconds(1500));
  const double cpu = cpu_seconds(lb->pid()) - cpu0;
  const double wall = seconds_since(t0);
  EXPECT_LT(cpu, 0.2 * wall) << "idle ringlb used " << cpu << " s of CPU in " << wall << " s: a busy loop";
}

TEST(Overload, MaxConnectionsClosesTheNewClientAndKeepsTheOthers) {
  TempDir dir;
  TcpServer backend(echo_handler());
  ReservedPort lp = reserve_port();
  ConfigSpec spec = simple_config(lp.port, {backend.address()});
  spec.max_connections = 5;
  spec.pools[0].health_interval = "1s";
  std::string err;
  auto lb = start_ringlb(dir, spec, &err);
  ASSERT_TRUE(lb) << err;

  std::vector<Fd> held;
  for (int i = 0; i < 5; ++i) {
    Fd fd;
    ASSERT_TRUE(new_client_echoes(lp.port, seconds(3), &fd)) << "connection " << i + 1 << " of 5 not served";
    held.push_back(std::move(fd));
  }

  int cerr = 0;
  Fd sixth = connect_to(lp.port, &cerr);
  ASSERT_TRUE(sixth.valid()) << "the kernel completes the handshake; errno " << -cerr;
  (void)send_all(sixth.get(), "over", deadline_in(seconds(1)));  // must never come back
  size_t bytes = 0;
  const Outcome o = wait_closed(sixth.get(), deadline_in(seconds(3)), &bytes);
  EXPECT_TRUE(o == Outcome::kEof || o == Outcome::kReset) << "6th connection: " << to_string(o)
                                                          << " (expected closed at accept)";
  EXPECT_EQ(bytes, 0u) << "the 6th connection got data from a backend";

  for (size_t i = 0; i < held.size(); ++i) {
    EXPECT_EQ(echo_round(held[i].get(), fmt::format("still {}", i), deadline_in(seconds(3))), Outcome::kOk)
        << "held connection " << i + 1 << " stopped working";
  }

  held.erase(held.begin());  // clean close of one: a slot frees up once both directions end
  bool served = false;
  const Deadline d = deadline_in(seconds(5));
  while (!served && Clock::now() < d) {
    served = new_client_echoes(lp.port, seconds(1));
    if (!served) std::this_thread::sleep_for(milliseconds(100));
  }
  EXPECT_TRUE(served) << "no new connection served within 5 s after one of 5 closed";
}

// Per-backend max_connections: a full backend is skipped for new clients (README); with every
// backend full the new client is refused; a freed slot is used again.
TEST(Overload, FullBackendIsSkippedAndAllFullRefuses) {
  TempDir dir;
  NamedBackends backends(2);
  ReservedPort lp = reserve_port();
  ConfigSpec spec = simple_config(lp.port, {});
  for (int i = 0; i < 2; ++i) {
    spec.pools[0].backends.push_back(BackendSpec{backends.server(i).address(), 0, false, /*max_connections=*/2});
  }
  spec.pools[0].health_interval = "1s";
  std::string err;
  auto lb = start_ringlb(dir, spec, &err);
  ASSERT_TRUE(lb) << err;

  // All from one address (hash = client_ip): without limits they would all reach one backend.
  auto open_named = [&](Fd* fd) {
    ConnectOptions opt;
    opt.source_ip = "127.0.0.7";
    int cerr = 0;
    *fd = connect_to(lp.port, opt, &cerr);
    std::string name;
    if (!fd->valid() || read_line(fd->get(), &name, deadline_in(seconds(3))) != Outcome::kOk) return std::string();
    return name;
  };
  Fd held[4];
  std::string names[4];
  for (int i = 0; i < 4; ++i) {
    names[i] = open_named(&held[i]);
    ASSERT_FALSE(names[i].empty()) << "connection " << i + 1 << " of 4 (2 per backend) not served";
  }
  EXPECT_EQ(names[0], names[1]) << "the sticky backend was skipped before it was full";
  EXPECT_NE(names[2], names[0]) << "a full backend (max_connections = 2) got a third connection";
  EXPECT_EQ(names[2], names[3]);

  Fd fifth;
  ConnectOptions opt;
  opt.source_ip = "127.0.0.7";
  int cerr = 0;
  fifth = connect_to(lp.port, opt, &cerr);
  ASSERT_TRUE(fifth.valid()) << "errno " << -cerr;
  size_t bytes = 0;
  const Outcome o = wait_closed(fifth.get(), deadline_in(seconds(3)), &bytes);
  EXPECT_TRUE(o == Outcome::kEof || o == Outcome::kReset) << "with every backend full: " << to_string(o);
  EXPECT_EQ(bytes, 0u) << "a backend over its max_connections answered";

  held[0].reset();  // frees a slot on the sticky backend once both directions end
  std::string again;
  const Deadline d = deadline_in(seconds(5));
  while (again != names[0] && Clock::now() < d) {
    Fd fd;
    again = open_named(&fd);
    if (again != names[0]) std::this_thread::sleep_for(milliseconds(100));
    held[0] = std::move(fd);
  }
  EXPECT_EQ(again, names[0]) << "the freed slot on the sticky backend was not used again";
}

TEST(Overload, EmfilePausesAcceptingWithoutSpinningAndRecovers) {
  const std::string prlimit = find_program("prlimit");
  if (prlimit.empty()) GTEST_SKIP() << "needs prlimit (util-linux)";
  TempDir dir;
  TcpServer backend(echo_handler());
  ReservedPort lp = reserve_port();
  ConfigSpec spec = simple_config(lp.port, {backend.address()});
  spec.workers = 1;
  spec.pools[0].health_interval = "1h";  // no probes using fds during the test
  spec.pools[0].health_timeout = "500ms";
  const std::string cfg = dir.file("ringlb.toml");
  write_file(cfg, to_toml(spec));
  RinglbProcess lb(dir, cfg, {prlimit, "--nofile=64:64", "--"});
  std::string err;
  ASSERT_TRUE(lb.start_and_wait_ready(&err)) << err;
  // prlimit execs the command: the PID we hold is ringlb's.
  EXPECT_EQ(read_file(fmt::format("/proc/{}/comm", lb.pid())), "ringlb\n");

  std::vector<Fd> held, unserved;
  for (int i = 0; i < 64 && unserved.empty(); ++i) {
    Fd fd;
    if (new_client_echoes(lp.port, seconds(1), &fd)) {
      held.push_back(std::move(fd));
    } else {
      unserved.push_back(std::move(fd));
    }
  }
  ASSERT_FALSE(unserved.empty()) << "64 connections served under a 64-fd limit: the limit did not apply";
  ASSERT_GT(held.size(), 3u) << "almost nothing served before the fd limit";
  // Keep connections waiting in the accept queue: a level-triggered accept loop would spin now.
  for (int i = 0; i < 3; ++i) {
    int cerr = 0;
    Fd fd = connect_to(lp.port, &cerr);
    if (fd.valid()) unserved.push_back(std::move(fd));
  }

  ASSERT_TRUE(lb.wait_event("accept_paused", {}, seconds(3)))
      << "no accept_paused event after " << held.size() << " connections filled the fd limit";
  for (const auto& e : lb.events()) {
    if (e.event == "accept_paused") {
      EXPECT_TRUE(e.kv.count("error")) << "accept_paused without error=...: " << e.raw;
      break;
    }
  }

  const double cpu0 = cpu_seconds(lb.pid());
  const auto t0 = Clock::now();
  std::this_thread::sleep_for(seconds(2));
  const double cpu = cpu_seconds(lb.pid()) - cpu0;
  const double wall = seconds_since(t0);
  EXPECT_LT(cpu, 0.3 * wall) << "ringlb used " << cpu << " s of CPU in " << wall << " s while paused: spinning";

  for (size_t i = 0; i < held.size(); ++i) {
    EXPECT_EQ(echo_round(held[i].get(), "still", deadline_in(seconds(3))), Outcome::kOk)
        << "held connection " << i << " stopped working at the fd limit";
  }

  held.clear();
  unserved.clear();
  bool served = false;
  const Deadline d = deadline_in(seconds(8));
  while (!served && Clock::now() < d) {
    served = new_client_echoes(lp.port, seconds(1));
    if (!served) std::this_thread::sleep_for(milliseconds(100));
  }
  EXPECT_TRUE(served) << "accepting did not recover within 8 s after the fds were freed";
  EXPECT_TRUE(lb.wait_event("accept_resumed", {}, seconds(3))) << "no accept_resumed event";
  EXPECT_TRUE(lb.running()) << "ringlb exited";
}

}  // namespace
}  // namespace ringlb::it
