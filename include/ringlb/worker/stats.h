// WorkerStats: one worker's counters. Written only by the owning worker (relaxed load+store,
// no locked instructions on the hot path), read by anyone (the admin API sums them at scrape).
// Declared once as an X-macro list so metrics rendering can iterate them.
#pragma once

#include <atomic>
#include <cstdint>

namespace ringlb::worker {

// X(field, metric, labels, help). `metric` is the Prometheus name without the "ringlb_" prefix;
// rows that share a metric are one family and must be adjacent (a unit test checks). `labels`
// is the rendered label set ("" for none). Counters only: they end in _total.
#define RINGLB_WORKER_COUNTERS(X)                                                                            \
  X(accepted, "connections_accepted_total", "", "client connections accepted")                             \
  X(closed, "connections_closed_total", "", "client connections closed (accepted = active + closed)")      \
  X(rejected_max_connections, "connections_rejected_total", "reason=\"max_connections\"",                  \
    "client connections refused, by reason")                                                               \
  X(rejected_no_backend, "connections_rejected_total", "reason=\"no_backend\"",                            \
    "client connections refused, by reason")                                                               \
  X(rejected_fd_limit, "connections_rejected_total", "reason=\"fd_limit\"",                                \
    "client connections refused, by reason")                                                               \
  X(rejected_connect_failed, "connections_rejected_total", "reason=\"connect_failed\"",                    \
    "client connections refused, by reason")                                                               \
  X(connect_failures, "connect_failures_total", "", "backend connect attempts that failed")                \
  X(resets, "resets_total", "", "connections ended by a reset (forwarded to the other side)")              \
  X(idle_timeouts, "idle_timeouts_total", "", "connections closed by the idle timeout")                    \
  X(bytes_c2b, "bytes_total", "direction=\"c2b\"",                                                         \
    "bytes forwarded; c2b: client to backend, b2c: backend to client")                                     \
  X(bytes_b2c, "bytes_total", "direction=\"b2c\"",                                                         \
    "bytes forwarded; c2b: client to backend, b2c: backend to client")                                     \
  X(accept_pauses, "accept_pauses_total", "", "times accepting was paused by EMFILE/ENFILE/ENOBUFS/ENOMEM") \
  X(copy_buffer_waits, "copy_buffer_waits_total", "",                                                      \
    "reads that found every copy buffer busy and used the splice path")                                    \
  X(sockmap_promotions, "sockmap_promotions_total", "",                                                    \
    "connections promoted to the in-kernel sockmap path")                                                  \
  X(sockmap_fallbacks, "sockmap_fallbacks_total", "",                                                      \
    "promotions that failed or gave up; the connection stayed in user space")                              \
  X(sockmap_pauses, "sockmap_pauses_total", "",                                                            \
    "times a sockmap direction reached sockmap_max_lag and user space forwarded for it")                   \
  X(sockmap_repeated_bytes, "sockmap_repeated_bytes_total", "",                                            \
    "bytes of retransmitted segments that repeated bytes already forwarded, cut by the sockmap program")

// Gauges, same shape: a worker raises and lowers them.
#define RINGLB_WORKER_GAUGES(X)                                                                  \
  X(active, "connections_active", "", "client connections open now")                           \
  X(sockmap_active, "sockmap_connections_active", "",                                          \
    "client connections forwarded by the sockmap path now")

struct WorkerStats {
#define RINGLB_DECLARE(name, metric, labels, help) std::atomic<uint64_t> name{0};
  RINGLB_WORKER_COUNTERS(RINGLB_DECLARE)
  RINGLB_WORKER_GAUGES(RINGLB_DECLARE)
#undef RINGLB_DECLARE

  // Single-writer increment: the owner is the only writer, so no locked instruction is needed.
  static void add(std::atomic<uint64_t>& counter, uint64_t n = 1) noexcept {
    counter.store(counter.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
};

}  // namespace ringlb::worker
