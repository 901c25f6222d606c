// Hitless SIGHUP reload (README "Reload"): 200 live streams stay byte-exact through 10 reloads
// alternating valid and invalid configs. The valid ones add, remove and re-bind listeners and
// change pools, backends and weights; the invalid ones (a syntax error, a restart-only change,
// a bind that fails, an unknown key, a missing pool) are each logged once and change nothing.
// A removed listener refuses new connections while its live streams finish; an added one serves.
#include <gtest/gtest.h>
#include <netinet/in.h>
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

constexpr int kStreams = 200;
constexpr int kOnB = 50;  // of them through listener b, which reload 3 removes
constexpr size_t kChunk = 16 * 1024;

// One echo round through `port` on a new connection.
bool serves(uint16_t port, std::string* why) {
  int err = 0;
  Fd fd = connect_to(port, &err);
  if (!fd.valid()) {
    *why = fmt::format("connect: errno {}", -err);
    return false;
  }
  const Outcome o = echo_round(fd.get(), pattern_string(port, 0, 1000), deadline_in(seconds(3)));
  *why = to_string(o);
  return o == Outcome::kOk;
}

// A plain listening socket without SO_REUSEPORT: ringlb cannot bind its port (EADDRINUSE).
Fd occupy_port(uint16_t* port) {
  Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), len) != 0 || ::listen(fd.get(), 1) != 0 ||
      ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    return Fd();
  }
  *port = ntohs(a.sin_port);
  return fd;
}

// The live streams: each connection does echo rounds of kChunk bytes, each round the next
// slice of its own pattern, checked byte for byte. A background thread sweeps all of them
// while the test reloads.
struct LiveStreams {
  std::vector<Fd> fds;
  std::vector<uint64_t> offset;  // bytes echoed so far per stream
  std::atomic<uint64_t> sweeps{0};
  std::atomic<bool> stop{false};
  std::atomic<bool> broken{false};
  std::string error;  // written before `broken`

  bool sweep() {
    for (size_t i = 0; i < fds.size(); ++i) {
      const Outcome o = echo_round(fds[i].get(), pattern_string(1000 + i, offset[i], kChunk), deadline_in(seconds(5)));
      if (o != Outcome::kOk) {
        error = fmt::format("stream {} at byte {}: {}", i, offset[i], to_string(o));
        broken = true;
        return false;
      }
      offset[i] += kChunk;
    }
    sweeps++;
    return true;
  }
  // Waits until two more sweeps completed: every stream moved bytes after the reload.
  bool advanced(const char* step) {
    const uint64_t target = sweeps.load() + 2;
    const Deadline d = deadline_in(seconds(20));
    while (sweeps.load() < target && !broken && Clock::now() < d) std::this_thread::sleep_for(milliseconds(5));
    if (sweeps.load() < target && !broken) error = fmt::format("streams stalled after {}", step);
    return sweeps.load() >= target;
  }
};

TEST(ReloadListeners, LiveStreamsByteExactThroughTenReloads) {
  TempDir dir;
  TcpServer e1(echo_handler()), e2(echo_handler()), e3(echo_handler());
  ReservedPort pa = reserve_port(), pb = reserve_port(), pc = reserve_port(), pc2 = reserve_port();
  uint16_t busy_port = 0;
  Fd busy = occupy_port(&busy_port);
  ASSERT_TRUE(busy.valid());

  ConfigSpec spec;
  spec.workers = 2;
  spec.listeners = {ListenerSpec{"a", "127.0.0.1", pa.port, "p"}, ListenerSpec{"b", "127.0.0.1", pb.port, "p"}};
  PoolSpec p;
  p.hash = "client_ip_port";  // spread the streams over the backends
  p.health_interval = "1s";
  p.backends = {BackendSpec{e1.address()}, BackendSpec{e2.address()}};
  PoolSpec q = p;
  q.name = "q";
  q.backends = {BackendSpec{e3.address()}};
  spec.pools = {p, q};
  std::string err, cfg;
  auto lb = start_ringlb(dir, spec, &err, &cfg);
  ASSERT_TRUE(lb) << err;

  LiveStreams live;
  for (int i = 0; i < kStreams; ++i) {
    int cerr = 0;
    Fd fd = connect_to(i < kStreams - kOnB ? pa.port : pb.port, &cerr);
    ASSERT_TRUE(fd.valid()) << "stream " << i << ": errno " << -cerr;
    live.fds.push_back(std::move(fd));
    live.offset.push_back(0);
  }
  ASSERT_TRUE(live.sweep()) << live.error;
  std::thread sweeper([&] {
    while (!live.stop && live.sweep()) {
    }
  });

  int ok = 0, failed = 0;
  auto apply = [&](const ConfigSpec& next, const std::string& text, bool valid, const char* step) {
    write_file(cfg, text.empty() ? to_toml(next) : text);
    lb->signal(SIGHUP);
    if (valid) {
      EXPECT_TRUE(lb->wait_event("reloaded", {}, seconds(5), ++ok)) << step << ": no `reloaded`\n" << lb->log_tail();
    } else {
      EXPECT_TRUE(lb->wait_event("reload_failed", {}, seconds(5), ++failed))
          << step << ": no `reload_failed`\n" << lb->log_tail();
    }
    EXPECT_TRUE(lb->running()) << step;
    EXPECT_TRUE(live.advanced(step)) << live.error;
  };
  std::string why;

  // 1. valid: listener c added on pool q; p's weights change.
  ConfigSpec s1 = spec;
  s1.listeners.push_back(ListenerSpec{"c", "127.0.0.1", pc.port, "q"});
  s1.pools[0].backends[0].weight = 50;
  apply(s1, "", true, "reload 1");
  EXPECT_TRUE(serves(pc.port, &why)) << "added listener c: " << why;

  // 2. invalid: a type error. The old config (with c) keeps serving.
  std::string bad = to_toml(s1);
  bad.replace(bad.find("connect_timeout = "), 0, "retries = \"two\"\n");
  apply(s1, bad, false, "reload 2");
  EXPECT_TRUE(serves(pc.port, &why)) << "after a bad reload: " << why;

  // 3. valid: listener b removed (its 50 streams continue); p gains e3.
  ConfigSpec s3 = s1;
  s3.listeners.erase(s3.listeners.begin() + 1);
  s3.pools[0].backends.push_back(BackendSpec{e3.address()});
  apply(s3, "", true, "reload 3");
  EXPECT_TRUE(connects_refused(pb.port)) << "removed listener b still accepts";

  // 4. invalid: workers changed needs a restart.
  ConfigSpec s4 = s3;
  s4.workers = 3;
  apply(s4, "", false, "reload 4");

  // 5. valid: c moves to pool p, a's backlog changes (same sockets), e1 leaves p (its live
  // streams continue).
  ConfigSpec s5 = s3;
  s5.listeners[1].pool = "p";
  s5.listeners[0].backlog = 128;
  s5.pools[0].backends.erase(s5.pools[0].backends.begin());
  apply(s5, "", true, "reload 5");
  EXPECT_TRUE(serves(pa.port, &why)) << why;

  // 6. invalid: listener d on a port that cannot be bound: nothing is published.
  ConfigSpec s6 = s5;
  s6.listeners.push_back(ListenerSpec{"d", "127.0.0.1", busy_port, "p"});
  apply(s6, "", false, "reload 6");
  EXPECT_NE(lb->log().find("listener d: bind"), std::string::npos) << lb->log_tail();

  // 7. valid: b back; c re-bound to another port (closed on the old one).
  ConfigSpec s7 = s5;
  s7.listeners.insert(s7.listeners.begin() + 1, ListenerSpec{"b", "127.0.0.1", pb.port, "q"});
  s7.listeners[2].port = pc2.port;
  apply(s7, "", true, "reload 7");
  EXPECT_TRUE(serves(pb.port, &why)) << "re-added b: " << why;
  EXPECT_TRUE(serves(pc2.port, &why)) << "re-bound c: " << why;
  EXPECT_TRUE(connects_refused(pc.port)) << "c's old port still accepts";

  // 8. invalid: an unknown key.
  std::string unknown = to_toml(s7);
  unknown.replace(unknown.find("connect_timeout = "), 0, "conect_timeout = \"1s\"\n");
  apply(s7, unknown, false, "reload 8");

  // 9. valid: c removed, weights change again.
  ConfigSpec s9 = s7;
  s9.listeners.pop_back();
  s9.pools[0].backends[0].weight = 200;
  apply(s9, "", true, "reload 9");
  EXPECT_TRUE(connects_refused(pc2.port)) << "removed listener c still accepts";

  // 10. invalid: a listener naming a missing pool.
  ConfigSpec s10 = s9;
  s10.listeners[0].pool = "nope";
  apply(s10, "", false, "reload 10");
  EXPECT_TRUE(serves(pa.port, &why)) << why;
  EXPECT_TRUE(serves(pb.port, &why)) << why;

  live.stop = true;
  sweeper.join();
  EXPECT_FALSE(live.broken) << live.error;
  EXPECT_EQ(lb->count_events("reloaded"), 5);
  EXPECT_EQ(lb->count_events("reload_failed"), 5) << "each bad reload is logged once";

  // Every stream finishes cleanly: a last 64 KiB each way, then FIN both ways, checked.
  std::vector<DuplexLeg> legs;
  for (int i = 0; i < kStreams; ++i) {
    DuplexLeg leg;
    leg.fd = live.fds[i].get();
    leg.send_seed = leg.recv_seed = 5000 + i;
    leg.send_len = leg.recv_len = 64 * 1024;
    legs.push_back(leg);
  }
  const auto results = run_duplex(legs, deadline_in(seconds(30)));
  const DuplexFailures f = failures(legs, results);
  EXPECT_EQ(f.count, 0) << f.first;
  EXPECT_GE(live.offset[kStreams - 1], 20 * kChunk) << "the streams on the removed listener kept moving";
}

}  // namespace
}  // namespace ringlb::it
