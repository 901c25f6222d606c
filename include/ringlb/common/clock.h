// Clock: monotonic milliseconds for timers and idle accounting. Workers read the coarse clock
// once per completion batch (CLOCK_MONOTONIC_COARSE: no syscall, ~4 ms resolution at HZ=250),
// which is plenty for idle timeouts measured in seconds. Any thread.
#pragma once

#include <linux/time_types.h>
#include <time.h>

#include <cstdint>

namespace ringlb {

inline uint64_t monotonic_ms_coarse() noexcept {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000u + static_cast<uint64_t>(ts.tv_nsec) / 1000000u;
}

inline uint64_t monotonic_ms() noexcept {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000u + static_cast<uint64_t>(ts.tv_nsec) / 1000000u;
}

// A relative io_uring timeout of `ms` milliseconds.
inline __kernel_timespec to_kernel_timespec(uint64_t ms) noexcept {
  return __kernel_timespec{static_cast<long long>(ms / 1000), static_cast<long long>((ms % 1000) * 1000000)};
}

}  // namespace ringlb
