// One direction's splice loop (see pump.h).
#include "ringlb/splice/pump.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>

namespace ringlb::splice {
namespace {

constexpr unsigned kSpliceFlags = SPLICE_F_NONBLOCK | SPLICE_F_MOVE;

}  // namespace

PumpResult pump(Direction& dir, int src, int dst, PipePool& pool, bool prove_drained) noexcept {
  PumpResult r{Want::readable};
  bool short_read = false;
  for (;;) {
    // 1. Flush what the pipe holds.
    while (dir.in_pipe > 0) {
      const ssize_t n = ::splice(dir.pipe.read.get(), nullptr, dst, nullptr, dir.in_pipe, kSpliceFlags);
      if (n > 0) {
        dir.in_pipe -= static_cast<uint32_t>(n);
        r.bytes += static_cast<uint64_t>(n);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EAGAIN) {
        r.want = Want::writable;
        return r;
      }
      // 0 from a non-empty pipe into a socket does not happen; treat it as the socket gone.
      r.want = Want::error;
      r.err = n < 0 ? errno : EPIPE;
      return r;
    }
    // 2. The pipe is empty: forward the FIN if the source ended.
    if (dir.src_eof) {
      pool.release(std::move(dir.pipe));
      if (::shutdown(dst, SHUT_WR) != 0 && errno != ENOTCONN) {
        r.want = Want::error;
        r.err = errno;
        return r;
      }
      dir.done = true;
      r.want = Want::done;
      return r;
    }
    if (short_read && !prove_drained) {
      // A read shorter than the pipe means the socket very likely had no more: wait for
      // readability rather than spend a splice(2) on the EAGAIN. If bytes did remain (the pipe
      // ran out of slots, one per skb fragment), the wait completes at once.
      pool.release(std::move(dir.pipe));
      r.want = Want::readable;
      return r;
    }
    if (r.bytes >= kMaxBytesPerCall) {  // give the other connections a turn; a POLLIN completes at once
      pool.release(std::move(dir.pipe));
      r.want = Want::more;
      return r;
    }
    // 3. Read into the empty pipe.
    if (!dir.pipe.valid()) {
      const int rc = pool.acquire(dir.pipe);
      if (rc != 0) {
        r.want = Want::pipe;
        return r;
      }
    }
    const ssize_t n = ::splice(src, nullptr, dir.pipe.write.get(), nullptr, dir.pipe.capacity, kSpliceFlags);
    if (n > 0) {
      dir.in_pipe = static_cast<uint32_t>(n);
      // Even a short read may end inside an skb: splice stops when the pipe runs out of slots.
      dir.partial = true;
      short_read = static_cast<uint32_t>(n) < dir.pipe.capacity;
      continue;
    }
    if (n == 0) {
      dir.src_eof = true;
      continue;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN) {
      // The pipe was empty, so this is "socket drained", not "pipe full".
      dir.partial = false;
      pool.release(std::move(dir.pipe));
      r.want = Want::readable;
      return r;
    }
    r.want = Want::error;
    r.err = errno;
    return r;
  }
}

}  // namespace ringlb::splice
