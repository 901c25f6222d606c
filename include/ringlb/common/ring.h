// Ring: an owned io_uring instance (liburing 2.3). The thread that creates it with
// SINGLE_ISSUER must be the only one to submit to it. get_sqe() never returns null: a full SQ
// is normal, so it flushes the SQ to the kernel and tries again.
#pragma once

#include <liburing.h>

#include <cstdint>

namespace ringlb {

class Ring {
 public:
  Ring() noexcept = default;
  Ring(const Ring&) = delete;
  Ring& operator=(const Ring&) = delete;
  ~Ring() {
    if (initialized_) io_uring_queue_exit(&ring_);
  }

  // Returns 0 or -errno. `flags` are IORING_SETUP_*; cq_entries 0 = the kernel default (2x).
  int init(unsigned entries, unsigned flags, unsigned cq_entries = 0) noexcept {
    io_uring_params p{};
    p.flags = flags;
    if (cq_entries) {
      p.flags |= IORING_SETUP_CQSIZE;
      p.cq_entries = cq_entries;
    }
    const int rc = io_uring_queue_init_params(entries, &ring_, &p);
    initialized_ = rc == 0;
    return rc;
  }

  // Registers the ring fd, sparing each io_uring_enter(2) its fd lookup (5.18+). The
  // registration belongs to the calling thread's io_uring context: only a ring that is used
  // by exactly this thread from now on may do it. Best effort: on failure liburing keeps using
  // the plain fd.
  void register_fd_for_this_thread() noexcept { io_uring_register_ring_fd(&ring_); }

  io_uring* get() noexcept { return &ring_; }

  io_uring_sqe* get_sqe() noexcept {
    io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
    while (sqe == nullptr) {
      io_uring_submit(&ring_);
      sqe = io_uring_get_sqe(&ring_);
    }
    return sqe;
  }
  // Reserves `n` SQEs at once (for a linked chain, which must not be split by a flush).
  void reserve(unsigned n) noexcept {
    if (io_uring_sq_space_left(&ring_) < n) io_uring_submit(&ring_);
  }

 private:
  io_uring ring_{};
  bool initialized_ = false;
};

}  // namespace ringlb
