// WorkerStats: one worker's counters. Written only by the owning worker (relaxed load+store,
// no locked instructions on the hot path), read by anyone (the admin API sums them at scrape).
// Declared once as an X-macro list so metrics rendering can iterate them.
#pragma once

#include <atomic>
#include <cstdint>

namespace ringlb::worker {

// X(name, help)
#define RINGLB_WORKER_COUNTERS(X)                                                        \
  X(accepted, "client connections accepted")                                             \
  X(closed, "client connections closed")                                                 \
  X(rejected_max_connections, "clients closed at accept: global max_connections reached") \
  X(rejected_no_backend, "clients closed at accept: no usable backend")                  \
  X(rejected_fd_limit, "clients closed at accept: out of file descriptors")              \
  X(rejected_connect_failed, "clients closed: every candidate backend failed to connect") \
  X(connect_failures, "backend connect attempts that failed")                            \
  X(resets, "connections ended by a reset (forwarded to the other side)")                \
  X(idle_timeouts, "connections closed by the idle timeout")                             \
  X(bytes_c2b, "bytes forwarded client to backend")                                      \
  X(bytes_b2c, "bytes forwarded backend to client")                                      \
  X(accept_pauses, "times accepting was paused by EMFILE/ENFILE/ENOBUFS/ENOMEM")           \
  X(copy_buffer_waits, "reads that found every copy buffer busy and used the splice path")    \
  X(sockmap_promotions, "connections promoted to the in-kernel sockmap path")                 \
  X(sockmap_fallbacks, "promotions that failed; the connection stayed on the splice path")    \
  X(sockmap_pauses, "times a sockmap direction hit its lag bound and user space took over")

struct WorkerStats {
#define RINGLB_DECLARE(name, help) std::atomic<uint64_t> name{0};
  RINGLB_WORKER_COUNTERS(RINGLB_DECLARE)
#undef RINGLB_DECLARE
  std::atomic<uint64_t> active{0};  // gauge: connections this worker holds
  std::atomic<uint64_t> sockmap_active{0};  // gauge: of those, promoted to the sockmap path

  // Single-writer increment: the owner is the only writer, so no locked instruction is needed.
  static void add(std::atomic<uint64_t>& counter, uint64_t n = 1) noexcept {
    counter.store(counter.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
};

}  // namespace ringlb::worker
