// Table-driven tests for Address: strict "IPv4:port" / "[IPv6]:port" parsing, client
// parsing (port optional), formatting, sockaddr round trips and v4-mapped normalization.
#include "ringlb/common/address.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <cstring>
#include <set>

namespace ringlb {
namespace {

TEST(AddressParse, Accepts) {
  const struct {
    const char* text;
    sa_family_t family;
    const char* ip;
    uint16_t port;
    const char* canonical;
  } cases[] = {
      {"10.0.1.11:443", AF_INET, "10.0.1.11", 443, "10.0.1.11:443"},
      {"0.0.0.0:1", AF_INET, "0.0.0.0", 1, "0.0.0.0:1"},
      {"255.255.255.255:65535", AF_INET, "255.255.255.255", 65535, "255.255.255.255:65535"},
      {"[::1]:80", AF_INET6, "::1", 80, "[::1]:80"},
      {"[::]:443", AF_INET6, "::", 443, "[::]:443"},
      {"[2001:DB8::0001]:8443", AF_INET6, "2001:db8::1", 8443, "[2001:db8::1]:8443"},
      {"[::ffff:10.0.0.1]:80", AF_INET6, "::ffff:10.0.0.1", 80, "[::ffff:10.0.0.1]:80"},
      {"127.0.0.1:08080", AF_INET, "127.0.0.1", 8080, "127.0.0.1:8080"},
  };
  for (const auto& c : cases) {
    auto a = parse_address(c.text);
    ASSERT_TRUE(a.ok()) << c.text << ": " << a.error().message;
    EXPECT_EQ(a->family, c.family) << c.text;
    EXPECT_EQ(a->ip_string(), c.ip) << c.text;
    EXPECT_EQ(a->port, c.port) << c.text;
    EXPECT_EQ(a->to_string(), c.canonical) << c.text;
    auto again = parse_address(a->to_string());
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(*again, *a) << c.text;
  }
}

TEST(AddressParse, Rejects) {
  const char* cases[] = {
      "",                    // empty
      "1.2.3.4",             // no port
      "1.2.3.4:",            // empty port
      "1.2.3.4:0",           // port 0 not allowed by default
      "1.2.3.4:65536",       // port too large
      "1.2.3.4:99999999",    // port far too large
      "1.2.3.4:-1",          // sign
      "1.2.3.4:+80",         // sign
      "1.2.3.4:80x",         // trailing junk
      "1.2.3.4:80 ",         // trailing space
      " 1.2.3.4:80",         // leading space
      "1.2.3:80",            // short IPv4
      "1.2.3.256:80",        // octet too large
      "01.2.3.4:80",         // leading zero octet (ambiguous octal)
      "localhost:80",        // hostnames are not resolved
      "::1:80",              // IPv6 without brackets
      "::1",                 // IPv6 without brackets or port
      "[::1]",               // no port
      "[::1]:",              // empty port
      "[::1]80",             // missing ':'
      "[::1",                // missing ']'
      "[1.2.3.4]:80",        // IPv4 in brackets
      "[fe80::1%eth0]:80",   // zone ids are not supported
      "[::1]:80:",           // trailing junk
      "[::1]:80]",           // trailing junk
      ":80",                 // no IP
      "[]:80",               // empty IPv6
  };
  for (const char* text : cases) {
    auto a = parse_address(text);
    EXPECT_FALSE(a.ok()) << "accepted \"" << text << "\"";
    if (!a.ok()) {
      EXPECT_FALSE(a.error().message.empty()) << text;
    }
  }
}

TEST(AddressParse, PortZeroOnlyWhenAllowed) {
  EXPECT_FALSE(parse_address("127.0.0.1:0").ok());
  auto a = parse_address("127.0.0.1:0", /*allow_port_zero=*/true);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->port, 0);
  EXPECT_TRUE(parse_address("[::1]:0", true).ok());
}

TEST(AddressParse, ErrorsExplainTheFix) {
  EXPECT_NE(parse_address("::1:80").error().message.find("brackets"), std::string::npos);
  EXPECT_NE(parse_address("1.2.3.4").error().message.find("no port"), std::string::npos);
  EXPECT_NE(parse_address("localhost:80").error().message.find("hostnames"), std::string::npos);
}

TEST(AddressClient, Accepts) {
  const struct {
    const char* text;
    const char* canonical;
  } cases[] = {
      {"10.0.0.1", "10.0.0.1:0"},
      {"10.0.0.1:5000", "10.0.0.1:5000"},
      {"10.0.0.1:0", "10.0.0.1:0"},
      {"::1", "[::1]:0"},
      {"2001:db8::7", "[2001:db8::7]:0"},
      {"[::1]", "[::1]:0"},
      {"[2001:db8::7]:65535", "[2001:db8::7]:65535"},
      {"::ffff:192.0.2.9", "192.0.2.9:0"},           // v4-mapped: normalized to IPv4
      {"[::ffff:192.0.2.9]:1234", "192.0.2.9:1234"},
  };
  for (const auto& c : cases) {
    auto a = parse_client(c.text);
    ASSERT_TRUE(a.ok()) << c.text << ": " << a.error().message;
    EXPECT_EQ(a->to_string(), c.canonical) << c.text;
  }
}

TEST(AddressClient, Rejects) {
  const char* cases[] = {"",        "10.0.0",    "10.0.0.1:",  "10.0.0.1:65536", "host",
                         "[::1",    "[::1]:",    "[::1]x",     "[10.0.0.1]",     "::1::2",
                         "1.2.3.4 ", "10.0.0.1:x", "[::1]:-1"};
  for (const char* text : cases) {
    EXPECT_FALSE(parse_client(text).ok()) << "accepted \"" << text << "\"";
  }
}

TEST(AddressSockaddr, RoundTripV4AndV6) {
  for (const char* text : {"192.0.2.1:443", "[2001:db8::1]:8443", "[::]:1"}) {
    auto a = parse_address(text);
    ASSERT_TRUE(a.ok());
    sockaddr_storage ss;
    const socklen_t len = a->to_sockaddr(ss);
    EXPECT_EQ(len, a->family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6));
    EXPECT_EQ(ss.ss_family, a->family);
    EXPECT_EQ(Address::from_sockaddr(reinterpret_cast<sockaddr*>(&ss)), *a) << text;
  }
}

TEST(AddressSockaddr, NetworkByteOrder) {
  auto a = parse_address("192.0.2.1:443");
  ASSERT_TRUE(a.ok());
  sockaddr_storage ss;
  a->to_sockaddr(ss);
  const auto* sin = reinterpret_cast<const sockaddr_in*>(&ss);
  EXPECT_EQ(sin->sin_port, htons(443));
  EXPECT_EQ(sin->sin_addr.s_addr, inet_addr("192.0.2.1"));
}

TEST(AddressSockaddr, V4MappedNormalizesToV4) {
  sockaddr_in6 sin6{};
  sin6.sin6_family = AF_INET6;
  sin6.sin6_port = htons(5555);
  ASSERT_EQ(inet_pton(AF_INET6, "::ffff:198.51.100.7", &sin6.sin6_addr), 1);
  const Address a = Address::from_sockaddr(reinterpret_cast<sockaddr*>(&sin6));
  EXPECT_EQ(a.family, AF_INET);
  EXPECT_EQ(a.to_string(), "198.51.100.7:5555");
  EXPECT_EQ(a, *parse_address("198.51.100.7:5555"));
}

TEST(AddressSockaddr, UnknownFamilyIsDefault) {
  sockaddr_storage ss{};
  ss.ss_family = AF_UNIX;
  EXPECT_EQ(Address::from_sockaddr(reinterpret_cast<sockaddr*>(&ss)), Address{});
  EXPECT_EQ(Address::from_sockaddr(nullptr), Address{});
}

TEST(AddressPredicates, LoopbackAndUnspecified) {
  const struct {
    const char* text;
    bool loopback;
    bool unspecified;
  } cases[] = {
      {"127.0.0.1:1", true, false},   {"127.255.0.9:1", true, false},
      {"10.0.0.1:1", false, false},   {"0.0.0.0:1", false, true},
      {"[::1]:1", true, false},       {"[::]:1", false, true},
      {"[::2]:1", false, false},      {"[::ffff:127.0.0.1]:1", true, false},
  };
  for (const auto& c : cases) {
    auto a = parse_address(c.text);
    ASSERT_TRUE(a.ok()) << c.text;
    EXPECT_EQ(a->is_loopback(), c.loopback) << c.text;
    EXPECT_EQ(a->is_unspecified(), c.unspecified) << c.text;
  }
}

TEST(AddressOrder, FamilyThenBytesThenPort) {
  std::set<Address> s;
  for (const char* t : {"[::1]:1", "10.0.0.2:1", "10.0.0.1:2", "10.0.0.1:1"}) {
    s.insert(*parse_address(t));
  }
  std::vector<std::string> got;
  for (const Address& a : s) got.push_back(a.to_string());
  EXPECT_EQ(got, (std::vector<std::string>{"10.0.0.1:1", "10.0.0.1:2", "10.0.0.2:1", "[::1]:1"}));
  EXPECT_EQ(*parse_address("10.0.0.1:80"), *parse_address("10.0.0.1:80"));
}

}  // namespace
}  // namespace ringlb
