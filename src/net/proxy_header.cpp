// PROXY protocol v1/v2 encoding (see proxy_header.h).
#include "ringlb/net/proxy_header.h"

#include <arpa/inet.h>
#include <string.h>

#include <cstdio>

namespace ringlb::net {
namespace {

// v2 signature: "\r\n\r\n\0\r\nQUIT\n".
constexpr uint8_t kV2Signature[12] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};

size_t encode_v1(const Address& client, const Address& local, std::span<uint8_t, kMaxProxyHeader> out) noexcept {
  char* buf = reinterpret_cast<char*>(out.data());
  if (client.family != local.family) {
    static constexpr char kUnknown[] = "PROXY UNKNOWN\r\n";
    memcpy(buf, kUnknown, sizeof kUnknown - 1);
    return sizeof kUnknown - 1;
  }
  char src[INET6_ADDRSTRLEN];
  char dst[INET6_ADDRSTRLEN];
  inet_ntop(client.family, client.bytes.data(), src, sizeof src);
  inet_ntop(local.family, local.bytes.data(), dst, sizeof dst);
  const int n = snprintf(buf, kMaxProxyHeader, "PROXY %s %s %s %u %u\r\n",
                         client.family == AF_INET ? "TCP4" : "TCP6", src, dst,
                         static_cast<unsigned>(client.port), static_cast<unsigned>(local.port));
  return n > 0 ? static_cast<size_t>(n) : 0;
}

size_t encode_v2(const Address& client, const Address& local, std::span<uint8_t, kMaxProxyHeader> out) noexcept {
  uint8_t* p = out.data();
  memcpy(p, kV2Signature, sizeof kV2Signature);
  p += sizeof kV2Signature;
  if (client.family != local.family) {
    *p++ = 0x20;  // version 2, command LOCAL
    *p++ = 0x00;  // AF_UNSPEC
    *p++ = 0;
    *p++ = 0;
    return static_cast<size_t>(p - out.data());
  }
  const bool v4 = client.family == AF_INET;
  const size_t addr_len = v4 ? 4 : 16;
  const uint16_t body = static_cast<uint16_t>(2 * addr_len + 4);
  *p++ = 0x21;              // version 2, command PROXY
  *p++ = v4 ? 0x11 : 0x21;  // TCP over IPv4 / IPv6
  *p++ = static_cast<uint8_t>(body >> 8);
  *p++ = static_cast<uint8_t>(body & 0xff);
  memcpy(p, client.bytes.data(), addr_len);
  p += addr_len;
  memcpy(p, local.bytes.data(), addr_len);
  p += addr_len;
  *p++ = static_cast<uint8_t>(client.port >> 8);
  *p++ = static_cast<uint8_t>(client.port & 0xff);
  *p++ = static_cast<uint8_t>(local.port >> 8);
  *p++ = static_cast<uint8_t>(local.port & 0xff);
  return static_cast<size_t>(p - out.data());
}

}  // namespace

size_t encode_proxy_header(lb::ProxyHeader version, const Address& client, const Address& local,
                           std::span<uint8_t, kMaxProxyHeader> out) noexcept {
  switch (version) {
    case lb::ProxyHeader::none: return 0;
    case lb::ProxyHeader::v1: return encode_v1(client, local, out);
    case lb::ProxyHeader::v2: return encode_v2(client, local, out);
  }
  return 0;
}

}  // namespace ringlb::net
