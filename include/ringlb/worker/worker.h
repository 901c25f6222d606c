// Worker: one thread, one io_uring (SINGLE_ISSUER | DEFER_TASKRUN), one SO_REUSEPORT listener
// socket per configured listener. It owns every connection it accepts, from accept to close:
// picks the backend from the current snapshot, connects through the ring (with a linked
// timeout and retries on the next candidate), and forwards on the splice path. Nothing in here
// takes a lock; the only shared state is the snapshot store, the global connection count and
// the drain flags in Shared.
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
#include "ringlb/splice/pipe_pool.h"
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

// A worker's socket for one configured listener.
struct ListenerSocket {
  std::string name;  // the listener's name: resolved against each new snapshot
  Fd fd;
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

struct Connection {
  uint32_t generation = 0;
  ConnState state = ConnState::free;
  bool reset = false;         // closing with RST (SO_LINGER 0) on both sides
  bool holds_backend = false;  // counted in the current backend's active count
  bool free_queued = false;
  uint16_t inflight = 0;  // ring operations not yet completed: freed only at zero
  uint8_t attempt = 0;
  uint8_t n_candidates = 0;
  uint32_t pool = 0;
  uint32_t listener = 0;  // snapshot listener index
  uint32_t candidates[kMaxCandidates];
  Fd client;
  Fd backend;
  splice::Direction c2b;
  splice::Direction b2c;
  CopyBuffer c2b_copy;
  CopyBuffer b2c_copy;
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
  Worker(uint32_t id, Shared& shared, std::vector<ListenerSocket> listeners, size_t max_idle_pipes,
         uint32_t copy_buffers);
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Sets up the ring on the calling thread (SINGLE_ISSUER binds it to this thread).
  // Returns 0 or -errno; on success call run() from the same thread.
  int init() noexcept;
  // The event loop; returns once draining finished (no listener, no connection left).
  void run() noexcept;

  const WorkerStats& stats() const noexcept { return stats_; }
  uint32_t id() const noexcept { return id_; }

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
  void on_recv(uint32_t slot, Dir dir, int res, uint32_t flags) noexcept;
  void send_copy(uint32_t slot, Dir dir) noexcept;
  void on_send(uint32_t slot, Dir dir, int res) noexcept;
  void release_copy_buffer(Connection& c, Dir dir) noexcept;
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
  splice::PipePool pipes_;
  uint32_t copy_buffers_;
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
