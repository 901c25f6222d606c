// Worker event loop, accepting and the periodic tick (see worker.h). The connection state
// machine is in connection.cpp.
#include "ringlb/worker/worker.h"

#include <errno.h>

#include <algorithm>

#include "ringlb/common/clock.h"
#include "ringlb/common/log.h"
#include "ringlb/lb/flow_hash.h"
#include "ringlb/net/socket.h"

namespace ringlb::worker {
namespace {

// Ring sizing: 4096 SQEs; the CQ is 4x so a burst of multishot accepts plus poll completions
// for thousands of connections does not overflow it (the kernel keeps overflowed CQEs anyway,
// IORING_FEAT_NODROP, but at a cost).
constexpr unsigned kSqEntries = 4096;
constexpr unsigned kCqEntries = 4 * kSqEntries;
// Idle timers have 100 ms resolution; 4096 buckets = a 409.6 s turn.
constexpr uint64_t kTickMs = 100;
constexpr uint32_t kWheelBuckets = 4096;
// Accept backoff after EMFILE & co: 50 ms doubling to 1 s (HAProxy pauses for 100 ms).
constexpr uint32_t kBackoffMinMs = 50;
constexpr uint32_t kBackoffMaxMs = 1000;
// Copy-path buffers (copy.cpp; global.copy_buffers of them, default 256 x 16 KiB = 4 MiB of
// address space per worker, resident as used). A buffer is held only from a RECV's
// completion to its SEND's, so 256 cover 256 directions moving bytes at the same instant;
// beyond that reads fall back to splice. 16 KiB holds a typical API request or response; a
// full TLS record (16 KiB + 29 bytes) takes one RECV and then the splice path, which is fine.
constexpr uint16_t kCopyBufferGroup = 0;
constexpr uint32_t kCopyBufferSize = 16 * 1024;

bool is_resource_exhaustion(int err) noexcept {
  return err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM;
}

}  // namespace

Worker::Worker(uint32_t id, Shared& shared, std::vector<ListenerSocket> listeners, size_t max_idle_pipes,
               uint32_t copy_buffers, sockmap::Sockmap* sockmap)
    : id_(id),
      shared_(shared),
      pipes_(max_idle_pipes),
      copy_buffers_(copy_buffers),
      sockmap_(sockmap),
      wheel_(kTickMs, kWheelBuckets, monotonic_ms_coarse()),
      access_log_(shared.access_log_fd, shared.access_log_json) {
  for (ListenerSocket& l : listeners) {
    ListenerState s;
    s.socket = std::move(l);
    listeners_.push_back(std::move(s));
  }
}

int Worker::init() noexcept {
  // COOP_TASKRUN rather than DEFER_TASKRUN: on 6.18 a DEFER_TASKRUN run capped at 20 task-work
  // items left the rest until the next wakeup, delaying completions by up to a tick (README,
  // "Deviations").
  const int rc = ring_.init(kSqEntries,
                            IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_COOP_TASKRUN | IORING_SETUP_SUBMIT_ALL,
                            kCqEntries);
  if (rc != 0) return rc;
  if (!mailbox_.init()) return -errno;
  ring_.register_fd_for_this_thread();  // init() and run() are on the same thread
  const int brc = copy_buffers_ == 0 ? 0 : buffers_.init(ring_.get(), kCopyBufferGroup, copy_buffers_, kCopyBufferSize);
  if (brc != 0) {
    // Pre-5.19 kernel or no memory: every read takes the splice path (POLL + splice(2)).
    log::warn("copy_path_unavailable", {{"worker", id_}, {"error", log::errno_name(-brc)}});
  }
  // A few idle pipes up front: under fd exhaustion the connections already open can still
  // move bytes (pipes go back to the pool as soon as a direction drains).
  pipes_.prewarm(4);
  return 0;
}

void Worker::run() noexcept {
  now_ms_ = monotonic_ms_coarse();
  refresh_snapshot();
  for (uint32_t li = 0; li < listeners_.size(); ++li) arm_accept(li);
  arm_tick();
  arm_mailbox();
  sm_arm_notices();

  io_uring* ring = ring_.get();
  for (;;) {
    const int rc = io_uring_submit_and_wait(ring, 1);
    if (rc < 0 && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY) {
      log::error("worker_ring_error", {{"worker", id_}, {"error", log::errno_name(-rc)}});
    }
    now_ms_ = monotonic_ms_coarse();
    unsigned head;
    unsigned seen = 0;
    io_uring_cqe* cqe;
    io_uring_for_each_cqe(ring, head, cqe) {
      handle_cqe(*cqe);
      ++seen;
    }
    io_uring_cq_advance(ring, seen);
    // Freed only here, at the end of the batch, once nothing in flight can name the slot.
    for (uint32_t slot : to_free_) free_connection(slot);
    to_free_.clear();

    if (!accepting_ && live_ == 0 &&
        std::none_of(listeners_.begin(), listeners_.end(), [](const ListenerState& l) { return l.socket.fd.valid(); })) {
      break;
    }
  }
  access_log_.flush();
}

void Worker::handle_cqe(const io_uring_cqe& cqe) noexcept {
  const UserData ud = decode(cqe.user_data);
  switch (ud.op) {
    case Op::accept: on_accept(ud.slot, cqe.res, cqe.flags); return;
    case Op::accept_resume: on_accept_resume(ud.slot); return;
    case Op::listener_cancel: return;
    case Op::tick: on_tick(); return;
    case Op::mailbox: on_mailbox(cqe.res); return;
    case Op::notices: sm_on_notices(cqe.res, cqe.flags); return;
    default: break;
  }
  // Connection operations.
  Connection& c = conn(ud.slot);
  if (c.state == ConnState::free || (c.generation & kGenerationMask) != ud.generation) {
    log::error("stale_completion", {{"worker", id_}, {"slot", ud.slot}, {"op", static_cast<int>(ud.op)}});
    if (cqe.flags & IORING_CQE_F_BUFFER) buffers_.recycle(static_cast<uint16_t>(cqe.flags >> IORING_CQE_BUFFER_SHIFT));
    return;
  }
  c.inflight--;
  if (ud.op == c.c2b_wait) c.c2b_wait = Op{};  // a readable-wait completed (or was cancelled)
  if (ud.op == c.b2c_wait) c.b2c_wait = Op{};
  switch (ud.op) {
    case Op::connect: on_connect(ud.slot, cqe.res); break;
    case Op::poll_c2b_in:
    case Op::poll_c2b_out: on_poll(ud.slot, Dir::c2b, cqe.res); break;
    case Op::poll_b2c_in:
    case Op::poll_b2c_out: on_poll(ud.slot, Dir::b2c, cqe.res); break;
    case Op::recv_c2b: on_recv(ud.slot, Dir::c2b, cqe.res, cqe.flags); break;
    case Op::recv_b2c: on_recv(ud.slot, Dir::b2c, cqe.res, cqe.flags); break;
    case Op::send_c2b: on_send(ud.slot, Dir::c2b, cqe.res); break;
    case Op::send_b2c: on_send(ud.slot, Dir::b2c, cqe.res); break;
    case Op::watch_client: on_watch(ud.slot, /*client=*/true, cqe.res); break;
    case Op::watch_backend: on_watch(ud.slot, /*client=*/false, cqe.res); break;
    case Op::sockmap_check: sm_check(ud.slot); break;
    case Op::connect_timeout:  // -ETIME: it fired and cancelled the connect (which reports it)
    case Op::cancel:
    default: break;
  }
  maybe_queue_free(ud.slot);
}

void Worker::arm_tick() noexcept {
  tick_ts_ = to_kernel_timespec(kTickMs);
  io_uring_sqe* sqe = ring_.get_sqe();
  io_uring_prep_timeout(sqe, &tick_ts_, 0, 0);
  io_uring_sqe_set_data64(sqe, encode(Op::tick, 0));
}

void Worker::on_tick() noexcept {
  access_log_.flush();  // at most one tick (kTickMs) of lines waits in memory
  wheel_.advance(now_ms_, [this](uint32_t slot) {
    Connection& c = conn(slot);
    if (c.state != ConnState::forwarding) return;
    if (c.sockmap) {
      sm_idle_check(slot);
      return;
    }
    const uint64_t deadline = c.last_active_ms + c.idle_ms;
    if (deadline <= now_ms_) {
      WorkerStats::add(stats_.idle_timeouts);
      c.end_cause = EndCause::idle_timeout;
      begin_close(slot, /*reset=*/false);
    } else {
      wheel_.schedule(slot, deadline);
    }
  });

  sm_scan_pauses();

  if (!pipe_waiters_.empty()) {
    std::vector<PipeWaiter> waiting;
    waiting.swap(pipe_waiters_);
    for (const PipeWaiter& w : waiting) {
      Connection& c = conn(w.slot);
      if (c.generation != w.generation || c.state != ConnState::forwarding) continue;
      drive(w.slot, w.dir);
    }
  }

  if (accepting_ && shared_.draining.load(std::memory_order_relaxed)) stop_accepting();
  if (shared_.close_all.load(std::memory_order_relaxed)) {
    for (auto& chunk : chunks_) {
      for (uint32_t i = 0; i < kChunk; ++i) {
        const uint32_t slot = static_cast<uint32_t>(&chunk - chunks_.data()) * kChunk + i;
        if (chunk[i].state == ConnState::connecting || chunk[i].state == ConnState::forwarding) {
          chunk[i].end_cause = EndCause::drain_timeout;
          begin_close(slot, /*reset=*/false);
        }
      }
    }
  }
  for (uint32_t slot : to_free_) free_connection(slot);
  to_free_.clear();
  arm_tick();
}

// --- accepting ---------------------------------------------------------------------------

void Worker::arm_accept(uint32_t li) noexcept {
  ListenerState& l = listeners_[li];
  if (l.armed || l.paused || !accepting_ || !l.socket.fd.valid()) return;
  io_uring_sqe* sqe = ring_.get_sqe();
  // The peer address is read later with getpeername(): a multishot accept would write every
  // connection's address into the same buffer.
  io_uring_prep_multishot_accept(sqe, l.socket.fd.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
  io_uring_sqe_set_data64(sqe, encode(Op::accept, li));
  l.armed = true;
}

void Worker::on_accept(uint32_t li, int res, uint32_t flags) noexcept {
  ListenerState& l = listeners_[li];
  if (!(flags & IORING_CQE_F_MORE)) l.armed = false;
  if (res >= 0) {
    Fd client(res);
    if (l.pause_logged) {
      log::info("accept_resumed", {{"worker", id_}, {"listener", l.socket.name}});
      l.pause_logged = false;
    }
    l.backoff_ms = 0;
    if (!accepting_) return;  // draining: a connection accepted before the cancel landed
    handle_client(std::move(client), li);
  } else if (res == -ECANCELED || (res == -EINVAL && l.closing)) {
    // Cancelled to pause (EMFILE on a backend socket), to drain or to remove the listener
    // (EINVAL: the accept ran on the socket close_listener() had just shut down).
  } else if (is_resource_exhaustion(-res)) {
    pause_listener(li, -res);
    return;
  } else if (res != -ECONNABORTED && res != -EINTR && res != -EAGAIN) {
    // EPERM (a firewall), EPROTO and friends concern one connection, not the listener.
    log::warn("accept_error", {{"worker", id_}, {"listener", l.socket.name}, {"error", log::errno_name(-res)}});
  }
  if ((!accepting_ || l.closing) && !l.armed && l.socket.fd.valid()) {
    l.socket.fd.reset();  // drain or reload: the cancelled accept is gone, close the listener
    return;
  }
  arm_accept(li);
}

// Out of descriptors or memory: every listener of this worker backs off, or the next accept
// fails the same way at once and the loop spins (libuv#690, bun#32705).
void Worker::pause_accepting(int err) noexcept {
  for (uint32_t li = 0; li < listeners_.size(); ++li) pause_listener(li, err);
}

void Worker::pause_listener(uint32_t li, int err) noexcept {
  ListenerState& l = listeners_[li];
  if (l.paused || !l.socket.fd.valid()) return;
  l.paused = true;
  l.backoff_ms = l.backoff_ms == 0 ? kBackoffMinMs : std::min(l.backoff_ms * 2, kBackoffMaxMs);
  WorkerStats::add(stats_.accept_pauses);
  if (!l.pause_logged) {
    log::warn("accept_paused", {{"worker", id_}, {"listener", l.socket.name}, {"error", log::errno_name(err)},
                                {"backoff_ms", l.backoff_ms}});
    l.pause_logged = true;
  }
  if (l.armed) {
    io_uring_sqe* sqe = ring_.get_sqe();
    io_uring_prep_cancel64(sqe, encode(Op::accept, li), 0);
    io_uring_sqe_set_data64(sqe, encode(Op::listener_cancel, li));
  }
  l.resume_ts = to_kernel_timespec(l.backoff_ms);
  io_uring_sqe* sqe = ring_.get_sqe();
  io_uring_prep_timeout(sqe, &l.resume_ts, 0, 0);
  io_uring_sqe_set_data64(sqe, encode(Op::accept_resume, li));
}

void Worker::on_accept_resume(uint32_t li) noexcept {
  ListenerState& l = listeners_[li];
  l.paused = false;
  arm_accept(li);
}

// Draining closes every listener the way a reload closes a removed one (listener_reload.cpp).
void Worker::stop_accepting() noexcept {
  accepting_ = false;
  for (uint32_t li = 0; li < listeners_.size(); ++li) close_listener(li);
}

void Worker::refresh_snapshot() noexcept {
  const uint64_t generation = shared_.store.generation();
  if (snapshot_ && generation == snapshot_generation_) return;
  snapshot_ = shared_.store.load();
  snapshot_generation_ = snapshot_->generation;
  for (ListenerState& l : listeners_) l.snapshot_index = snapshot_->find_listener(l.socket.name);
  apply_backlogs();
}

void Worker::handle_client(Fd client, uint32_t li) noexcept {
  WorkerStats::add(stats_.accepted);
  refresh_snapshot();
  const int sl = listeners_[li].snapshot_index;
  if (sl < 0) {
    WorkerStats::add(stats_.closed);
    return;
  }
  const lb::ListenerView& listener = snapshot_->listeners[static_cast<size_t>(sl)];
  if (shared_.active_clients.fetch_add(1, std::memory_order_relaxed) >= snapshot_->max_connections) {
    shared_.active_clients.fetch_sub(1, std::memory_order_relaxed);
    WorkerStats::add(stats_.rejected_max_connections);
    WorkerStats::add(stats_.closed);
    log_rejected(client.get(), li, EndCause::rejected_max_connections);
    return;
  }
  Address peer;
  if (net::peer_address(client.get(), peer) != 0) {  // already gone (ENOTCONN)
    shared_.active_clients.fetch_sub(1, std::memory_order_relaxed);
    WorkerStats::add(stats_.closed);
    return;
  }
  // The proxy must not add Nagle delay to the client's side of its hop either.
  net::set_nodelay(client.get());
  const lb::PoolView& pool = snapshot_->pools[listener.pool];
  uint32_t candidates[kMaxCandidates];
  const size_t want = std::min<size_t>(pool.retries + 1, kMaxCandidates);
  const size_t n = pool.candidates(lb::flow_hash(peer, pool.flow_key), std::span<uint32_t>(candidates, want));
  if (n == 0) {
    shared_.active_clients.fetch_sub(1, std::memory_order_relaxed);
    WorkerStats::add(stats_.rejected_no_backend);
    WorkerStats::add(stats_.closed);
    log_rejected(client.get(), li, EndCause::rejected_no_backend);
    return;
  }
  const uint32_t slot = alloc_connection();
  if (slot == UINT32_MAX) {
    shared_.active_clients.fetch_sub(1, std::memory_order_relaxed);
    WorkerStats::add(stats_.rejected_fd_limit);
    WorkerStats::add(stats_.closed);
    log_rejected(client.get(), li, EndCause::rejected_fd_limit);
    return;
  }
  Connection& c = conn(slot);
  c.state = ConnState::connecting;
  c.client = std::move(client);
  c.snapshot = snapshot_;
  c.pool = listener.pool;
  c.listener = static_cast<uint32_t>(sl);
  c.client_address = peer;
  c.n_candidates = static_cast<uint8_t>(n);
  c.attempt = 0;
  std::copy_n(candidates, n, c.candidates);
  c.idle_ms = static_cast<uint64_t>(pool.idle_timeout.count());
  c.last_active_ms = now_ms_;
  c.started_ms = now_ms_;
  c.bytes_c2b = 0;
  c.bytes_b2c = 0;
  c.end_cause = EndCause::fin;
  c.datapath = DatapathKind::splice;
  c.routed = false;
  start_connect(slot);
}

uint32_t Worker::alloc_connection() noexcept {
  if (free_slots_.empty()) {
    try {
      const uint32_t base = static_cast<uint32_t>(chunks_.size()) * kChunk;
      chunks_.push_back(std::make_unique<Connection[]>(kChunk));
      free_slots_.reserve(free_slots_.size() + kChunk);
      for (uint32_t i = kChunk; i-- > 0;) free_slots_.push_back(base + i);
    } catch (...) {
      return UINT32_MAX;
    }
  }
  const uint32_t slot = free_slots_.back();
  free_slots_.pop_back();
  ++live_;
  WorkerStats::add(stats_.active);
  return slot;
}

}  // namespace ringlb::worker
