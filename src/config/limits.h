// Validation limits for config values, with the reason for each bound. Private to
// src/config: the loader checks single values against these, validate.cpp the relations.
// A bound here is a sanity fence against typos and absurd values, not a tuning knob.
#pragma once

#include <chrono>
#include <cstdint>

#include "ringlb/common/units.h"

namespace ringlb::config::limits {

using namespace std::chrono_literals;

// One worker per CPU is the design; 256 covers the largest common hosts, and more threads
// than that (each with its own ring and listener) is a typo, not a plan.
constexpr int64_t kMaxWorkers = 256;

// Client connections: each costs two fds and buffers; 10M is ~20M fds, already beyond what
// one host's fs.nr_open allows by default (1,048,576). Also bounds backend max_connections.
constexpr int64_t kMinMaxConnections = 1;
constexpr int64_t kMaxMaxConnections = 10'000'000;

// Copy-path buffers per worker (16 KiB each): the kernel's buffer-ring limit is 32768
// entries; 32768 x 16 KiB = 512 MiB of address space per worker is far past any need.
constexpr int64_t kMaxCopyBuffers = 32768;

// listen(2) backlog: the kernel silently caps it at net.core.somaxconn; 65535 is the
// historical 16-bit ceiling of the accept queue length, so anything above is a typo.
constexpr int64_t kMinBacklog = 1;
constexpr int64_t kMaxBacklog = 65535;

// sockmap_promote_after: bytes a connection moves on the splice path before the in-kernel
// path takes over. 0 promotes at once; past 1 GiB a connection is a bulk transfer that is
// already over by the time it would be promoted.
constexpr uint64_t kMaxPromoteAfter = 1ull << 30;
// sockmap_max_lag: bytes redirected but not yet in the destination's send queue before a
// direction pauses. Below 256 KiB a single loopback skb (up to 64 KiB, more with GRO) and a
// little jitter would pause constantly; past 1 GiB the bound no longer protects the host (the
// BPF program keeps it in 32 bits as well).
constexpr uint64_t kMinSockmapLag = 256u << 10;
constexpr uint64_t kMaxSockmapLag = 1ull << 30;

// Maglev lookup table: must be prime (so every skip value is coprime with it) and at least
// the number of backends so each backend can own a slot. Recommended: >= 100 x backends,
// which keeps the clients moved by a backend change under ~1% (DESIGN.md).
// 1,000,003 (prime) bounds the per-pool table to 4 MB and a rebuild to well under a second.
constexpr int64_t kMinTableSize = 2;
constexpr int64_t kMaxTableSize = 1'000'003;

// Backend weight: relative share; 0 is not a weight (use the admin API to drain).
constexpr int64_t kMinWeight = 1;
constexpr int64_t kMaxWeight = 65535;

// Further backends tried after a failed connect. Each retry waits up to connect_timeout,
// so 32 already allows a client to wait 32 x connect_timeout.
constexpr int64_t kMaxRetries = 32;

// Health rise/fall: consecutive results. 100 at a 1 s interval is ~2 minutes of flapping
// tolerance; beyond that the checker is effectively off.
constexpr int64_t kMinRiseFall = 1;
constexpr int64_t kMaxRiseFall = 100;

// Durations: all must be > 0. Upper bounds catch unit typos ("3m" meant as "3s" is fine,
// "3h" for a connect timeout is not).
constexpr Duration kMinDuration = 1ms;
constexpr Duration kMaxDrainTimeout = 1h;         // a longer drain blocks restarts
constexpr Duration kMaxConnectTimeout = 10min;    // the kernel's SYN retries give up after 127 s
constexpr Duration kMaxIdleTimeout = 7 * 24h;     // a week: long-lived tunnels, not forever
constexpr Duration kMaxHealthInterval = 1h;       // a slower probe does not detect anything
// health.timeout: > 0 and <= health.interval (a probe ends before the next is due).

// Names of listeners and pools: TOML bare-key characters (A-Z a-z 0-9 _ -), 1..64. They
// appear in dotted key paths, metric labels and admin URLs (/pools/NAME/...), so no dots,
// slashes, spaces or quotes.
constexpr size_t kMaxNameLength = 64;

// A config larger than this is not a config (16 backends take ~2 KiB).
constexpr uint64_t kMaxFileBytes = 16u << 20;

}  // namespace ringlb::config::limits
