// The sockmap path of a worker's connections (see worker.h, sockmap.h, bpf/sockmap.bpf.c).
//
// Promotion. Every connection starts in user space (copy and splice paths). Once it has moved
// its listener's sockmap_promote_after bytes, the next time one direction goes quiet while the
// other is waiting for bytes, the waiting operation is cancelled and both directions "park":
// nothing of the connection is in user space any more (no buffer, an empty pipe, no operation),
// and no skb is half read (the kernel feeds queued skbs to the program whole, so a partly read
// one would be forwarded twice): a direction parks only when its source had nothing left.
// Then both sockets enter the SOCKHASH and the kernel forwards from there. A FIN seen first, or
// a direction that must wait for its destination, gives promotion up for that connection.
//
// A promoted connection is watched with one POLL per socket for RDHUP/ERR only: every
// redirected skb wakes POLLIN waiters, so watching POLLIN would cost a wakeup per skb.
//  - RDHUP (a FIN on src): the FIN is forwarded (shutdown(dst, SHUT_WR)) only once every byte
//    received before it is in dst's send queue: once src has settled (net::settle_receive: the
//    wakeup can come before the program saw the FIN's own segment), the program's byte count
//    plus what user space forwarded must equal what entered dst since promotion
//    (net::bytes_queued_ever). Until then a 1 ms timer re-checks; the kernel's backlog retries
//    within a jiffy.
//  - ERR (a reset): forwarded as a reset, as on the splice path.
//  - The idle timeout and the byte counters come from the program's per-direction counters,
//    read when the connection's wheel timer fires (at most every kSockmapLookMs).
//
// Pauses (backpressure). The program stops redirecting a direction once its in-kernel backlog
// would pass sockmap_max_lag, and passes the skbs to src instead, where they are charged to the
// socket so TCP's window closes. The program names the paused direction in a notice on the
// worker's ring, whose fd the worker polls, and user space forwards the passed bytes itself:
// RECV them (tcp_bpf's recvmsg reads the psock queue; splice would not), wait until the backlog
// ahead of them has drained into dst (once per pause: nothing is redirected while it lasts),
// SEND, and, once that covers every byte passed, report the progress in `control`. The program
// ends the pause at an skb boundary once user space has consumed every passed byte, so bytes
// never overtake each other; the worker then cancels its RECV and the kernel carries on.
#include <errno.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>

#include "ringlb/common/log.h"
#include "ringlb/net/socket.h"
#include "ringlb/worker/worker.h"

namespace ringlb::worker {
namespace {

// How often a promoted connection's counters are read (bytes metrics, idle timeout) at most.
constexpr uint64_t kSockmapLookMs = 5000;
// Re-check of a backlog that has not drained yet (FIN forwarding, a passed buffer waiting):
// 1 ms first (the kernel's backlog retries within a jiffy), doubling to 128 ms while it stays
// stuck (a reader that does not read), so a stalled connection costs ~8 wakeups a second.
constexpr int64_t kSockmapCheckMinNs = 1'000'000;
constexpr int64_t kSockmapCheckMaxNs = 128'000'000;

// How long a started promotion may wait for both directions to go quiet.
constexpr uint64_t kPromotionPatienceMs = 200;

constexpr uint8_t bit(bool c2b) noexcept { return c2b ? 1 : 2; }

}  // namespace

bool Worker::promotable(const Connection& c) const noexcept {
  if (sockmap_ == nullptr || c.sockmap || c.promote_blocked || !buffers_.valid()) return false;
  const lb::ListenerView& listener = c.snapshot->listeners[c.listener];
  return listener.sockmap && c.bytes_c2b + c.bytes_b2c >= listener.sockmap_promote_after;
}

bool Worker::start_promotion(uint32_t slot, Dir dir) noexcept {
  Connection& c = conn(slot);
  if (!promotable(c)) return false;
  if (c.c2b.src_eof || c.b2c.src_eof || c.c2b.done || c.b2c.done) {
    c.promote_blocked = true;  // half-closed: the FIN rules are simpler in user space
    return false;
  }
  // Neither source may hold a partly read skb; the next quiet moment will do.
  if (c.c2b.partial || c.b2c.partial) return false;
  // The other direction must be waiting for bytes too; if it is moving some, try again when
  // it goes quiet (it comes through arm_readable then).
  const Op other = dir == Dir::c2b ? c.b2c_wait : c.c2b_wait;
  if (other == Op{}) return false;
  try {
    promoting_.push_back(Promoting{slot, c.generation, now_ms_});
  } catch (...) {
    return false;
  }
  c.promote_pending = true;
  c.promote_since_ms = now_ms_;
  io_uring_sqe* sqe = ring_.get_sqe();
  io_uring_prep_cancel64(sqe, encode(other, slot, c.generation), 0);
  io_uring_sqe_set_data64(sqe, encode(Op::cancel, slot, c.generation));
  c.inflight++;
  park(slot, dir);
  return true;
}

void Worker::park(uint32_t slot, Dir dir) noexcept {
  Connection& c = conn(slot);
  // A direction whose cancel lost the race to a completion, then read on, may have stopped
  // inside an skb: not now.
  if ((dir == Dir::c2b ? c.c2b : c.b2c).partial) {
    abort_promotion(slot, /*retry=*/true);
    arm_readable(slot, dir);
    return;
  }
  c.parked |= bit(dir == Dir::c2b);
  if (c.parked == 3) promote(slot);
}

void Worker::abort_promotion(uint32_t slot, bool retry) noexcept {
  Connection& c = conn(slot);
  c.promote_pending = false;
  c.promote_blocked = !retry;
  const uint8_t parked = std::exchange(c.parked, 0);
  if (parked & bit(true)) arm_readable(slot, Dir::c2b);
  if (parked & bit(false)) arm_readable(slot, Dir::b2c);
}

void Worker::promote(uint32_t slot) noexcept {
  Connection& c = conn(slot);
  c.promote_pending = false;
  c.parked = 0;
  const int client = c.client.get();
  const int backend = c.backend.get();
  c.c2b_sm = SockmapDir{};
  c.b2c_sm = SockmapDir{};
  c.c2b_sm.src_cookie = net::socket_cookie(client);
  c.b2c_sm.src_cookie = net::socket_cookie(backend);
  bool client_open = false;
  bool backend_open = false;
  c.c2b_sm.dst_base = net::bytes_queued_ever(backend, &backend_open);
  c.b2c_sm.dst_base = net::bytes_queued_ever(client, &client_open);
  int rc = -EINVAL;
  if (!client_open || !backend_open) {
    rc = -EPIPE;  // a FIN arrived while parking: the kernel would refuse the insert anyway
  } else if (c.c2b_sm.src_cookie != 0 && c.b2c_sm.src_cookie != 0 && c.c2b_sm.dst_base >= 0 &&
             c.b2c_sm.dst_base >= 0) {
    // What a pause can pin on its source is that socket's receive buffer (the skbs passed to
    // user space are charged there), and autotuning grows it towards net.ipv4.tcp_rmem's
    // maximum (32 MiB here) while the program keeps it empty. Fix both at half the lag bound,
    // so a paused direction holds at most about 1.5 x sockmap_max_lag in this process's
    // sockets (a window of ~1 MiB by default: ample for backends nearby; a far client's
    // upload on one connection is capped near 1 MiB per round trip).
    const uint32_t max_lag = c.snapshot->listeners[c.listener].sockmap_max_lag;
    net::set_receive_buffer(client, max_lag / 2);
    net::set_receive_buffer(backend, max_lag / 2);
    rc = sockmap_->promote(client, c.c2b_sm.src_cookie, backend, c.b2c_sm.src_cookie, max_lag, id_,
                           sm_tag(slot, Dir::c2b), sm_tag(slot, Dir::b2c));
  }
  if (rc == sockmap::Sockmap::kHalfPromoted) {
    // Only the backend is in the map (the client's FIN raced the insert). Both directions run
    // in user mode to the end: the program passes every backend skb (no peer), and the client,
    // outside the map, is read as usual. Neither can resume, so nothing is ever reordered.
    WorkerStats::add(stats_.sockmap_fallbacks);
    log::debug("sockmap_half_promoted", {{"worker", id_}, {"slot", slot}});
    c.sockmap = true;
    c.promote_blocked = true;
    c.datapath = DatapathKind::sockmap;
    WorkerStats::add(stats_.sockmap_active);
    arm_watch(slot, /*client=*/true, POLLRDHUP);
    arm_watch(slot, /*client=*/false, POLLRDHUP);
    wheel_.schedule(slot, now_ms_ + std::min(c.idle_ms, kSockmapLookMs));
    sm_enter_user(slot, Dir::c2b);
    sm_enter_user(slot, Dir::b2c);
    return;
  }
  if (rc != 0) {
    // Map full (more promoted connections than max_connections allows for), or a socket that
    // is already gone: this connection stays in user space.
    WorkerStats::add(stats_.sockmap_fallbacks);
    log::debug("sockmap_promotion_failed", {{"worker", id_}, {"error", log::errno_name(-rc)}});
    c.promote_blocked = true;
    arm_readable(slot, Dir::b2c);
    arm_readable(slot, Dir::c2b);
    return;
  }
  c.sockmap = true;
  c.datapath = DatapathKind::sockmap;
  log::debug("sockmap_promoted", {{"worker", id_}, {"slot", slot}, {"moved", c.bytes_c2b + c.bytes_b2c}});
  WorkerStats::add(stats_.sockmap_promotions);
  WorkerStats::add(stats_.sockmap_active);
  arm_watch(slot, /*client=*/true, POLLRDHUP);
  arm_watch(slot, /*client=*/false, POLLRDHUP);
  wheel_.schedule(slot, now_ms_ + std::min(c.idle_ms, kSockmapLookMs));
  // An skb that arrived between the two inserts found no peer and was passed to user space.
  for (const Dir d : {Dir::c2b, Dir::b2c}) {
    sockmap::DirState st{};
    SockmapDir& sd = d == Dir::c2b ? c.c2b_sm : c.b2c_sm;
    if (sockmap_->read_state(sd.src_cookie, st) == 0 && st.passed > sd.user_bytes) sm_enter_user(slot, d);
  }
}

void Worker::arm_watch(uint32_t slot, bool client, unsigned events) noexcept {
  Connection& c = conn(slot);
  io_uring_sqe* sqe = ring_.get_sqe();
  // io_uring adds ERR, HUP and RDHUP to every poll mask; IN is what must stay out.
  io_uring_prep_poll_add(sqe, client ? c.client.get() : c.backend.get(), events);
  io_uring_sqe_set_data64(sqe, encode(client ? Op::watch_client : Op::watch_backend, slot, c.generation));
  c.inflight++;
}

void Worker::on_watch(uint32_t slot, bool client, int res) noexcept {
  Connection& c = conn(slot);
  if (c.state != ConnState::forwarding) return;
  if (res < 0 || (res & POLLERR)) {
    log::debug("connection_reset", {{"worker", id_}, {"side", client ? "client" : "backend"},
                                    {"error", res < 0 ? log::errno_name(-res) : "POLLERR"}});
    close_reset(slot, client ? Dir::c2b : Dir::b2c, /*at_source=*/true);
    return;
  }
  // RDHUP stays set, so this socket is not watched again: a reset on it later is found by
  // sm_idle_check, or ends the other direction's forwarding with an error.
  if (res & POLLRDHUP) {
    const Dir dir = client ? Dir::c2b : Dir::b2c;
    (client ? c.c2b_sm : c.b2c_sm).eof = true;
    sm_try_finish(slot, dir);
  }
}

// --- user mode: a paused direction -------------------------------------------------------

void Worker::sm_enter_user(uint32_t slot, Dir dir) noexcept {
  Connection& c = conn(slot);
  SockmapDir& sd = dir == Dir::c2b ? c.c2b_sm : c.b2c_sm;
  if (sd.user) return;
  sd.user = true;
  sd.cancelling = false;
  sd.drained_hold = false;
  log::debug("sockmap_paused", {{"worker", id_}, {"slot", slot}, {"direction", dir == Dir::c2b ? "c2b" : "b2c"}});
  ++sockmap_user_dirs_;
  WorkerStats::add(stats_.sockmap_pauses);
  arm_readable(slot, dir);
}

void Worker::sm_on_recv(uint32_t slot, Dir dir, int res) noexcept {
  Connection& c = conn(slot);
  const bool c2b = dir == Dir::c2b;
  SockmapDir& sd = c2b ? c.c2b_sm : c.b2c_sm;
  if (res > 0) {
    c.last_active_ms = now_ms_;
    sm_send(slot, dir);
    return;
  }
  release_copy_buffer(c, dir);
  if (res == 0) {
    sd.eof = true;
    sm_try_finish(slot, dir);
    return;
  }
  if (res == -ECANCELED || res == -EAGAIN) {
    // -ECANCELED: the tick saw the program resume. -EAGAIN: io_uring stopped retrying a RECV
    // woken again and again for nothing (every skb the program redirects wakes src's POLLIN
    // waiters). Either way: done once the program redirects again and nothing passed is left,
    // else wait for the passed bytes again.
    sockmap::DirState st{};
    if (sockmap_->read_state(sd.src_cookie, st) != 0) {
      begin_close(slot, /*reset=*/true);
      return;
    }
    if (st.paused || st.passed > sd.user_bytes) {
      sd.cancelling = false;
      arm_readable(slot, dir);
      return;
    }
    sd.user = false;
    sd.cancelling = false;
    --sockmap_user_dirs_;
    return;
  }
  recv_failed(slot, dir, res);
}

// Sends the buffer a user-mode RECV filled, once the in-kernel backlog ahead of it is in dst.
void Worker::sm_send(uint32_t slot, Dir dir) noexcept {
  Connection& c = conn(slot);
  SockmapDir& sd = dir == Dir::c2b ? c.c2b_sm : c.b2c_sm;
  if (!sd.drained_hold) {
    sockmap::DirState st{};
    if (sockmap_->read_state(sd.src_cookie, st) != 0) {
      begin_close(slot, /*reset=*/true);
      return;
    }
    if (!sm_drained(c, dir, st)) {
      sd.send_waiting = true;
      sm_arm_check(slot);
      return;
    }
    // A RECV returned passed bytes, so the program is paused, and it stays so until a report
    // of ours covers all it passed: nothing can be redirected ahead of what we send next.
    sd.drained_hold = true;
  }
  sd.send_waiting = false;
  c.check_ns = 0;
  send_copy(slot, dir);
}

void Worker::sm_on_send(uint32_t slot, Dir dir, int res) noexcept {
  Connection& c = conn(slot);
  const bool c2b = dir == Dir::c2b;
  SockmapDir& sd = c2b ? c.c2b_sm : c.b2c_sm;
  CopyBuffer& b = c2b ? c.c2b_copy : c.b2c_copy;
  if (res == -EAGAIN) {  // see on_send
    send_copy(slot, dir);
    return;
  }
  if (res <= 0) {
    release_copy_buffer(c, dir);
    close_reset(slot, dir, /*at_source=*/false);
    return;
  }
  b.sent += static_cast<uint32_t>(res);
  sd.user_bytes += static_cast<uint64_t>(res);
  c.last_active_ms = now_ms_;
  (c2b ? c.bytes_c2b : c.bytes_b2c) += static_cast<uint64_t>(res);
  WorkerStats::add(c2b ? stats_.bytes_c2b : stats_.bytes_b2c, static_cast<uint64_t>(res));
  if (b.sent < b.len) {
    send_copy(slot, dir);
    return;
  }
  release_copy_buffer(c, dir);
  // Report the progress; the program resumes at the next skb once this covers all it passed.
  // A report that does not (the program passed more meanwhile) could never end the pause, so
  // it is not written: a continuous stream then costs no map write per buffer.
  sockmap::DirState st{};
  if (sockmap_->read_state(sd.src_cookie, st) != 0) {
    begin_close(slot, /*reset=*/true);
    return;
  }
  if (sd.user_bytes >= st.passed) {
    const sockmap::DirControl control{sd.user_bytes, st.epoch, c.snapshot->listeners[c.listener].sockmap_max_lag,
                                      id_, sm_tag(slot, dir)};
    if (sockmap_->write_control(sd.src_cookie, control) != 0) {
      begin_close(slot, /*reset=*/true);
      return;
    }
    sd.drained_hold = false;  // the program may resume and redirect from the next skb on
  }
  // A cancel the tick sent for the RECV that just completed found nothing; the next tick may
  // cancel the new one (a late cancel that hits it anyway is handled in sm_on_recv).
  sd.cancelling = false;
  arm_readable(slot, dir);
}

// Everything the program redirected, and everything user space forwarded, is in dst's send
// queue: nothing of this direction is in flight inside the kernel's psock backlog.
bool Worker::sm_drained(const Connection& c, Dir dir, const sockmap::DirState& st) const noexcept {
  const SockmapDir& sd = dir == Dir::c2b ? c.c2b_sm : c.b2c_sm;
  const int64_t now = net::bytes_queued_ever(dir == Dir::c2b ? c.backend.get() : c.client.get());
  return now >= 0 && static_cast<uint64_t>(now - sd.dst_base) == st.bytes + sd.user_bytes;
}

void Worker::sm_try_finish(uint32_t slot, Dir dir) noexcept {
  Connection& c = conn(slot);
  const bool c2b = dir == Dir::c2b;
  SockmapDir& sd = c2b ? c.c2b_sm : c.b2c_sm;
  splice::Direction& d = c2b ? c.c2b : c.b2c;
  if (d.done) return;
  // User mode still reading or sending: its RECV returns 0 after the last passed byte and
  // comes back here.
  if (sd.user && ((c2b ? c.c2b_wait : c.b2c_wait) != Op{} || (c2b ? c.c2b_copy : c.b2c_copy).held())) return;
  // The RDHUP that brought us here may have overtaken the program's run on the FIN's segment.
  sockmap::DirState st{};
  if (net::settle_receive(c2b ? c.client.get() : c.backend.get()) != 0 ||
      sockmap_->read_state(sd.src_cookie, st) != 0) {
    begin_close(slot, /*reset=*/true);
    return;
  }
  sm_refresh(slot, dir, st);
  if (st.passed > sd.user_bytes) {  // passed bytes precede the FIN: user space sends them first
    if (!sd.user) sm_enter_user(slot, dir);
    else arm_readable(slot, dir);
    return;
  }
  if (!sm_drained(c, dir, st)) {
    sm_arm_check(slot);
    return;
  }
  const int dst = c2b ? c.backend.get() : c.client.get();
  ::shutdown(dst, SHUT_WR);
  d.done = true;
  if (c.c2b.done && c.b2c.done) begin_close(slot, /*reset=*/false);
}

void Worker::sm_arm_check(uint32_t slot) noexcept {
  Connection& c = conn(slot);
  if (c.check_armed) return;
  c.check_armed = true;
  c.check_ns = c.check_ns == 0 ? kSockmapCheckMinNs : std::min(c.check_ns * 2, kSockmapCheckMaxNs);
  c.check_ts = __kernel_timespec{0, c.check_ns};
  io_uring_sqe* sqe = ring_.get_sqe();
  io_uring_prep_timeout(sqe, &c.check_ts, 0, 0);
  io_uring_sqe_set_data64(sqe, encode(Op::sockmap_check, slot, c.generation));
  c.inflight++;
}

void Worker::sm_check(uint32_t slot) noexcept {
  Connection& c = conn(slot);
  c.check_armed = false;
  if (c.state != ConnState::forwarding || !c.sockmap) return;
  for (const Dir dir : {Dir::c2b, Dir::b2c}) {
    SockmapDir& sd = dir == Dir::c2b ? c.c2b_sm : c.b2c_sm;
    if (sd.send_waiting) {
      sm_send(slot, dir);
    } else if (sd.eof) {
      sm_try_finish(slot, dir);
    }
    if (c.state != ConnState::forwarding) return;
  }
}

// --- counters, idle timeout, pauses ------------------------------------------------------

void Worker::sm_refresh(uint32_t slot, Dir dir, const sockmap::DirState& st) noexcept {
  Connection& c = conn(slot);
  SockmapDir& sd = dir == Dir::c2b ? c.c2b_sm : c.b2c_sm;
  if (st.bytes <= sd.seen_bytes) return;
  WorkerStats::add(dir == Dir::c2b ? stats_.bytes_c2b : stats_.bytes_b2c, st.bytes - sd.seen_bytes);
  (dir == Dir::c2b ? c.bytes_c2b : c.bytes_b2c) += st.bytes - sd.seen_bytes;
  sd.seen_bytes = st.bytes;
  c.last_active_ms = now_ms_;
}

void Worker::sm_idle_check(uint32_t slot) noexcept {
  Connection& c = conn(slot);
  bool pending = false;  // bytes of either direction that never reached their destination
  for (const Dir dir : {Dir::c2b, Dir::b2c}) {
    const SockmapDir& sd = dir == Dir::c2b ? c.c2b_sm : c.b2c_sm;
    sockmap::DirState st{};
    if (sockmap_->read_state(sd.src_cookie, st) != 0) continue;
    sm_refresh(slot, dir, st);
    if (!(dir == Dir::c2b ? c.c2b : c.b2c).done) pending |= st.passed > sd.user_bytes || !sm_drained(c, dir, st);
  }
  if (now_ms_ >= c.last_active_ms + c.idle_ms) {
    // On the splice path those bytes sit in a socket's receive queue, and closing it sends a
    // reset; here they sit in the psock, which close() does not count: reset explicitly, so
    // the peers learn that the stream was cut rather than finished.
    WorkerStats::add(stats_.idle_timeouts);
    c.end_cause = EndCause::idle_timeout;
    begin_close(slot, /*reset=*/pending);
    return;
  }
  // A socket whose FIN was seen is no longer watched: look for a reset on it here.
  pollfd fds[2] = {{c.client.get(), 0, 0}, {c.backend.get(), 0, 0}};
  if (::poll(fds, 2, 0) > 0 && ((fds[0].revents | fds[1].revents) & POLLERR)) {
    close_reset(slot, (fds[0].revents & POLLERR) ? Dir::c2b : Dir::b2c, /*at_source=*/true);
    return;
  }
  wheel_.schedule(slot, now_ms_ + std::min(c.last_active_ms + c.idle_ms - now_ms_, kSockmapLookMs));
}

// A promotion waits for the other direction's readable-wait to be cancelled, or for the bytes
// it had already got to be forwarded. Should that take longer than a tick (a peer that waits for
// the parked direction's bytes before it reads), give up: the parked direction resumes.
void Worker::sm_expire_promotions() noexcept {
  std::erase_if(promoting_, [this](const Promoting& p) {
    Connection& c = conn(p.slot);
    if (c.generation != p.generation || c.state != ConnState::forwarding || !c.promote_pending ||
        c.promote_since_ms != p.since_ms) {
      return true;  // finished, or an earlier attempt's entry (a retry is tracked by its own)
    }
    if (now_ms_ < p.since_ms + kPromotionPatienceMs) return false;
    log::debug("sockmap_promotion_expired", {{"worker", id_}, {"slot", p.slot}, {"parked", c.parked},
                                             {"c2b_wait", static_cast<int>(c.c2b_wait)},
                                             {"b2c_wait", static_cast<int>(c.b2c_wait)}});
    WorkerStats::add(stats_.sockmap_fallbacks);
    abort_promotion(p.slot, /*retry=*/false);
    return true;
  });
}

// Once per tick: look at each direction the program paused or broke whose notice the poll has
// not taken yet (it normally takes one as soon as it lands, see sm_on_notices), and while
// directions are in user mode, at theirs (has the program resumed?). Only if notices were lost
// (the ring filled up: thousands of pauses between two reads) is every promoted direction
// looked at, one map read each.
void Worker::sm_scan_pauses() noexcept {
  if (sockmap_ == nullptr) return;
  if (!promoting_.empty()) sm_expire_promotions();
  sm_drain_notices();
  const uint64_t lost = sockmap_->notices_lost(id_);
  const bool look_all = lost != sockmap_notices_lost_seen_;
  if (look_all) {
    log::debug("sockmap_notices_lost", {{"worker", id_}, {"count", lost - sockmap_notices_lost_seen_}});
    sockmap_notices_lost_seen_ = lost;
  }
  if (!look_all && sockmap_user_dirs_ == 0) return;
  for (size_t ci = 0; ci < chunks_.size(); ++ci) {
    for (uint32_t i = 0; i < kChunk; ++i) {
      const uint32_t slot = static_cast<uint32_t>(ci) * kChunk + i;
      for (const Dir dir : {Dir::c2b, Dir::b2c}) {
        const Connection& c = conn(slot);
        if (c.state != ConnState::forwarding || !c.sockmap) break;
        if (look_all || (dir == Dir::c2b ? c.c2b_sm : c.b2c_sm).user) sm_look(slot, dir);
      }
    }
  }
}

// The program's notices wake the worker: a pausing direction is taken over as soon as it pauses,
// not up to a tick later, by when the destination may have drained its backlog and idled.
void Worker::sm_arm_notices() noexcept {
  if (sockmap_ == nullptr) return;
  const int fd = sockmap_->notice_fd(id_);
  if (fd < 0) return;
  io_uring_sqe* sqe = ring_.get_sqe();
  io_uring_prep_poll_multishot(sqe, fd, POLLIN);
  io_uring_sqe_set_data64(sqe, encode(Op::notices, 0));
}

void Worker::sm_on_notices(int res, uint32_t flags) noexcept {
  if (res < 0) {
    // Cannot happen with a live ring fd; re-arming could spin. The tick still drains notices.
    log::error("sockmap_notice_poll_error", {{"worker", id_}, {"error", log::errno_name(-res)}});
    return;
  }
  sm_drain_notices();
  if ((flags & IORING_CQE_F_MORE) == 0) sm_arm_notices();  // the kernel ended the multishot
}

void Worker::sm_drain_notices() noexcept {
  sockmap_->drain_notices(
      id_, [](void* self, const sockmap::Notice& n) { static_cast<Worker*>(self)->sm_on_notice(n); }, this);
}

void Worker::sm_on_notice(const sockmap::Notice& n) noexcept {
  const uint32_t slot = n.tag >> 1;
  const Dir dir = (n.tag & 1) != 0 ? Dir::b2c : Dir::c2b;
  if (slot / kChunk >= chunks_.size()) return;
  const Connection& c = conn(slot);
  // A notice can outlive its connection (closed before this tick): the slot's cookie tells.
  if (c.state != ConnState::forwarding || !c.sockmap) return;
  if ((dir == Dir::c2b ? c.c2b_sm : c.b2c_sm).src_cookie != n.cookie) return;
  sm_look(slot, dir);
}

// What the program did to one direction of a promoted connection since the worker last looked:
// paused it (user mode takes over), broke it (reset), or resumed it (user mode hands back).
void Worker::sm_look(uint32_t slot, Dir dir) noexcept {
  Connection& c = conn(slot);
  SockmapDir& sd = dir == Dir::c2b ? c.c2b_sm : c.b2c_sm;
  if ((dir == Dir::c2b ? c.c2b : c.b2c).done) return;
  sockmap::DirState st{};
  if (sockmap_->read_state(sd.src_cookie, st) != 0) return;
  if (st.broken) {  // the program could not cut a repeated head: the stream is not exact
    log::warn("sockmap_stream_broken", {{"worker", id_}, {"slot", slot}, {"direction", dir == Dir::c2b ? "c2b" : "b2c"}});
    close_reset(slot, dir, /*at_source=*/true);
    return;
  }
  if (!sd.user) {
    if (st.passed > sd.user_bytes) sm_enter_user(slot, dir);
    return;
  }
  // The program resumed (it consumed our report at an skb boundary): hand the direction
  // back by cancelling the RECV that waits for passed bytes.
  const Op wait = dir == Dir::c2b ? c.c2b_wait : c.b2c_wait;
  const Op recv = dir == Dir::c2b ? Op::recv_c2b : Op::recv_b2c;
  if (!st.paused && st.passed == sd.user_bytes && !sd.cancelling && wait == recv) {
    sd.cancelling = true;
    io_uring_sqe* sqe = ring_.get_sqe();
    io_uring_prep_cancel64(sqe, encode(recv, slot, c.generation), 0);
    io_uring_sqe_set_data64(sqe, encode(Op::cancel, slot, c.generation));
    c.inflight++;
  }
}

void Worker::sm_forget(Connection& c) noexcept {
  if (!c.sockmap) return;
  for (SockmapDir* sd : {&c.c2b_sm, &c.b2c_sm}) {
    sockmap::DirState st{};
    if (sockmap_->read_state(sd->src_cookie, st) == 0 && st.bytes > sd->seen_bytes) {
      const bool c2b = sd == &c.c2b_sm;
      WorkerStats::add(c2b ? stats_.bytes_c2b : stats_.bytes_b2c, st.bytes - sd->seen_bytes);
      (c2b ? c.bytes_c2b : c.bytes_b2c) += st.bytes - sd->seen_bytes;
    }
    if (st.trimmed > 0) {
      WorkerStats::add(stats_.sockmap_repeated_bytes, st.trimmed);
      log::debug("sockmap_repeated_bytes", {{"worker", id_}, {"direction", sd == &c.c2b_sm ? "c2b" : "b2c"},
                                            {"bytes", st.trimmed}});
    }
    if (sd->user) --sockmap_user_dirs_;
  }
  sockmap_->forget(c.c2b_sm.src_cookie, c.b2c_sm.src_cookie);
  stats_.sockmap_active.store(stats_.sockmap_active.load(std::memory_order_relaxed) - 1, std::memory_order_relaxed);
}

}  // namespace ringlb::worker
