// PROXY protocol encoding, checked byte for byte against the spec's layout.
#include "ringlb/net/proxy_header.h"

#include <gtest/gtest.h>

#include <string>

namespace ringlb::net {
namespace {

Address addr(std::string_view s) {
  auto a = parse_address(s);
  EXPECT_TRUE(a.ok()) << s;
  return *a;
}

std::string encode(lb::ProxyHeader v, std::string_view client, std::string_view local) {
  uint8_t buf[kMaxProxyHeader];
  const size_t n = encode_proxy_header(v, addr(client), addr(local), buf);
  return std::string(reinterpret_cast<char*>(buf), n);
}

TEST(ProxyHeader, NoneIsEmpty) { EXPECT_EQ(encode(lb::ProxyHeader::none, "1.2.3.4:5", "6.7.8.9:443"), ""); }

TEST(ProxyHeader, V1Tcp4AndTcp6) {
  EXPECT_EQ(encode(lb::ProxyHeader::v1, "192.0.2.10:51234", "10.0.0.1:443"),
            "PROXY TCP4 192.0.2.10 10.0.0.1 51234 443\r\n");
  EXPECT_EQ(encode(lb::ProxyHeader::v1, "[2001:db8::1]:40000", "[::1]:443"),
            "PROXY TCP6 2001:db8::1 ::1 40000 443\r\n");
}

TEST(ProxyHeader, V1MixedFamiliesIsUnknown) {
  EXPECT_EQ(encode(lb::ProxyHeader::v1, "192.0.2.10:1", "[::1]:443"), "PROXY UNKNOWN\r\n");
}

TEST(ProxyHeader, V1WorstCaseFits) {
  const std::string h = encode(lb::ProxyHeader::v1, "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe]:65535",
                               "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe]:65535");
  EXPECT_EQ(h.size(), 104u);  // the spec's maximum is 107 including the CRLF
  EXPECT_EQ(h.substr(h.size() - 2), "\r\n");
}

TEST(ProxyHeader, V2Tcp4) {
  const std::string h = encode(lb::ProxyHeader::v2, "192.0.2.10:51234", "10.0.0.1:443");
  const std::string expected =
      std::string("\r\n\r\n\0\r\nQUIT\n", 12) + std::string("\x21\x11\x00\x0c", 4) +
      std::string("\xc0\x00\x02\x0a", 4) + std::string("\x0a\x00\x00\x01", 4) +
      std::string("\xc8\x22\x01\xbb", 4);
  EXPECT_EQ(h, expected);
}

TEST(ProxyHeader, V2Tcp6Length) {
  const std::string h = encode(lb::ProxyHeader::v2, "[2001:db8::1]:1", "[::1]:2");
  ASSERT_EQ(h.size(), 16u + 36u);
  EXPECT_EQ(static_cast<uint8_t>(h[13]), 0x21);
  EXPECT_EQ(static_cast<uint8_t>(h[15]), 36);
}

TEST(ProxyHeader, V2MixedFamiliesIsLocal) {
  const std::string h = encode(lb::ProxyHeader::v2, "192.0.2.10:1", "[::1]:443");
  ASSERT_EQ(h.size(), 16u);
  EXPECT_EQ(static_cast<uint8_t>(h[12]), 0x20);
  EXPECT_EQ(static_cast<uint8_t>(h[13]), 0x00);
}

}  // namespace
}  // namespace ringlb::net
