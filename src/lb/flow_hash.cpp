// Flow hash: XXH3-64 with a fixed seed over the client's IP bytes (and, for client_ip_port, its
// port), so every ringlb host places the same client on the same slot. The byte layout is part
// of the cross-host contract: changing it (or the seed) moves every client.
#include "ringlb/lb/flow_hash.h"

#include <xxhash.h>

#include <cstring>

namespace ringlb::lb {
namespace {

// ASCII "ringlbfh" read as a big-endian 64-bit integer: an arbitrary but fixed seed, written
// down so that all hosts (and all versions of ringlb) agree. XXH3 output is stable since 0.8.0.
constexpr uint64_t kFlowHashSeed = 0x72696e676c626668ULL;

// Largest input: 16 IPv6 bytes + 2 port bytes.
constexpr size_t kMaxFlowBytes = 16 + 2;

}  // namespace

// Hashed bytes: the IP in network byte order (4 bytes for IPv4, 16 for IPv6), followed for
// client_ip_port by the port in network byte order (big-endian, 2 bytes). IPv4 and IPv6 inputs
// differ in length, so an IPv4 client never collides by construction with an IPv6 one.
uint64_t flow_hash(const Address& client, FlowKey key) noexcept {
  uint8_t buf[kMaxFlowBytes];
  const auto ip = client.ip_bytes();
  std::memcpy(buf, ip.data(), ip.size());
  size_t len = ip.size();
  if (key == FlowKey::client_ip_port) {
    buf[len++] = static_cast<uint8_t>(client.port >> 8);
    buf[len++] = static_cast<uint8_t>(client.port & 0xff);
  }
  return XXH3_64bits_withSeed(buf, len, kFlowHashSeed);
}

}  // namespace ringlb::lb
