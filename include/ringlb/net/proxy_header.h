// PROXY protocol (HAProxy's proxy-protocol.txt) v1 and v2 headers that ringlb sends to a
// backend before the client's first byte, so the gateway learns the client address. Pure
// encoders; any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "ringlb/common/address.h"
#include "ringlb/lb/snapshot.h"

namespace ringlb::net {

// Large enough for either version: v1 is at most 107 bytes, v2 with IPv6 addresses is 52.
constexpr size_t kMaxProxyHeader = 108;

// Writes the header for a connection from `client` to `local` (the listener address the client
// reached) and returns its length; 0 for ProxyHeader::none. If the two addresses are of
// different families, v1 sends "PROXY UNKNOWN" and v2 a LOCAL command, as the spec allows.
size_t encode_proxy_header(lb::ProxyHeader version, const Address& client, const Address& local,
                           std::span<uint8_t, kMaxProxyHeader> out) noexcept;

}  // namespace ringlb::net
