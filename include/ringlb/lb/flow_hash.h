// Flow hash: the 64-bit key a client connection is placed by. XXH3 with a fixed seed, so every
// ringlb host computes the same value for the same client. Pure; any thread.
#pragma once

#include <cstdint>

#include "ringlb/common/address.h"

namespace ringlb::lb {

enum class FlowKey { client_ip, client_ip_port };

// client_ip: the IP bytes only (sticky per client); client_ip_port: IP bytes + port.
uint64_t flow_hash(const Address& client, FlowKey key) noexcept;

}  // namespace ringlb::lb
