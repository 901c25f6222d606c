// Sockmap: the in-kernel fast path (bpf/sockmap.bpf.c), loaded once per process and shared by
// every worker. A promoted connection's two sockets sit in one SOCKHASH, each keyed by its
// peer's cookie; the verdict program redirects every skb received on one out of the other.
// Per direction (named by the cookie of its source socket) the program keeps counters and a
// pause flag in `state`, and user space steers it through `control` (bpf/sockmap_abi.h).
//
// All methods but drain_notices are thread-safe (they are bpf(2) calls on shared map fds) and
// return 0 or -errno; none blocks. Built only with the meson `bpf` feature; without it load()
// reports why and the process runs on the splice path.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "ringlb/common/result.h"
#include "sockmap_abi.h"  // bpf/: the ABI shared with the program

namespace ringlb::sockmap {

using DirState = ringlb_dir_state;
using DirControl = ringlb_dir_control;
using Notice = ringlb_notice;
// The program (clang -target bpf) lays these out on its own: no padding may differ.
static_assert(sizeof(DirState) == 5 * 8 + 8 * 4, "ringlb_dir_state: 5 u64 and 8 u32, no holes");
static_assert(sizeof(DirControl) == 8 + 4 * 4, "ringlb_dir_control: 1 u64 and 4 u32, no holes");
static_assert(sizeof(Notice) == 8 + 2 * 4, "ringlb_notice: 1 u64 and 2 u32, no holes");

class Sockmap {
 public:
  // Loads the program with maps sized for `max_connections` promoted connections and one notice
  // ring per worker (`workers`), and attaches it. Fails without CAP_BPF + CAP_NET_ADMIN, on a
  // kernel without sockmap or BTF, or in a build without the feature; the error says which.
  static Result<std::unique_ptr<Sockmap>> load(uint32_t max_connections, uint32_t workers);
  ~Sockmap();
  Sockmap(const Sockmap&) = delete;
  Sockmap& operator=(const Sockmap&) = delete;

  // Promotes one connection. The caller guarantees nothing of it is in flight in user space.
  // Order matters (kernel-datapath-findings §3): control and state first (the program passes
  // skbs it has no entries for), then the backend under cookie(client), then the client under
  // cookie(backend), then SO_RCVLOWAT kicks bytes that arrived before the insert. On failure
  // nothing is left in the maps, except in one case: the client's insert failed after the
  // backend's succeeded (a FIN arrived in between). Deleting the backend then would purge bytes
  // the program already passed to its psock queue, so it stays, and promote() returns
  // kHalfPromoted: the caller forwards both directions in user space (reading with recv(2), which
  // sees that queue) for the rest of the connection.
  static constexpr int kHalfPromoted = 1;
  // `worker` and the two tags go into each direction's control (c2b is named by client_cookie,
  // b2c by backend_cookie) and come back in that worker's notices.
  int promote(int client, uint64_t client_cookie, int backend, uint64_t backend_cookie, uint32_t max_lag,
              uint32_t worker, uint32_t c2b_tag, uint32_t b2c_tag) noexcept;
  // Drops the control and state entries of a connection whose sockets are closed or about to be
  // (closing a socket removes it from the SOCKHASH by itself).
  void forget(uint64_t client_cookie, uint64_t backend_cookie) noexcept;

  int read_state(uint64_t src_cookie, DirState& out) const noexcept;
  int write_control(uint64_t src_cookie, const DirControl& control) noexcept;
  // Hands each notice the program left in `worker`'s ring since the last call to fn(ctx, notice),
  // in order. No syscall (the ring is mapped). Only `worker`'s own thread may call it: that ring
  // has one reader.
  void drain_notices(uint32_t worker, void (*fn)(void* ctx, const Notice& notice), void* ctx) noexcept;
  // The fd of `worker`'s notice ring: readable (POLLIN) once a notice is waiting. The program
  // wakes its pollers only when a notice lands in a ring that was empty, so a poller that drains
  // the ring on each wakeup hears of every batch once. -1 without the sockmap path.
  int notice_fd(uint32_t worker) const noexcept;
  // Notices for `worker` that found its ring full, so far: when this moves, the worker looks at
  // every direction it has.
  uint64_t notices_lost(uint32_t worker) const noexcept;

 private:
  struct Impl;
  explicit Sockmap(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ringlb::sockmap
