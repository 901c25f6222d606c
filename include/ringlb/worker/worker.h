// Worker: one thread, one io_uring (SINGLE_ISSUER | COOP_TASKRUN), one SO_REUSEPORT listener
// socket per configured listener. It owns every connection it accepts, from accept to close:
// picks the backend from the current snapshot, connects through the ring (with a linked
// timeout and retries on the next candidate), and forwards on the splice path. Nothing on the
// accept or forwarding path takes a lock; the shared state is the snapshot store, the global
// connection count, the drain flags in Shared, and the reload mailbox (a mutex taken once per
// reload, listener_mailbox.h).
#pragma once

#include <netinet/in.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ringlb/common/address.h"
#include "ringlb/common/buffer_ring.h"
#include "ringlb/common/fd.h"
#include "ringlb/common/ring.h"
#include "ringlb/lb/snapshot.h"
#include "ringlb/sockmap/sockmap.h"
#include "ringlb/splice/pipe_pool.h"
#include "ringlb/worker/listener_mailbox.h"
#include "ringlb/splice/pump.h"
#include "ringlb/worker/access_log.h"
#include "ringlb/worker/stats.h"
#include "ringlb/worker/timer_wheel.h"
#include "ringlb/worker/user_data.h"

namespace ringlb::worker {

// State shared by all workers and the main thread.
struct Shared {
  explicit Shared(lb::SnapshotStore& s) : store(s) {}
  lb::SnapshotStore& store;
  std::atomic<uint32_t> active_clients{0};  // against Snapshot::max_connections
  std::atomic<bool> draining{false};        // stop accepting; finish live connections
  std::atomic<bool> close_all{false};       // drain deadline passed: close what is left
  int access_log_fd = -1;                   // set before workers start; -1: no access log
  bool access_log_json = false;
};

// retries is at most 32 (config validation), so a connection has at most 33 candidates.
constexpr uint32_t kMaxCandidates = 33;

enum class ConnState : uint8_t { free, connecting, forwarding, closing };

// One direction's small-message copy in flight: the provided buffer a RECV filled, while a
// SEND writes it to the other side. Held only between those two completions.
struct CopyBuffer {
  static constexpr uint32_t kNone = UINT32_MAX;
  uint32_t id = kNone;
  uint32_t len = 0;   // bytes the RECV put in it
  uint32_t sent = 0;  // bytes of those the SENDs have written
  bool held() const noexcept { return id != kNone; }
};

// One direction of a connection promoted to the sockmap path (sockmap.cpp). The direction is
// named in the BPF maps by the cookie of its source socket.
struct SockmapDir {
  uint64_t src_cookie = 0;
  int64_t dst_base = 0;     // net::bytes_queued_ever(dst) at promotion
  uint64_t user_bytes = 0;  // bytes user space forwarded itself since (while paused)
  uint64_t seen_bytes = 0;  // the program's byte counter at the last look (stats, idle timeout)
  bool user = false;        // paused: user space forwards what the program passes
  bool cancelling = false;  // the program resumed: the user-space RECV is being cancelled
  bool send_waiting = false;  // a passed buffer waits for the in-kernel backlog to drain
  // User mode saw the in-kernel backlog drained into dst, and the program cannot have redirected
  // since: it stays paused until a report of ours covers every byte it passed, and none was
  // written since. The next passed buffer can be sent without looking again.
  bool drained_hold = false;
  bool eof = false;         // src's FIN seen: forwarded once everything before it is in dst
};

struct Connection {
  uint32_t generation = 0;
  ConnState state = ConnState::free;
  bool reset = false;         // closing with RST (SO_LINGER 0) on both sides
  bool holds_backend = false;  // counted in the current backend's active count
  bool free_queued = false;
  uint16_t inflight = 0;  // ring operations not yet completed: freed only at zero
  uint8_t attempt = 0;
  uint8_t n_candidates = 0;
  // Sockmap promotion (sockmap.cpp).
  bool sockmap = false;          // promoted: the kernel forwards, user space watches
  bool promote_pending = false;  // waiting for both directions to go quiet
  bool promote_blocked = false;  // never promote this one (a FIN came first, or it failed)
  bool check_armed = false;      // a sockmap_check timer is in flight
  uint8_t parked = 0;            // bit per Dir: quiet, nothing in flight, waiting for promotion
  uint64_t promote_since_ms = 0;  // when the pending promotion started (one per attempt)
  Op c2b_wait{};                 // the readable-wait in flight per direction (RECV or POLLIN), or 0
  Op b2c_wait{};
  uint32_t pool = 0;
  uint32_t listener = 0;  // snapshot listener index
  uint32_t candidates[kMaxCandidates];
  Fd client;
  Fd backend;
  splice::Direction c2b;
  splice::Direction b2c;
  CopyBuffer c2b_copy;
  CopyBuffer b2c_copy;
  SockmapDir c2b_sm;
  SockmapDir b2c_sm;
  __kernel_timespec check_ts;
  int64_t check_ns = 0;  // the sockmap_check delay, backing off while a backlog stays stuck
  uint64_t last_active_ms = 0;
  uint64_t idle_ms = 0;
  Address client_address;
  // For the access log (counted whether or not it is on: two adds per forwarded chunk).
  uint64_t started_ms = 0;
  uint64_t bytes_c2b = 0;
  uint64_t bytes_b2c = 0;
  EndCause end_cause = EndCause::fin;  // set by whoever closes it for another reason
  DatapathKind datapath = DatapathKind::splice;
  bool routed = false;  // a backend connection was established
  std::shared_ptr<const lb::Snapshot> snapshot;  // the snapshot it was routed with
  // Arguments of the in-flight connect: io_uring reads them at submission.
  sockaddr_storage backend_sockaddr;
  __kernel_timespec connect_timeout;

  const lb::PoolView& pool_view() const noexcept { return snapshot->pools[pool]; }
  const lb::BackendView& backend_view() const noexcept {
    return pool_view().backends[candidates[attempt]];
  }
};

class Worker {
 public:
  // copy_buffers: provided buffers for the copy path (copy.cpp); 0 leaves every read to splice.
  // sockmap: the loaded in-kernel path, shared by all workers, or nullptr (splice only).
  Worker(uint32_t id, Shared& shared, std::vector<ListenerSocket> listeners, size_t max_idle_pipes,
         uint32_t copy_buffers, sockmap::Sockmap* sockmap);
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Sets up the ring on the calling thread (SINGLE_ISSUER binds it to this thread).
  // Returns 0 or -errno; on success call run() from the same thread.
  int init() noexcept;
  // The event loop; returns once draining finished (no listener, no connection left).
  void run() noexcept;

  const WorkerStats& stats() const noexcept { return stats_; }
  uint32_t id() const noexcept { return id_; }
  // Listener changes of a reload (listener_reload.cpp); the main thread posts to it.
  ListenerMailbox& mailbox() noexcept { return mailbox_; }

 private:
  enum class Dir : uint8_t { c2b, b2c };
  struct PipeWaiter {
    uint32_t slot;
    uint32_t generation;
    Dir dir;
  };
  struct ListenerState {
    ListenerSocket socket;
    int snapshot_index = -1;  // -1: not in the current snapshot (removed by a reload)
    bool armed = false;        // a multishot accept is in flight
    bool closing = false;      // removed by a reload: closed once its accept is gone
    bool paused = false;       // backing off after EMFILE & co.
    bool pause_logged = false;  // an accept_paused line was written for this episode
    uint32_t backoff_ms = 0;
    __kernel_timespec resume_ts{};
  };

  // Ring plumbing.
  void handle_cqe(const io_uring_cqe& cqe) noexcept;
  void arm_tick() noexcept;
  void on_tick() noexcept;

  // Accepting.
  void arm_accept(uint32_t li) noexcept;
  void on_accept(uint32_t li, int res, uint32_t flags) noexcept;
  void pause_accepting(int err) noexcept;
  void pause_listener(uint32_t li, int err) noexcept;
  void on_accept_resume(uint32_t li) noexcept;
  void stop_accepting() noexcept;
  void refresh_snapshot() noexcept;
  // Reload (listener_reload.cpp): the mailbox's eventfd read, listeners closed and added.
  void arm_mailbox() noexcept;
  void on_mailbox(int res) noexcept;
  void close_listener(uint32_t li) noexcept;
  void add_listener(ListenerSocket socket) noexcept;
  void apply_backlogs() noexcept;
  void handle_client(Fd client, uint32_t li) noexcept;

  // Connection lifecycle.
  uint32_t alloc_connection() noexcept;
  Connection& conn(uint32_t slot) noexcept { return chunks_[slot / kChunk][slot % kChunk]; }
  void start_connect(uint32_t slot) noexcept;
  void on_connect(uint32_t slot, int res) noexcept;
  void release_backend(Connection& c) noexcept;
  void established(uint32_t slot) noexcept;
  void drive(uint32_t slot, Dir dir) noexcept;
  void arm_poll(uint32_t slot, Op op, int fd, unsigned events) noexcept;
  void on_poll(uint32_t slot, Dir dir, int res) noexcept;
  // The copy path (copy.cpp): wait for bytes with a RECV into a provided buffer, then SEND.
  void arm_readable(uint32_t slot, Dir dir) noexcept;
  void arm_wait_poll(uint32_t slot, Dir dir) noexcept;  // POLLIN on the source, as a readable-wait
  void on_recv(uint32_t slot, Dir dir, int res, uint32_t flags) noexcept;
  // A RECV that failed: nothing read (-ENOBUFS, -EAGAIN: POLL for bytes, then RECV again), or
  // the source is gone (forwarded as a reset).
  void recv_failed(uint32_t slot, Dir dir, int res) noexcept;
  void send_copy(uint32_t slot, Dir dir) noexcept;
  void on_send(uint32_t slot, Dir dir, int res) noexcept;
  void release_copy_buffer(Connection& c, Dir dir) noexcept;
  // The sockmap path (sockmap.cpp).
  // Eligible for the sockmap path now: its listener promotes, it moved enough, nothing ruled
  // it out.
  bool promotable(const Connection& c) const noexcept;
  bool start_promotion(uint32_t slot, Dir dir) noexcept;
  void park(uint32_t slot, Dir dir) noexcept;
  // Gives a started promotion up and re-arms the parked directions; unless `retry`, this
  // connection is never tried again.
  void abort_promotion(uint32_t slot, bool retry) noexcept;
  void promote(uint32_t slot) noexcept;
  void arm_watch(uint32_t slot, bool client, unsigned events) noexcept;
  void on_watch(uint32_t slot, bool client, int res) noexcept;
  void sm_on_recv(uint32_t slot, Dir dir, int res) noexcept;
  void sm_send(uint32_t slot, Dir dir) noexcept;
  void sm_on_send(uint32_t slot, Dir dir, int res) noexcept;
  void sm_check(uint32_t slot) noexcept;
  void sm_enter_user(uint32_t slot, Dir dir) noexcept;
  void sm_try_finish(uint32_t slot, Dir dir) noexcept;
  void sm_refresh(uint32_t slot, Dir dir, const sockmap::DirState& st) noexcept;
  bool sm_drained(const Connection& c, Dir dir, const sockmap::DirState& st) const noexcept;
  void sm_arm_check(uint32_t slot) noexcept;
  void sm_scan_pauses() noexcept;
  void sm_arm_notices() noexcept;
  void sm_on_notices(int res, uint32_t flags) noexcept;
  void sm_drain_notices() noexcept;
  void sm_on_notice(const sockmap::Notice& n) noexcept;
  // The name a direction's control carries, which the program hands back in this worker's
  // notices: the slot and the direction.
  static constexpr uint32_t sm_tag(uint32_t slot, Dir dir) noexcept { return slot << 1 | (dir == Dir::b2c ? 1u : 0u); }
  void sm_look(uint32_t slot, Dir dir) noexcept;
  void sm_expire_promotions() noexcept;
  void sm_idle_check(uint32_t slot) noexcept;
  void sm_forget(Connection& c) noexcept;
  void begin_close(uint32_t slot, bool reset) noexcept;
  // A reset ends the connection: `at_source` says whether dir's source (else its destination)
  // is the side that failed.
  void close_reset(uint32_t slot, Dir dir, bool at_source) noexcept;
  void log_access(const Connection& c) noexcept;
  void log_rejected(int client_fd, uint32_t li, EndCause cause) noexcept;
  void maybe_queue_free(uint32_t slot) noexcept;
  void free_connection(uint32_t slot) noexcept;

  static constexpr uint32_t kChunk = 1024;

  uint32_t id_;
  Shared& shared_;
  Ring ring_;
  std::vector<ListenerState> listeners_;
  ListenerMailbox mailbox_;
  uint64_t mailbox_buf_ = 0;  // the eventfd read's target
  splice::PipePool pipes_;
  uint32_t copy_buffers_;
  sockmap::Sockmap* sockmap_;
  uint64_t sockmap_notices_lost_seen_ = 0;
  uint32_t sockmap_user_dirs_ = 0;  // directions in user mode (paused): looked at every tick
  struct Promoting {
    uint32_t slot;
    uint32_t generation;
    uint64_t since_ms;
  };
  std::vector<Promoting> promoting_;  // promotions started and not finished: a tick gives up on old ones
  BufferRing buffers_;  // after ring_: unregistered before the ring goes
  std::shared_ptr<const lb::Snapshot> snapshot_;
  uint64_t snapshot_generation_ = 0;
  std::vector<std::unique_ptr<Connection[]>> chunks_;
  std::vector<uint32_t> free_slots_;
  std::vector<uint32_t> to_free_;
  std::vector<PipeWaiter> pipe_waiters_;
  TimerWheel wheel_;
  uint64_t now_ms_ = 0;
  uint32_t live_ = 0;  // connections not free
  bool accepting_ = true;
  __kernel_timespec tick_ts_{};
  AccessLog access_log_;
  WorkerStats stats_;
};

}  // namespace ringlb::worker
