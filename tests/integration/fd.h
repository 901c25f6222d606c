// Fd and deadlines for the integration harness: a move-only owner of one file descriptor, and
// the steady-clock deadline type every blocking helper takes. Test code only; any thread.
#pragma once

#include "ringlb/common/fd.h"

#include <chrono>
#include <utility>

namespace ringlb::it {

using Clock = std::chrono::steady_clock;
using Deadline = Clock::time_point;
using std::chrono::milliseconds;
using std::chrono::seconds;

inline Deadline deadline_in(Clock::duration d) { return Clock::now() + d; }

// Milliseconds left before `d`, clamped to [0, cap_ms]: the argument poll() wants.
inline int poll_ms(Deadline d, int cap_ms = 1000) {
  const auto left = std::chrono::duration_cast<milliseconds>(d - Clock::now()).count();
  if (left <= 0) return 0;
  return left > cap_ms ? cap_ms : static_cast<int>(left);
}

inline double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// The product's fd owner: a plain RAII closer, nothing of the binary's behaviour under test.
using ringlb::Fd;

}  // namespace ringlb::it
