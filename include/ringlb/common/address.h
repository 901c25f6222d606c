// Address: an IPv4 or IPv6 socket address as a value type, parsed from "IPv4:port" or
// "[IPv6]:port". Ordered (family, bytes, port) so backend lists sort stably across hosts.
// Pure; any thread.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

#include "ringlb/common/result.h"

namespace ringlb {

struct Address {
  sa_family_t family = AF_INET;        // AF_INET or AF_INET6
  std::array<uint8_t, 16> bytes{};     // network byte order; IPv4 uses the first 4
  uint16_t port = 0;                   // host byte order

  // Only the meaningful address bytes: 4 for IPv4, 16 for IPv6.
  std::basic_string_view<uint8_t> ip_bytes() const noexcept {
    return {bytes.data(), family == AF_INET ? 4u : 16u};
  }
  bool is_loopback() const noexcept;
  bool is_unspecified() const noexcept;  // 0.0.0.0 or ::

  // "1.2.3.4:443" or "[::1]:443".
  std::string to_string() const;
  // Just the IP, without port or brackets.
  std::string ip_string() const;

  // Fills `out`, returns the length to pass to bind/connect.
  socklen_t to_sockaddr(sockaddr_storage& out) const noexcept;
  // From a kernel-filled sockaddr (AF_INET or AF_INET6). An IPv4-mapped IPv6 address
  // (::ffff:a.b.c.d) is normalized to IPv4 so hashing sees one client, not two.
  static Address from_sockaddr(const sockaddr* sa) noexcept;

  friend auto operator<=>(const Address&, const Address&) = default;
  friend bool operator==(const Address&, const Address&) = default;
};

// Parses "IPv4:port" or "[IPv6]:port". Port must be 1..65535 unless allow_port_zero.
// Errors carry only a message; the caller adds location and key.
Result<Address> parse_address(std::string_view text, bool allow_port_zero = false);

// Parses a bare IP ("10.0.0.1", "::1", "[::1]") with an optional ":port" (port 0 if absent).
// Used by `ringlb route CLIENT_IP[:PORT]`.
Result<Address> parse_client(std::string_view text);

}  // namespace ringlb
