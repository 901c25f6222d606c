// Losing a backend: with health checks too slow to notice, retries carry each client to its
// first fallback with no failed connect; with fast health checks the backend is marked down
// (logged), only its own clients move, and they move back when it returns and is marked up.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <map>

#include "cluster.h"
#include "harness.h"
#include "sockets.h"

namespace ringlb::it {
namespace {

constexpr int kFirstIp = 10;
constexpr int kClients = 60;

ConfigSpec three_backends(uint16_t port, const NamedBackends& backends) {
  ConfigSpec spec = simple_config(port, backends.addresses());
  spec.pools[0].hash = "client_ip";
  spec.pools[0].retries = 2;
  spec.pools[0].connect_timeout = "500ms";
  return spec;
}

// ip -> route per `ringlb route --json`.
std::map<std::string, Route> routes_for_clients(const std::string& config) {
  std::map<std::string, Route> out;
  for (int n = kFirstIp; n < kFirstIp + kClients; ++n) {
    std::string why;
    auto r = ringlb_route(config, loopback_ip(n), "", &why);
    EXPECT_TRUE(r) << why;
    if (r) out[loopback_ip(n)] = *r;
  }
  return out;
}

TEST(Failover, DeadBackendNotYetDetectedRetriesOnFirstFallback) {
  TempDir dir;
  NamedBackends backends(3);
  ReservedPort lp = reserve_port();
  ConfigSpec spec = three_backends(lp.port, backends);
  spec.pools[0].health_interval = "1h";  // the first round at startup, then never in this test
  spec.pools[0].health_timeout = "500ms";
  std::string err, config;
  auto lb = start_ringlb(dir, spec, &err, &config);
  ASSERT_TRUE(lb) << err;
  const auto routes = routes_for_clients(config);
  ASSERT_EQ(routes.size(), static_cast<size_t>(kClients));

  const int dead = 1;  // backend-2
  backends.server(dead).stop_listening();  // connects to it are now refused
  const std::string dead_addr = backends.server(dead).address();

  int failures = 0, on_dead_route = 0, wrong_fallback = 0;
  std::string details;
  for (const auto& [ip, route] : routes) {
    std::string why;
    const std::string name = who_serves(lp.port, ip, &why);
    if (name.empty()) {
      if (failures++ < 5) details += "\n  " + why;
      continue;
    }
    EXPECT_NE(name, backends.name(dead)) << ip << " reached a backend that is not listening";
    if (route.backend != dead_addr) {
      EXPECT_EQ(name, backends.name_of(route.backend)) << ip << ": healthy primary not used";
      continue;
    }
    ++on_dead_route;
    ASSERT_FALSE(route.fallbacks.empty());
    if (name != backends.name_of(route.fallbacks[0]) && wrong_fallback++ < 5) {
      details += fmt::format("\n  {}: reached {}, first fallback is {}", ip, name, route.fallbacks[0]);
    }
  }
  EXPECT_EQ(failures, 0) << "clients failed although retries = 2:" << details;
  EXPECT_GT(on_dead_route, 0) << "no client mapped to the stopped backend: the test proves nothing";
  EXPECT_EQ(wrong_fallback, 0) << "clients of the dead backend must land on their first fallback:" << details;
}

TEST(Failover, HealthMarksDownMovesOnlyItsClientsAndBackUpReturnsThem) {
  TempDir dir;
  NamedBackends backends(3);
  ReservedPort lp = reserve_port();
  ConfigSpec spec = three_backends(lp.port, backends);
  spec.pools[0].health_interval = "200ms";
  spec.pools[0].health_timeout = "100ms";
  spec.pools[0].fall = 2;
  spec.pools[0].rise = 2;
  std::string err, config;
  auto lb = start_ringlb(dir, spec, &err, &config);
  ASSERT_TRUE(lb) << err;

  // Where every client goes with all backends up, through the data path.
  std::map<std::string, std::string> before;
  for (int n = kFirstIp; n < kFirstIp + kClients; ++n) {
    std::string why;
    before[loopback_ip(n)] = who_serves(lp.port, loopback_ip(n), &why);
    ASSERT_FALSE(before[loopback_ip(n)].empty()) << why;
  }
  const int victim = 2;  // backend-3
  const std::string victim_addr = backends.server(victim).address();
  const std::string victim_name = backends.name(victim);
  int victims = 0;
  for (const auto& [ip, name] : before) victims += name == victim_name;
  ASSERT_GT(victims, 0) << "no client mapped to " << victim_name;

  const std::map<std::string, std::string> down = {{"backend", victim_addr}, {"state", "down"}};
  const std::map<std::string, std::string> up = {{"backend", victim_addr}, {"state", "up"}};
  const int ups_before = lb->count_events("health", up);
  backends.server(victim).stop_listening();
  ASSERT_TRUE(lb->wait_event("health", down, seconds(5)))
      << "no `health ... backend=" << victim_addr << " state=down` line within 5 s";

  int moved_wrongly = 0;
  std::string details;
  for (const auto& [ip, name] : before) {
    std::string why;
    const std::string now = who_serves(lp.port, ip, &why);
    ASSERT_FALSE(now.empty()) << "while " << victim_name << " is down: " << why;
    if (name == victim_name) {
      EXPECT_NE(now, victim_name) << ip;
    } else if (now != name && moved_wrongly++ < 5) {
      details += fmt::format("\n  {}: {} -> {}", ip, name, now);
    }
  }
  EXPECT_EQ(moved_wrongly, 0) << "clients of healthy backends moved:" << details;

  backends.server(victim).start_listening();
  ASSERT_TRUE(lb->wait_event("health", up, seconds(5), ups_before + 1))
      << "no `health ... backend=" << victim_addr << " state=up` line within 5 s of restarting it";
  int not_back = 0;
  for (const auto& [ip, name] : before) {
    std::string why;
    const std::string now = who_serves(lp.port, ip, &why);
    ASSERT_FALSE(now.empty()) << "after " << victim_name << " came back: " << why;
    if (now != name && not_back++ < 5) details += fmt::format("\n  {}: was {}, now {}", ip, name, now);
  }
  EXPECT_EQ(not_back, 0) << "clients did not return to their backend:" << details;
}

// A connect that times out is retried like a refused one (DESIGN.md). The blackhole backend
// listens with backlog 0 and never accepts: once one connection (the first health probe) waits
// in its accept queue, Linux drops further SYNs (tcp_conn_request: accept queue full), so a
// connect to it can only time out.
TEST(Failover, ConnectTimeoutRetriesOnFirstFallback) {
  TempDir dir;
  NamedBackends backends(2);
  uint16_t hole_port = 0;
  Fd hole = listen_tcp("127.0.0.1", 0, &hole_port, nullptr, /*backlog=*/0);
  ASSERT_TRUE(hole.valid());
  const std::string hole_addr = address("127.0.0.1", hole_port);
  ReservedPort lp = reserve_port();
  ConfigSpec spec = simple_config(lp.port, {backends.server(0).address(), backends.server(1).address(), hole_addr});
  spec.pools[0].retries = 2;
  spec.pools[0].connect_timeout = "300ms";
  spec.pools[0].health_interval = "1h";
  spec.pools[0].health_timeout = "500ms";
  std::string err, config;
  auto lb = start_ringlb(dir, spec, &err, &config);
  ASSERT_TRUE(lb) << err;
  // Make sure the queue is full even if the probe's connection was not counted yet.
  std::vector<Fd> fillers;
  for (int i = 0; i < 2; ++i) {
    int cerr = 0;
    ConnectOptions opt;
    opt.timeout = milliseconds(200);
    fillers.push_back(connect_to(hole_port, opt, &cerr));
  }

  int tried = 0;
  for (int n = kFirstIp; n < kFirstIp + kClients && tried < 3; ++n) {
    std::string why;
    const auto route = ringlb_route(config, loopback_ip(n), "", &why);
    ASSERT_TRUE(route) << why;
    if (route->backend != hole_addr) continue;
    ++tried;
    const auto t0 = Clock::now();
    const std::string got = who_serves(lp.port, loopback_ip(n), &why);
    EXPECT_EQ(got, backends.name_of(route->fallbacks.at(0)))
        << loopback_ip(n) << " maps to the blackhole; " << why << " after " << seconds_since(t0) << " s";
  }
  EXPECT_GT(tried, 0) << "no client mapped to the blackhole backend";
}

// backup = true: used only when no primary is up (DESIGN.md "Config").
TEST(Failover, BackupServesOnlyWhileNoPrimaryIsUp) {
  TempDir dir;
  NamedBackends backends(2);  // backend-1 primary, backend-2 backup
  ReservedPort lp = reserve_port();
  ConfigSpec spec = simple_config(lp.port, {});
  spec.pools[0].backends = {BackendSpec{backends.server(0).address()},
                            BackendSpec{backends.server(1).address(), 0, /*backup=*/true}};
  spec.pools[0].health_interval = "200ms";
  spec.pools[0].health_timeout = "100ms";
  std::string err;
  auto lb = start_ringlb(dir, spec, &err);
  ASSERT_TRUE(lb) << err;

  auto all_on = [&](const std::string& want) {
    int hits = 0;
    for (int n = 10; n < 20; ++n) {
      std::string why;
      const std::string got = who_serves(lp.port, loopback_ip(n), &why);
      EXPECT_EQ(got, want) << loopback_ip(n) << " " << why;
      hits += got == want;
    }
    return hits == 10;
  };
  EXPECT_TRUE(all_on("backend-1")) << "the backup took clients while the primary was up";

  const std::string primary = backends.server(0).address();
  const std::map<std::string, std::string> up = {{"backend", primary}, {"state", "up"}};
  const int ups = lb->count_events("health", up);
  backends.server(0).stop_listening();
  ASSERT_TRUE(lb->wait_event("health", {{"backend", primary}, {"state", "down"}}, seconds(5)));
  EXPECT_TRUE(all_on("backend-2")) << "the backup did not take over with the primary down";

  backends.server(0).start_listening();
  ASSERT_TRUE(lb->wait_event("health", up, seconds(5), ups + 1));
  EXPECT_TRUE(all_on("backend-1")) << "clients did not return to the primary";
}

}  // namespace
}  // namespace ringlb::it
