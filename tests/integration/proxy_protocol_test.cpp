// PROXY protocol, checked by a real receiver: nginx with `listen ... proxy_protocol` answers
// with the client address and port it parsed from ringlb's header. A raw client bound to
// 127.0.0.9 knows its own port, so the answer must name exactly that address and port, for v1
// and for v2.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <fmt/format.h>

#include "cluster.h"
#include "harness.h"
#include "nginx.h"
#include "sockets.h"

namespace ringlb::it {
namespace {

class ProxyProtocolTest : public ::testing::TestWithParam<const char*> {};

TEST_P(ProxyProtocolTest, NginxSeesTheRealClientAddressAndPort) {
  const std::string nginx_bin = find_program("nginx");
  if (nginx_bin.empty()) GTEST_SKIP() << "needs nginx (scripts/deps installs it)";
  TempDir dir;
  Nginx nginx;
  std::string err;
  const std::string block = fmt::format(R"(  server {{
    listen 127.0.0.1:{} proxy_protocol reuseport;
    location / {{ return 200 "client=$proxy_protocol_addr:$proxy_protocol_port\n"; }}
  }})",
                                        nginx.port());
  ASSERT_TRUE(nginx.start(dir, nginx_bin, block, &err)) << err;

  ReservedPort lp = reserve_port();
  ConfigSpec spec = simple_config(lp.port, {address("127.0.0.1", nginx.port())});
  spec.listeners[0].proxy_protocol = GetParam();
  auto lb = start_ringlb(dir, spec, &err);
  ASSERT_TRUE(lb) << err;

  for (int n : {9, 77}) {
    ConnectOptions opt;
    opt.source_ip = loopback_ip(n);
    int cerr = 0;
    Fd c = connect_to(lp.port, opt, &cerr);
    ASSERT_TRUE(c.valid()) << "errno " << -cerr;
    sockaddr_in local{};
    socklen_t len = sizeof local;
    ::getsockname(c.get(), reinterpret_cast<sockaddr*>(&local), &len);
    ASSERT_EQ(send_all(c.get(), "GET / HTTP/1.0\r\nHost: pp.test\r\n\r\n", deadline_in(seconds(3))), Outcome::kOk);
    std::string response;
    ASSERT_EQ(read_to_eof(c.get(), &response, deadline_in(seconds(5))), Outcome::kEof) << response;
    EXPECT_NE(response.find("HTTP/1.1 200"), std::string::npos) << response;
    const std::string want = fmt::format("client={}:{}\n", loopback_ip(n), ntohs(local.sin_port));
    EXPECT_NE(response.find("\r\n\r\n" + want), std::string::npos)
        << "nginx parsed a different client from ringlb's PROXY " << GetParam() << " header; want " << want
        << "got:\n"
        << response;
  }
}

INSTANTIATE_TEST_SUITE_P(Versions, ProxyProtocolTest, ::testing::Values("v1", "v2"),
                         [](const ::testing::TestParamInfo<const char*>& p) { return std::string(p.param); });

}  // namespace
}  // namespace ringlb::it
