// Flow hash tests: which fields are hashed for each FlowKey, IPv4 vs IPv6, and pinned values so
// an accidental change of seed or byte layout (which would move every client) fails here.
#include "ringlb/lb/flow_hash.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <cstring>
#include <string>

namespace ringlb::lb {
namespace {

// Builds an Address from a literal IP without the (separately owned) parser.
Address addr(const std::string& ip, uint16_t port) {
  Address a;
  if (ip.find(':') == std::string::npos) {
    a.family = AF_INET;
    EXPECT_EQ(inet_pton(AF_INET, ip.c_str(), a.bytes.data()), 1) << ip;
  } else {
    a.family = AF_INET6;
    EXPECT_EQ(inet_pton(AF_INET6, ip.c_str(), a.bytes.data()), 1) << ip;
  }
  a.port = port;
  return a;
}

TEST(FlowHash, ClientIpIgnoresThePort) {
  const Address a = addr("192.0.2.10", 40000);
  const Address b = addr("192.0.2.10", 40001);
  EXPECT_EQ(flow_hash(a, FlowKey::client_ip), flow_hash(b, FlowKey::client_ip));
  const Address c = addr("2001:db8::10", 1);
  const Address d = addr("2001:db8::10", 65535);
  EXPECT_EQ(flow_hash(c, FlowKey::client_ip), flow_hash(d, FlowKey::client_ip));
}

TEST(FlowHash, ClientIpPortUsesThePort) {
  const Address a = addr("192.0.2.10", 40000);
  const Address b = addr("192.0.2.10", 40001);
  EXPECT_NE(flow_hash(a, FlowKey::client_ip_port), flow_hash(b, FlowKey::client_ip_port));
  // Byte order matters: 0x0102 and 0x0201 are different ports.
  EXPECT_NE(flow_hash(addr("192.0.2.10", 0x0102), FlowKey::client_ip_port),
            flow_hash(addr("192.0.2.10", 0x0201), FlowKey::client_ip_port));
  // And the IP is still part of it.
  EXPECT_NE(flow_hash(addr("192.0.2.10", 443), FlowKey::client_ip_port),
            flow_hash(addr("192.0.2.11", 443), FlowKey::client_ip_port));
}

TEST(FlowHash, KeysDifferForTheSameClient) {
  const Address a = addr("192.0.2.10", 40000);
  EXPECT_NE(flow_hash(a, FlowKey::client_ip), flow_hash(a, FlowKey::client_ip_port));
}

TEST(FlowHash, Ipv4AndIpv6Differ) {
  // Same leading bytes: an IPv6 address starting with 10.0.0.1's bytes, and the mapped form.
  const Address v4 = addr("10.0.0.1", 443);
  const Address v6 = addr("a00:1::", 443);
  ASSERT_EQ(0, std::memcmp(v4.bytes.data(), v6.bytes.data(), 4));
  EXPECT_NE(flow_hash(v4, FlowKey::client_ip), flow_hash(v6, FlowKey::client_ip));
  EXPECT_NE(flow_hash(v4, FlowKey::client_ip), flow_hash(addr("::ffff:10.0.0.1", 443),
                                                         FlowKey::client_ip));
}

TEST(FlowHash, Ipv4HashesOnlyItsFourBytes) {
  Address a = addr("198.51.100.7", 80);
  const uint64_t clean = flow_hash(a, FlowKey::client_ip_port);
  a.bytes[4] = 0xde;  // bytes past the IPv4 address are not part of it
  a.bytes[15] = 0xad;
  EXPECT_EQ(flow_hash(a, FlowKey::client_ip_port), clean);
}

// Pinned values: these are the placement of real clients on every ringlb host. If this test
// fails, the seed or byte layout changed, and every deployed client would move. The values were
// computed outside ringlb: XXH3_64bits_withSeed(ip bytes [+ port big-endian], 0x72696e676c626668).
TEST(FlowHash, PinnedValues) {
  EXPECT_EQ(flow_hash(addr("192.0.2.10", 40000), FlowKey::client_ip), 0xacd961e362de0b79ULL);
  EXPECT_EQ(flow_hash(addr("192.0.2.10", 40000), FlowKey::client_ip_port), 0xbbec738ffd8ac2d7ULL);
  EXPECT_EQ(flow_hash(addr("2001:db8::10", 443), FlowKey::client_ip), 0x08f278244daecc21ULL);
  EXPECT_EQ(flow_hash(addr("2001:db8::10", 443), FlowKey::client_ip_port), 0xf383c15bf6be0464ULL);
}

}  // namespace
}  // namespace ringlb::lb
