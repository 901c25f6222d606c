// Hashing through the real data path: hash = "client_ip" sticks a source address to one backend
// and spreads distinct addresses over all of them; `ringlb route --json` names the very backend
// the data path picks; hash = "client_ip_port" spreads one address over several backends.
// Clients bind 127.0.0.N before connecting (all of 127.0.0.0/8 is loopback on Linux).
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <fmt/format.h>

#include <map>
#include <set>

#include "cluster.h"
#include "harness.h"
#include "sockets.h"

namespace ringlb::it {
namespace {

class RoutingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ConfigSpec spec;
    ListenerSpec sticky;
    sticky.name = "sticky";
    sticky.port = sticky_port_.port;
    sticky.pool = "by_ip";
    ListenerSpec spread;
    spread.name = "spread";
    spread.port = spread_port_.port;
    spread.pool = "by_conn";
    spec.listeners = {sticky, spread};
    PoolSpec by_ip;
    by_ip.name = "by_ip";
    by_ip.hash = "client_ip";
    by_ip.health_interval = "1s";
    PoolSpec by_conn = by_ip;
    by_conn.name = "by_conn";
    by_conn.hash = "client_ip_port";
    for (const auto& a : backends_.addresses()) {
      by_ip.backends.push_back(BackendSpec{a});
      by_conn.backends.push_back(BackendSpec{a});
    }
    spec.pools = {by_ip, by_conn};
    std::string err;
    lb_ = start_ringlb(dir_, spec, &err, &config_);
    ASSERT_TRUE(lb_) << err;
  }

  TempDir dir_;
  NamedBackends backends_{3};
  ReservedPort sticky_port_ = reserve_port();
  ReservedPort spread_port_ = reserve_port();
  std::string config_;
  std::unique_ptr<RinglbProcess> lb_;
};

TEST_F(RoutingTest, SameClientIpAlwaysReachesTheSameBackend) {
  std::set<std::string> seen;
  for (int i = 0; i < 20; ++i) {
    std::string why;
    const std::string name = who_serves(sticky_port_.port, "127.0.0.7", &why);
    ASSERT_FALSE(name.empty()) << "connection " << i << ": " << why;
    seen.insert(name);
  }
  EXPECT_EQ(seen.size(), 1u) << "20 connections from 127.0.0.7 reached " << seen.size() << " backends";
}

TEST_F(RoutingTest, DistinctClientIpsCoverAllBackendsAndMatchRouteCommand) {
  std::map<std::string, int> per_backend;
  int disagreements = 0;
  std::string first_disagreements;
  for (int n = 10; n < 70; ++n) {
    const std::string ip = loopback_ip(n);
    std::string why;
    const std::string name = who_serves(sticky_port_.port, ip, &why);
    ASSERT_FALSE(name.empty()) << why;
    per_backend[name]++;
    const auto route = ringlb_route(config_, ip, "sticky", &why);
    ASSERT_TRUE(route) << why;
    EXPECT_EQ(route->listener, "sticky");
    EXPECT_EQ(route->pool, "by_ip");
    EXPECT_EQ(route->fallbacks.size(), 2u) << "3 backends: the chosen one and 2 fallbacks";
    const std::string routed = backends_.name_of(route->backend);
    EXPECT_FALSE(routed.empty()) << "route names an unknown backend: " << route->backend;
    if (routed != name && disagreements++ < 5) {
      first_disagreements += fmt::format("\n  {}: route says {} ({}), data path reached {}", ip, routed,
                                         route->backend, name);
    }
  }
  EXPECT_EQ(disagreements, 0) << "`ringlb route` disagrees with the data path:" << first_disagreements;
  EXPECT_EQ(per_backend.size(), 3u) << "60 client addresses did not reach all 3 backends";
  for (const auto& [name, count] : per_backend) {
    // Even shares are 20 each; below 5 would mean the hash is badly lumpy, not just unlucky
    // (binomial(60, 1/3): P(X < 5) ~ 1e-5).
    EXPECT_GE(count, 5) << name;
  }
}

TEST_F(RoutingTest, RouteCommandIsDeterministic) {
  std::string why;
  const auto a = ringlb_route(config_, "127.0.0.42", "sticky", &why);
  ASSERT_TRUE(a) << why;
  const auto b = ringlb_route(config_, "127.0.0.42", "sticky", &why);
  ASSERT_TRUE(b) << why;
  EXPECT_EQ(a->backend, b->backend);
  EXPECT_EQ(a->fallbacks, b->fallbacks);
  EXPECT_FALSE(a->fingerprint.empty());
  EXPECT_EQ(a->fingerprint, b->fingerprint);
  std::set<std::string> all = {a->backend};
  all.insert(a->fallbacks.begin(), a->fallbacks.end());
  EXPECT_EQ(all.size(), 3u) << "backend and fallbacks must be the 3 distinct backends";
}

// hash = client_ip_port: one address spreads over the backends, and `ringlb route IP:PORT`
// names the backend each connection (known by its source port) actually reached.
TEST_F(RoutingTest, ClientIpPortSpreadsOneAddressAndMatchesRouteCommand) {
  std::map<std::string, int> per_backend;
  int disagreements = 0;
  std::string details;
  for (int i = 0; i < 30; ++i) {
    ConnectOptions opt;
    opt.source_ip = "127.0.0.7";
    int cerr = 0;
    Fd c = connect_to(spread_port_.port, opt, &cerr);
    ASSERT_TRUE(c.valid()) << "errno " << -cerr;
    sockaddr_in local{};
    socklen_t len = sizeof local;
    ::getsockname(c.get(), reinterpret_cast<sockaddr*>(&local), &len);
    std::string name;
    ASSERT_EQ(read_line(c.get(), &name, deadline_in(seconds(5))), Outcome::kOk) << "connection " << i;
    per_backend[name]++;
    if (i < 10) {
      const std::string client = address("127.0.0.7", ntohs(local.sin_port));
      std::string why;
      const auto route = ringlb_route(config_, client, "spread", &why);
      ASSERT_TRUE(route) << why;
      if (backends_.name_of(route->backend) != name && disagreements++ < 5) {
        details += fmt::format("\n  {}: route says {}, data path reached {}", client, route->backend, name);
      }
    }
  }
  EXPECT_EQ(disagreements, 0) << "`ringlb route IP:PORT` disagrees with the data path:" << details;
  // 30 connections all on one of 3 backends by chance: 3 * 3^-30.
  EXPECT_GE(per_backend.size(), 2u) << "hash = client_ip_port sent every connection from one address to one backend";
}

// Relative weights: 300 vs 100 gives the heavy backend about 3/4 of 200 client addresses
// (binomial sd ~6 clients; the bounds are 5 sd out).
TEST(Weights, ShareFollowsRelativeWeight) {
  TempDir dir;
  NamedBackends backends(2);
  ReservedPort lp = reserve_port();
  ConfigSpec spec = simple_config(lp.port, {});
  spec.pools[0].backends = {BackendSpec{backends.server(0).address(), 300},
                            BackendSpec{backends.server(1).address(), 100}};
  spec.pools[0].health_interval = "1s";
  std::string err;
  auto lb = start_ringlb(dir, spec, &err);
  ASSERT_TRUE(lb) << err;
  int heavy = 0;
  for (int n = 10; n < 210; ++n) {
    std::string why;
    const std::string name = who_serves(lp.port, loopback_ip(n), &why);
    ASSERT_FALSE(name.empty()) << why;
    heavy += name == "backend-1";
  }
  EXPECT_GE(heavy, 120) << "weight 300 vs 100: backend-1 got " << heavy << " of 200 clients";
  EXPECT_LE(heavy, 180) << "weight 300 vs 100: backend-1 got " << heavy << " of 200 clients";
}

}  // namespace
}  // namespace ringlb::it
