// The connection state machine of a worker (see worker.h):
//   connecting -> forwarding -> closing -> free
// connecting: one backend connect in flight (with a linked timeout); a failure moves to the
//   next candidate, up to retries. forwarding: each direction is either polled for readiness
//   (POLLIN on its source, POLLOUT on its destination), waiting for a pipe, or done (FIN
//   forwarded). closing: the in-flight operations are cancelled; the slot is freed when the last
//   completion arrives, at the end of the completion batch.
#include <errno.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>

#include "ringlb/common/clock.h"
#include "ringlb/common/log.h"
#include "ringlb/net/proxy_header.h"
#include "ringlb/net/socket.h"
#include "ringlb/worker/worker.h"

namespace ringlb::worker {

void Worker::start_connect(uint32_t slot) noexcept {
  Connection& c = conn(slot);
  const lb::BackendView& backend = c.backend_view();
  const int fd = net::open_stream_socket(backend.address.family);
  if (fd < 0) {
    if (fd == -EMFILE || fd == -ENFILE || fd == -ENOBUFS || fd == -ENOMEM) pause_accepting(-fd);
    WorkerStats::add(stats_.rejected_fd_limit);
    c.end_cause = EndCause::rejected_fd_limit;
    begin_close(slot, /*reset=*/false);
    return;
  }
  c.backend.reset(fd);
  backend.counters->active.fetch_add(1, std::memory_order_relaxed);
  c.holds_backend = true;

  const socklen_t len = backend.address.to_sockaddr(c.backend_sockaddr);
  c.connect_timeout = to_kernel_timespec(static_cast<uint64_t>(c.pool_view().connect_timeout.count()));
  ring_.reserve(2);  // the connect and its linked timeout must be submitted together
  io_uring_sqe* sqe = ring_.get_sqe();
  io_uring_prep_connect(sqe, fd, reinterpret_cast<sockaddr*>(&c.backend_sockaddr), len);
  io_uring_sqe_set_data64(sqe, encode(Op::connect, slot, c.generation));
  sqe->flags |= IOSQE_IO_LINK;
  sqe = ring_.get_sqe();
  io_uring_prep_link_timeout(sqe, &c.connect_timeout, 0);
  io_uring_sqe_set_data64(sqe, encode(Op::connect_timeout, slot, c.generation));
  c.inflight += 2;
}

void Worker::release_backend(Connection& c) noexcept {
  if (!c.holds_backend) return;
  c.backend_view().counters->active.fetch_sub(1, std::memory_order_relaxed);
  c.holds_backend = false;
}

void Worker::on_connect(uint32_t slot, int res) noexcept {
  Connection& c = conn(slot);
  if (c.state != ConnState::connecting) return;  // closing: the cancel completed it
  const lb::BackendView& backend = c.backend_view();
  if (res == 0) {
    backend.counters->connections_total.fetch_add(1, std::memory_order_relaxed);
    established(slot);
    return;
  }
  // Refused, unreachable, or -ECANCELED because the linked timeout fired: count it against the
  // backend (the prober folds passive failures into its rise/fall), try the next candidate.
  const int err = res == -ECANCELED ? ETIMEDOUT : -res;
  backend.counters->connect_failures.fetch_add(1, std::memory_order_relaxed);
  backend.counters->passive_failures.fetch_add(1, std::memory_order_relaxed);
  WorkerStats::add(stats_.connect_failures);
  log::debug("connect_failed", {{"worker", id_}, {"backend", backend.key}, {"error", log::errno_name(err)},
                                {"attempt", c.attempt + 1}});
  release_backend(c);
  c.backend.reset();
  if (++c.attempt < c.n_candidates) {
    start_connect(slot);
    return;
  }
  c.attempt = static_cast<uint8_t>(c.n_candidates - 1);  // keep backend_view() in range
  WorkerStats::add(stats_.rejected_connect_failed);
  c.end_cause = EndCause::connect_failed;
  begin_close(slot, /*reset=*/false);
}

void Worker::established(uint32_t slot) noexcept {
  Connection& c = conn(slot);
  c.state = ConnState::forwarding;
  c.last_active_ms = now_ms_;
  c.routed = true;
  const lb::ListenerView& listener = c.snapshot->listeners[c.listener];
  if (listener.proxy_header != lb::ProxyHeader::none) {
    Address local;
    if (net::local_address(c.client.get(), local) != 0) {  // the client is already gone
      close_reset(slot, Dir::c2b, /*at_source=*/true);
      return;
    }
    uint8_t header[net::kMaxProxyHeader];
    const size_t len = net::encode_proxy_header(listener.proxy_header, c.client_address, local, header);
    // A fresh connection's send buffer always has room for ~100 bytes: a short write here
    // means the backend is already gone.
    const ssize_t n = ::send(c.backend.get(), header, len, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n != static_cast<ssize_t>(len)) {
      close_reset(slot, Dir::c2b, /*at_source=*/false);
      return;
    }
  }
  wheel_.schedule(slot, now_ms_ + c.idle_ms);
  arm_readable(slot, Dir::b2c);
  arm_readable(slot, Dir::c2b);  // tried at submission: the ClientHello is often there already
}

void Worker::arm_poll(uint32_t slot, Op op, int fd, unsigned events) noexcept {
  Connection& c = conn(slot);
  io_uring_sqe* sqe = ring_.get_sqe();
  io_uring_prep_poll_add(sqe, fd, events);
  io_uring_sqe_set_data64(sqe, encode(op, slot, c.generation));
  c.inflight++;
}

void Worker::drive(uint32_t slot, Dir dir) noexcept {
  Connection& c = conn(slot);
  const bool c2b = dir == Dir::c2b;
  splice::Direction& d = c2b ? c.c2b : c.b2c;
  const int src = c2b ? c.client.get() : c.backend.get();
  const int dst = c2b ? c.backend.get() : c.client.get();
  // A connection about to be promoted needs to know its sources are drained (see park()).
  const splice::PumpResult r = splice::pump(d, src, dst, pipes_, /*prove_drained=*/promotable(c));
  if (r.bytes > 0) {
    c.last_active_ms = now_ms_;
    (c2b ? c.bytes_c2b : c.bytes_b2c) += r.bytes;
    WorkerStats::add(c2b ? stats_.bytes_c2b : stats_.bytes_b2c, r.bytes);
  }
  // Promotion parks a direction only where its source is drained (Want::readable, through
  // arm_readable, which checks Direction::partial). Anything else gives it up: waiting on dst
  // could deadlock against a parked direction (a peer that reads only after it wrote), `more`
  // left bytes in src, and after a FIN the connection stays in user space.
  if (c.promote_pending && r.want != splice::Want::readable) {
    abort_promotion(slot, /*retry=*/r.want != splice::Want::done);
  }
  switch (r.want) {
    case splice::Want::readable:
      arm_readable(slot, dir);
      return;
    case splice::Want::more:
      arm_wait_poll(slot, dir);
      return;
    case splice::Want::writable:
      arm_poll(slot, c2b ? Op::poll_c2b_out : Op::poll_b2c_out, dst, POLLOUT);
      return;
    case splice::Want::pipe:
      // Out of descriptors for a pipe: retry at the next tick; the bytes stay in the socket.
      try {
        pipe_waiters_.push_back(PipeWaiter{slot, c.generation, dir});
      } catch (...) {
        c.end_cause = EndCause::rejected_fd_limit;
        begin_close(slot, /*reset=*/true);
      }
      return;
    case splice::Want::done:
      if (c.c2b.done && c.b2c.done) begin_close(slot, /*reset=*/false);
      return;
    case splice::Want::error:
      // ECONNRESET/EPIPE: one side reset (or vanished). Forward it as a reset.
      log::debug("connection_reset", {{"worker", id_}, {"direction", c2b ? "c2b" : "b2c"},
                                      {"error", log::errno_name(r.err)}});
      // EPIPE is a write into dst that was reset; ECONNRESET and the rest come from reading src.
      close_reset(slot, dir, /*at_source=*/r.err != EPIPE);
      return;
  }
}

void Worker::on_poll(uint32_t slot, Dir dir, int res) noexcept {
  Connection& c = conn(slot);
  if (c.state != ConnState::forwarding) return;
  if (res == -ECANCELED && !c.sockmap) {  // a readable-wait cancelled to promote
    if (c.promote_pending) {
      park(slot, dir);
    } else {
      arm_readable(slot, dir);  // the promotion was given up meanwhile
    }
    return;
  }
  if (c.sockmap) {  // user mode found no copy buffer and waited for bytes: RECV again
    if (res < 0) {
      close_reset(slot, dir, /*at_source=*/true);
    } else {
      arm_readable(slot, dir);
    }
    return;
  }
  if (res < 0) {  // the poll itself failed: nothing sensible can continue on this socket
    close_reset(slot, dir, /*at_source=*/true);
    return;
  }
  // POLLERR/POLLHUP included: the splice reports the socket error and drive() resets.
  drive(slot, dir);
}

void Worker::begin_close(uint32_t slot, bool reset) noexcept {
  Connection& c = conn(slot);
  if (c.state == ConnState::closing || c.state == ConnState::free) return;
  c.state = ConnState::closing;
  wheel_.cancel(slot);
  if (reset) {
    WorkerStats::add(stats_.resets);
    c.reset = true;
    if (c.client) net::set_linger_reset(c.client.get());
    if (c.backend) net::set_linger_reset(c.backend.get());
  }
  if (c.check_armed) {  // a timer, not tied to either socket
    io_uring_sqe* sqe = ring_.get_sqe();
    io_uring_prep_cancel64(sqe, encode(Op::sockmap_check, slot, c.generation), 0);
    io_uring_sqe_set_data64(sqe, encode(Op::cancel, slot, c.generation));
    c.inflight++;
  }
  if (c.inflight > 0) {
    // Cancel every operation on either socket (polls, the connect and through it the linked
    // timeout). Until they complete, io_uring holds file references: a close() now would
    // not close the socket (kernel-datapath-findings §1.2).
    for (const Fd* fd : {&c.client, &c.backend}) {
      if (!fd->valid()) continue;
      io_uring_sqe* sqe = ring_.get_sqe();
      io_uring_prep_cancel_fd(sqe, fd->get(), IORING_ASYNC_CANCEL_ALL);
      io_uring_sqe_set_data64(sqe, encode(Op::cancel, slot, c.generation));
      c.inflight++;
    }
  }
  maybe_queue_free(slot);
}

void Worker::close_reset(uint32_t slot, Dir dir, bool at_source) noexcept {
  Connection& c = conn(slot);
  // c2b's source is the client, b2c's the backend.
  const bool client_side = (dir == Dir::c2b) == at_source;
  if (c.state != ConnState::closing) c.end_cause = client_side ? EndCause::client_reset : EndCause::backend_reset;
  begin_close(slot, /*reset=*/true);
}

void Worker::maybe_queue_free(uint32_t slot) noexcept {
  Connection& c = conn(slot);
  if (c.state != ConnState::closing || c.inflight != 0 || c.free_queued) return;
  c.free_queued = true;
  to_free_.push_back(slot);
}

void Worker::free_connection(uint32_t slot) noexcept {
  Connection& c = conn(slot);
  sm_forget(c);  // first: the final byte counts come from the maps, for the log and the stats
  if (access_log_.enabled()) log_access(c);
  for (splice::Direction* d : {&c.c2b, &c.b2c}) {
    // A pipe that still holds bytes belongs to this dead connection: close it, never pool it.
    if (d->pipe.valid() && d->in_pipe == 0) {
      pipes_.release(std::move(d->pipe));
    } else {
      d->pipe.read.reset();
      d->pipe.write.reset();
    }
    *d = splice::Direction{};
  }
  release_copy_buffer(c, Dir::c2b);  // nothing is in flight any more
  release_copy_buffer(c, Dir::b2c);
  release_backend(c);
  c.client.reset();   // FIN, or RST when SO_LINGER {1, 0} was set
  c.backend.reset();
  c.snapshot.reset();
  c.reset = false;
  c.sockmap = false;
  c.promote_pending = false;
  c.promote_blocked = false;
  c.check_armed = false;
  c.check_ns = 0;
  c.parked = 0;
  c.c2b_wait = Op{};
  c.b2c_wait = Op{};
  c.c2b_sm = SockmapDir{};
  c.b2c_sm = SockmapDir{};
  c.free_queued = false;
  c.inflight = 0;
  c.state = ConnState::free;
  c.generation = (c.generation + 1) & kGenerationMask;
  free_slots_.push_back(slot);
  --live_;
  stats_.active.store(stats_.active.load(std::memory_order_relaxed) - 1, std::memory_order_relaxed);
  WorkerStats::add(stats_.closed);
  shared_.active_clients.fetch_sub(1, std::memory_order_relaxed);
}

}  // namespace ringlb::worker
