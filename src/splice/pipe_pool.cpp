// PipePool (see pipe_pool.h).
#include "ringlb/splice/pipe_pool.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

namespace ringlb::splice {

namespace {

int open_pipe(Pipe& out) noexcept {
  int fds[2];
  // O_NONBLOCK on both ends: a full pipe must return EAGAIN, never block the worker, even
  // though the sockets themselves are non-blocking (kernel-datapath-findings §1.2).
  if (::pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) return -errno;
  out.read.reset(fds[0]);
  out.write.reset(fds[1]);
  const int size = ::fcntl(fds[1], F_SETPIPE_SZ, static_cast<int>(kPipeBytes));
  out.capacity = static_cast<uint32_t>(size > 0 ? size : ::fcntl(fds[1], F_GETPIPE_SZ));
  return 0;
}

}  // namespace

int PipePool::acquire(Pipe& out) noexcept {
  if (!idle_.empty()) {
    out = std::move(idle_.back());
    idle_.pop_back();
    return 0;
  }
  return open_pipe(out);
}

void PipePool::release(Pipe&& pipe) noexcept {
  if (!pipe.valid()) return;
  if (idle_.size() < max_idle_) {
    try {
      idle_.push_back(std::move(pipe));
      return;
    } catch (...) {
      // Out of memory: close it instead (the moved-from state is still owned by `pipe`).
    }
  }
  pipe.read.reset();
  pipe.write.reset();
}

void PipePool::prewarm(size_t n) noexcept {
  while (idle_.size() < n && idle_.size() < max_idle_) {
    Pipe p;
    if (open_pipe(p) != 0) return;
    release(std::move(p));
  }
}

}  // namespace ringlb::splice
