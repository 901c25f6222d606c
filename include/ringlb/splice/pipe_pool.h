// PipePool: a worker's reusable pipes for the splice path. A direction takes a pipe only while
// it has bytes in flight (from POLLIN until the pipe drains), so the pool is sized by active
// transfers, not by connections. A pipe that still holds bytes is never returned: it belongs to
// a dead connection and is closed. Owned by one worker thread; not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "ringlb/common/fd.h"

namespace ringlb::splice {

struct Pipe {
  Fd read;
  Fd write;
  uint32_t capacity = 0;  // bytes: what F_SETPIPE_SZ granted (64 KiB if it refused)
  bool valid() const noexcept { return read.valid(); }
};

// Pipes are grown to 1 MiB (the default fs.pipe-max-size): a 1 MiB body then moves in one
// splice(2) each way instead of sixteen. Only capacity is reserved (256 slots, ~10 KiB of
// slot array), not memory: pages enter a pipe only as page references taken from the socket.
// An unprivileged user past fs.pipe-user-pages-soft (16384 pages: 64 such pipes) is refused
// with EPERM and keeps the default 64 KiB, which is slower but correct.
constexpr uint32_t kPipeBytes = 1024 * 1024;

class PipePool {
 public:
  explicit PipePool(size_t max_idle) noexcept : max_idle_(max_idle) {}

  // An empty, non-blocking pipe from the pool or a new one. Returns 0 or -errno (EMFILE...).
  int acquire(Pipe& out) noexcept;
  // Takes back an EMPTY pipe (the caller knows it drained it); closes it past max_idle.
  void release(Pipe&& pipe) noexcept;
  // Opens up to n idle pipes now, so a worker under fd exhaustion can still move bytes for
  // the connections it already has.
  void prewarm(size_t n) noexcept;

  size_t idle() const noexcept { return idle_.size(); }

 private:
  size_t max_idle_;
  std::vector<Pipe> idle_;
};

}  // namespace ringlb::splice
