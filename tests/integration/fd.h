// Fd and deadlines for the integration harness: a move-only owner of one file descriptor, and
// the steady-clock deadline type every blocking helper takes. Test code only; any thread.
// The harness does not use the product's own wrappers so that it tests the binary, not the library.
#pragma once

#include <unistd.h>

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

class Fd {
 public:
  Fd() noexcept = default;
  explicit Fd(int fd) noexcept : fd_(fd) {}
  Fd(Fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  Fd& operator=(Fd&& o) noexcept {
    if (this != &o) reset(std::exchange(o.fd_, -1));
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }

  int get() const noexcept { return fd_; }
  bool valid() const noexcept { return fd_ >= 0; }
  int release() noexcept { return std::exchange(fd_, -1); }
  void reset(int fd = -1) noexcept {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

}  // namespace ringlb::it
