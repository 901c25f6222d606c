// Address parsing and conversion. Parsing is strict and numeric only: inet_pton(3) for the
// IP (no hostnames, no IPv6 zone ids, no IPv4 shorthand like "10.1"), a decimal port, and
// nothing after it. Pure; any thread.
#include "ringlb/common/address.h"

#include <arpa/inet.h>
#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <optional>

namespace ringlb {
namespace {

constexpr std::array<uint8_t, 12> kV4MappedPrefix{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

// inet_pton needs a NUL-terminated string; the longest textual IPv6 address is 45 chars
// (INET6_ADDRSTRLEN - 1), so anything longer is rejected before copying.
std::optional<Address> parse_ip(std::string_view ip, int family) {
  char buf[INET6_ADDRSTRLEN];
  if (ip.empty() || ip.size() >= sizeof buf) return std::nullopt;
  std::memcpy(buf, ip.data(), ip.size());
  buf[ip.size()] = '\0';
  Address a;
  a.family = static_cast<sa_family_t>(family);
  if (inet_pton(family, buf, a.bytes.data()) != 1) return std::nullopt;
  return a;
}

// Decimal port, 0..65535; no sign, no spaces.
std::optional<uint16_t> parse_port(std::string_view text) {
  if (text.empty() || text.size() > 5) return std::nullopt;
  uint32_t port = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    port = port * 10 + static_cast<uint32_t>(c - '0');
  }
  if (port > 65535) return std::nullopt;
  return static_cast<uint16_t>(port);
}

bool is_v4_mapped(const Address& a) {
  return a.family == AF_INET6 &&
         std::equal(kV4MappedPrefix.begin(), kV4MappedPrefix.end(), a.bytes.begin());
}

Address unmap_v4(const Address& a) {
  Address v4;
  v4.family = AF_INET;
  std::copy_n(a.bytes.begin() + 12, 4, v4.bytes.begin());
  v4.port = a.port;
  return v4;
}

Error port_error(std::string_view text, std::string_view port) {
  return Error{
      fmt::format("invalid port \"{}\" in \"{}\": expected a decimal number up to 65535", port,
                  text)};
}

}  // namespace

bool Address::is_loopback() const noexcept {
  if (family == AF_INET) return bytes[0] == 127;
  static constexpr std::array<uint8_t, 16> kV6Loopback{0, 0, 0, 0, 0, 0, 0, 0,
                                                       0, 0, 0, 0, 0, 0, 0, 1};
  if (bytes == kV6Loopback) return true;
  return is_v4_mapped(*this) && bytes[12] == 127;
}

bool Address::is_unspecified() const noexcept {
  const auto ip = ip_bytes();
  return std::all_of(ip.begin(), ip.end(), [](uint8_t b) { return b == 0; });
}

std::string Address::ip_string() const {
  char buf[INET6_ADDRSTRLEN] = {};
  if (inet_ntop(family == AF_INET ? AF_INET : AF_INET6, bytes.data(), buf, sizeof buf) ==
      nullptr) {
    return "?";
  }
  return buf;
}

std::string Address::to_string() const {
  if (family == AF_INET) return fmt::format("{}:{}", ip_string(), port);
  return fmt::format("[{}]:{}", ip_string(), port);
}

socklen_t Address::to_sockaddr(sockaddr_storage& out) const noexcept {
  std::memset(&out, 0, sizeof out);
  if (family == AF_INET) {
    auto* sin = reinterpret_cast<sockaddr_in*>(&out);
    sin->sin_family = AF_INET;
    sin->sin_port = htons(port);
    std::memcpy(&sin->sin_addr, bytes.data(), 4);
    return sizeof(sockaddr_in);
  }
  auto* sin6 = reinterpret_cast<sockaddr_in6*>(&out);
  sin6->sin6_family = AF_INET6;
  sin6->sin6_port = htons(port);
  std::memcpy(&sin6->sin6_addr, bytes.data(), 16);
  return sizeof(sockaddr_in6);
}

// A null pointer or a family other than AF_INET/AF_INET6 yields the default Address
// (0.0.0.0:0); callers pass what accept/getpeername filled, so that is not expected.
Address Address::from_sockaddr(const sockaddr* sa) noexcept {
  Address a;
  if (sa == nullptr) return a;
  if (sa->sa_family == AF_INET) {
    sockaddr_in sin;
    std::memcpy(&sin, sa, sizeof sin);
    a.family = AF_INET;
    std::memcpy(a.bytes.data(), &sin.sin_addr, 4);
    a.port = ntohs(sin.sin_port);
    return a;
  }
  if (sa->sa_family == AF_INET6) {
    sockaddr_in6 sin6;
    std::memcpy(&sin6, sa, sizeof sin6);
    a.family = AF_INET6;
    std::memcpy(a.bytes.data(), &sin6.sin6_addr, 16);
    a.port = ntohs(sin6.sin6_port);
    return is_v4_mapped(a) ? unmap_v4(a) : a;
  }
  return a;
}

Result<Address> parse_address(std::string_view text, bool allow_port_zero) {
  if (text.empty()) return Error{"empty address: expected \"IPv4:port\" or \"[IPv6]:port\""};
  std::optional<Address> addr;
  std::string_view port_text;
  if (text.front() == '[') {
    const size_t close = text.find(']');
    if (close == std::string_view::npos) {
      return Error{fmt::format("invalid address \"{}\": missing ']'", text)};
    }
    addr = parse_ip(text.substr(1, close - 1), AF_INET6);
    if (!addr) {
      return Error{fmt::format("invalid address \"{}\": \"{}\" is not an IPv6 address", text,
                               text.substr(1, close - 1))};
    }
    const std::string_view rest = text.substr(close + 1);
    if (rest.empty()) {
      return Error{fmt::format("address \"{}\" has no port: write \"{}:PORT\"", text, text)};
    }
    if (rest.front() != ':') {
      return Error{fmt::format("invalid address \"{}\": unexpected \"{}\" after ']'", text, rest)};
    }
    port_text = rest.substr(1);
  } else {
    const size_t colon = text.find(':');
    if (colon == std::string_view::npos) {
      return Error{fmt::format("address \"{}\" has no port: write \"{}:PORT\"", text, text)};
    }
    if (text.find(':', colon + 1) != std::string_view::npos) {
      return Error{fmt::format(
          "invalid address \"{}\": an IPv6 address needs brackets, as in \"[::1]:443\"", text)};
    }
    const std::string_view ip = text.substr(0, colon);
    addr = parse_ip(ip, AF_INET);
    if (!addr) {
      return Error{fmt::format(
          "invalid address \"{}\": \"{}\" is not an IPv4 address (hostnames are not resolved)",
          text, ip)};
    }
    port_text = text.substr(colon + 1);
  }
  const auto port = parse_port(port_text);
  if (!port) return port_error(text, port_text);
  if (*port == 0 && !allow_port_zero) {
    return Error{fmt::format("invalid address \"{}\": port 0 is not allowed here", text)};
  }
  addr->port = *port;
  return *addr;
}

Result<Address> parse_client(std::string_view text) {
  if (text.empty()) return Error{"empty client address"};
  std::optional<Address> addr;
  std::string_view port_text;
  if (text.front() == '[') {
    const size_t close = text.find(']');
    if (close == std::string_view::npos) {
      return Error{fmt::format("invalid client address \"{}\": missing ']'", text)};
    }
    addr = parse_ip(text.substr(1, close - 1), AF_INET6);
    const std::string_view rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') {
        return Error{fmt::format("invalid client address \"{}\": unexpected \"{}\" after ']'",
                                 text, rest)};
      }
      port_text = rest.substr(1);
      if (port_text.empty()) return port_error(text, port_text);
    }
  } else {
    const auto colons = std::count(text.begin(), text.end(), ':');
    if (colons == 0) {
      addr = parse_ip(text, AF_INET);
    } else if (colons == 1) {
      const size_t colon = text.find(':');
      addr = parse_ip(text.substr(0, colon), AF_INET);
      port_text = text.substr(colon + 1);
      if (port_text.empty()) return port_error(text, port_text);
    } else {
      addr = parse_ip(text, AF_INET6);  // bare IPv6: no port possible without brackets
    }
  }
  if (!addr) {
    return Error{fmt::format("invalid client address \"{}\": expected an IP, IP:port or "
                             "[IPv6]:port",
                             text)};
  }
  if (!port_text.empty()) {
    const auto port = parse_port(port_text);
    if (!port) return port_error(text, port_text);
    addr->port = *port;
  }
  // Same normalization as from_sockaddr, so `ringlb route ::ffff:10.0.0.1` agrees with
  // what a worker sees for that client.
  return is_v4_mapped(*addr) ? unmap_v4(*addr) : *addr;
}

}  // namespace ringlb
