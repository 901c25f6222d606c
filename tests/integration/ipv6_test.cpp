// IPv6 (DESIGN.md: addresses are "IPv4:port" or "[IPv6]:port"): a [::1] listener in front of an
// IPv4 backend and an IPv4 listener in front of a [::1] backend both forward byte-exact, and
// `ringlb route` takes an IPv6 client. Skips where the machine has no IPv6 loopback.
#include <gtest/gtest.h>

#include "harness.h"
#include "servers.h"
#include "sockets.h"
#include "stream.h"

namespace ringlb::it {
namespace {

bool have_ipv6_loopback() {
  uint16_t port = 0;
  return listen_tcp("::1", 0, &port).valid();
}

TEST(Ipv6, ListenerAndBackendOnLoopbackV6) {
  if (!have_ipv6_loopback()) GTEST_SKIP() << "no IPv6 loopback (::1) on this machine";
  TempDir dir;
  TcpServer v4_backend(echo_handler());
  TcpServer v6_backend(echo_handler(), 0, "::1");
  ReservedPort v6_port = reserve_port("::1");
  ReservedPort v4_port = reserve_port();

  ConfigSpec spec;
  ListenerSpec six;
  six.name = "six";
  six.ip = "::1";
  six.port = v6_port.port;
  six.pool = "to_v4";
  ListenerSpec four;
  four.name = "four";
  four.port = v4_port.port;
  four.pool = "to_v6";
  spec.listeners = {six, four};
  PoolSpec to_v4;
  to_v4.name = "to_v4";
  to_v4.health_interval = "1s";
  to_v4.backends = {BackendSpec{v4_backend.address()}};
  PoolSpec to_v6 = to_v4;
  to_v6.name = "to_v6";
  to_v6.backends = {BackendSpec{v6_backend.address()}};
  spec.pools = {to_v4, to_v6};
  std::string err, cfg;
  auto lb = start_ringlb(dir, spec, &err, &cfg);
  ASSERT_TRUE(lb) << err;

  struct Case {
    std::string ip;
    uint16_t port;
  };
  for (const Case& k : {Case{"::1", v6_port.port}, Case{"127.0.0.1", v4_port.port}}) {
    ConnectOptions opt;
    opt.ip = k.ip;
    int cerr = 0;
    Fd c = connect_to(k.port, opt, &cerr);
    ASSERT_TRUE(c.valid()) << address(k.ip, k.port) << ": errno " << -cerr;
    DuplexLeg leg;
    leg.fd = c.get();
    leg.send_seed = leg.recv_seed = 61;
    leg.send_len = leg.recv_len = 3 << 20;
    const auto r = run_duplex({leg}, deadline_in(seconds(20)));
    EXPECT_TRUE(r[0].ok(leg)) << address(k.ip, k.port) << ": " << r[0].describe(leg);
  }

  const auto route = ringlb_route(cfg, "::1", "six", &err);
  ASSERT_TRUE(route) << err;
  EXPECT_EQ(route->backend, v4_backend.address());
}

}  // namespace
}  // namespace ringlb::it
