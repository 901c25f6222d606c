// The copy path of a forwarding connection (see worker.h): how a direction waits for bytes and
// moves small messages without a system call of its own.
//
// A direction that has nothing in flight waits with a RECV (IOSQE_BUFFER_SELECT) rather than a
// POLL: io_uring tries it at once and otherwise when bytes arrive, takes a provided buffer only
// then, and completes with the bytes already read. A SEND (MSG_WAITALL: io_uring retries
// short writes itself) writes them to the other side; its completion returns the buffer and
// waits again. Both run inside the worker's one io_uring_enter(2) per batch, so a small
// request costs no read(2)/write(2)/splice(2) calls, which is what matters on hosts where a
// system call costs a microsecond (measured on this project's VM: bench/README.md).
//
// A RECV that fills its whole buffer marks a bulk transfer: after the SEND, the direction
// continues on the splice path (pump(), zero-copy) until the source runs dry, then waits
// with a RECV again. A RECV that finds no free buffer (-ENOBUFS) falls back to POLL + splice.
// One operation per direction is in flight at any time, so bytes cannot be reordered, and the
// pipe is always empty while the copy path holds the direction.
#include <errno.h>
#include <poll.h>
#include <sys/socket.h>

#include "ringlb/common/log.h"
#include "ringlb/worker/worker.h"

namespace ringlb::worker {

// Every "this direction has nothing to do until its source has bytes" goes through here, which
// makes it the place where a quiet connection is promoted to the sockmap path (sockmap.cpp).
void Worker::arm_readable(uint32_t slot, Dir dir) noexcept {
  Connection& c = conn(slot);
  if (c.promote_pending) {
    park(slot, dir);
    return;
  }
  if (start_promotion(slot, dir)) return;
  const bool c2b = dir == Dir::c2b;
  const int src = c2b ? c.client.get() : c.backend.get();
  if (!buffers_.valid()) {
    arm_wait_poll(slot, dir);
    return;
  }
  io_uring_sqe* sqe = ring_.get_sqe();
  io_uring_prep_recv(sqe, src, nullptr, buffers_.buffer_size(), 0);
  sqe->flags |= IOSQE_BUFFER_SELECT;
  sqe->buf_group = buffers_.group();
  const Op op = c2b ? Op::recv_c2b : Op::recv_b2c;
  io_uring_sqe_set_data64(sqe, encode(op, slot, c.generation));
  c.inflight++;
  (c2b ? c.c2b_wait : c.b2c_wait) = op;
}

void Worker::arm_wait_poll(uint32_t slot, Dir dir) noexcept {
  Connection& c = conn(slot);
  const bool c2b = dir == Dir::c2b;
  const Op op = c2b ? Op::poll_c2b_in : Op::poll_b2c_in;
  arm_poll(slot, op, c2b ? c.client.get() : c.backend.get(), POLLIN);
  (c2b ? c.c2b_wait : c.b2c_wait) = op;
}

void Worker::on_recv(uint32_t slot, Dir dir, int res, uint32_t flags) noexcept {
  Connection& c = conn(slot);
  const bool c2b = dir == Dir::c2b;
  if (flags & IORING_CQE_F_BUFFER) {
    CopyBuffer& b = c2b ? c.c2b_copy : c.b2c_copy;
    b = CopyBuffer{flags >> IORING_CQE_BUFFER_SHIFT, res > 0 ? static_cast<uint32_t>(res) : 0, 0};
  }
  if (c.state != ConnState::forwarding) {  // closing: the cancel completed it
    release_copy_buffer(c, dir);
    return;
  }
  if (c.sockmap) {
    sm_on_recv(slot, dir, res);
    return;
  }
  if (res == -ECANCELED) {  // cancelled to promote: quiet now (or wait again, if it was given up)
    if (c.promote_pending) {
      park(slot, dir);
    } else {
      arm_readable(slot, dir);
    }
    return;
  }
  if (res == 0 && c.promote_pending) abort_promotion(slot, /*retry=*/false);  // a FIN first: stay in user space
  if (res > 0) {
    c.last_active_ms = now_ms_;
    // A recv that filled its buffer may have stopped inside an skb; a shorter one emptied src.
    (c2b ? c.c2b : c.b2c).partial = static_cast<uint32_t>(res) == buffers_.buffer_size();
    send_copy(slot, dir);
    return;
  }
  if (res == 0) {  // the source's FIN: the pump forwards it (nothing is in flight)
    (c2b ? c.c2b : c.b2c).src_eof = true;
    drive(slot, dir);
    return;
  }
  if ((res == -ENOBUFS || res == -EAGAIN) && c.promote_pending) {  // nothing was read: quiet
    if (res == -ENOBUFS) WorkerStats::add(stats_.copy_buffer_waits);
    park(slot, dir);
    return;
  }
  recv_failed(slot, dir, res);
}

void Worker::recv_failed(uint32_t slot, Dir dir, int res) noexcept {
  // -ENOBUFS: every buffer is in flight elsewhere. -EAGAIN: io_uring stopped retrying a RECV
  // whose wakeups found nothing (its retry cap; a starved worker or spurious POLLIN). Either
  // way nothing was read: wait for bytes, then try again.
  if (res == -ENOBUFS || res == -EAGAIN) {
    if (res == -ENOBUFS) WorkerStats::add(stats_.copy_buffer_waits);
    arm_wait_poll(slot, dir);
    return;
  }
  // ECONNRESET and friends: forward it as a reset.
  log::debug("connection_reset", {{"worker", id_}, {"direction", dir == Dir::c2b ? "c2b" : "b2c"},
                                  {"error", log::errno_name(-res)}});
  close_reset(slot, dir, /*at_source=*/true);
}

void Worker::send_copy(uint32_t slot, Dir dir) noexcept {
  Connection& c = conn(slot);
  const bool c2b = dir == Dir::c2b;
  const CopyBuffer& b = c2b ? c.c2b_copy : c.b2c_copy;
  io_uring_sqe* sqe = ring_.get_sqe();
  io_uring_prep_send(sqe, c2b ? c.backend.get() : c.client.get(),
                     buffers_.data(static_cast<uint16_t>(b.id)) + b.sent, b.len - b.sent,
                     MSG_NOSIGNAL | MSG_WAITALL);
  io_uring_sqe_set_data64(sqe, encode(c2b ? Op::send_c2b : Op::send_b2c, slot, c.generation));
  c.inflight++;
}

void Worker::on_send(uint32_t slot, Dir dir, int res) noexcept {
  Connection& c = conn(slot);
  const bool c2b = dir == Dir::c2b;
  CopyBuffer& b = c2b ? c.c2b_copy : c.b2c_copy;
  if (c.state != ConnState::forwarding) {
    release_copy_buffer(c, dir);
    return;
  }
  if (c.sockmap) {
    sm_on_send(slot, dir, res);
    return;
  }
  if (res == -EAGAIN) {  // io_uring gave up retrying after wakeups that found no room: again
    send_copy(slot, dir);
    return;
  }
  if (res <= 0) {  // EPIPE, ECONNRESET: the destination is gone; 0 does not happen for len > 0
    release_copy_buffer(c, dir);
    log::debug("connection_reset", {{"worker", id_}, {"direction", c2b ? "c2b" : "b2c"},
                                    {"error", log::errno_name(res < 0 ? -res : EPIPE)}});
    close_reset(slot, dir, /*at_source=*/false);
    return;
  }
  b.sent += static_cast<uint32_t>(res);
  c.last_active_ms = now_ms_;
  (c2b ? c.bytes_c2b : c.bytes_b2c) += static_cast<uint64_t>(res);
  WorkerStats::add(c2b ? stats_.bytes_c2b : stats_.bytes_b2c, static_cast<uint64_t>(res));
  if (b.sent < b.len) {  // MSG_WAITALL makes this rare (a signal); send the rest
    send_copy(slot, dir);
    return;
  }
  const bool bulk = b.len == buffers_.buffer_size();
  release_copy_buffer(c, dir);
  if (bulk) {
    drive(slot, dir);  // more is likely waiting: splice it, zero-copy, until the source runs dry
  } else {
    arm_readable(slot, dir);
  }
}

// Only once no operation of this direction is in flight: the kernel may hand a recycled
// buffer to another connection's RECV at once.
void Worker::release_copy_buffer(Connection& c, Dir dir) noexcept {
  CopyBuffer& b = dir == Dir::c2b ? c.c2b_copy : c.b2c_copy;
  if (!b.held()) return;
  buffers_.recycle(static_cast<uint16_t>(b.id));
  b = CopyBuffer{};
}

}  // namespace ringlb::worker
