// The sockmap loader and map operations (see sockmap.h). The program and its maps come from
// the skeleton bpftool generated at build time (bpf/meson.build), so the object is embedded in
// the binary: nothing to install next to it.
#include "ringlb/sockmap/sockmap.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fmt/format.h>
#include <string.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstdarg>
#include <cstring>
#include <utility>
#include <vector>

#include "ringlb/common/fd.h"
#include "ringlb/common/log.h"
#include "sockmap.skel.h"

namespace ringlb::sockmap {
namespace {

// libbpf's own messages (the verifier log on a failed load) go to the debug log, one line each.
int libbpf_print(enum libbpf_print_level level, const char* format, va_list args) {
  if (level == LIBBPF_DEBUG) return 0;
  char line[512];
  const int n = vsnprintf(line, sizeof line, format, args);
  std::string_view text(line, n < 0 ? 0 : std::min<size_t>(static_cast<size_t>(n), sizeof line - 1));
  while (!text.empty() && text.back() == '\n') text.remove_suffix(1);
  if (!text.empty()) log::debug("libbpf", {{"message", text}});
  return 0;
}

std::string load_error(const char* step, int err) {
  std::string hint;
  if (err == EPERM || err == EACCES) hint = " (needs CAP_BPF and CAP_NET_ADMIN)";
  if (err == EINVAL || err == EOPNOTSUPP || err == 524 /* ENOTSUPP, kernel-internal */) hint = " (kernel without sockmap, sk_skb or BTF support?)";
  return fmt::format("{}: {}{}", step, strerror(err), hint);
}

}  // namespace

// One worker's notice ring: the kernel map and libbpf's reader over its mapping, with the
// callback of the drain_notices() call in progress.
struct NoticeRing {
  Fd map;
  ring_buffer* reader = nullptr;
  void (*fn)(void*, const Notice&) = nullptr;
  void* ctx = nullptr;

  static int on_sample(void* self, void* data, size_t size) {
    auto* ring = static_cast<NoticeRing*>(self);
    if (size < sizeof(Notice)) return 0;
    Notice n;
    std::memcpy(&n, data, sizeof n);
    ring->fn(ring->ctx, n);
    return 0;
  }
  ~NoticeRing() { ring_buffer__free(reader); }
};

struct Sockmap::Impl {
  ringlb_sockmap* skel = nullptr;
  int peers = -1;
  int control = -1;
  int state = -1;
  int notices_lost = -1;
  int prog = -1;
  std::vector<std::unique_ptr<NoticeRing>> rings;  // by worker
  ~Impl() {
    rings.clear();
    if (prog >= 0 && peers >= 0) bpf_prog_detach2(prog, peers, BPF_SK_SKB_STREAM_VERDICT);
    ringlb_sockmap__destroy(skel);
  }
};

Sockmap::Sockmap(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Sockmap::~Sockmap() = default;

Result<std::unique_ptr<Sockmap>> Sockmap::load(uint32_t max_connections, uint32_t workers) {
  libbpf_set_print(libbpf_print);
  auto impl = std::make_unique<Impl>();
  impl->skel = ringlb_sockmap__open();
  if (impl->skel == nullptr) return Error{load_error("bpf open", errno)};
  // Two sockets (SOCKHASH) and two directions (control, state) per connection.
  const uint32_t entries = std::max<uint32_t>(2, max_connections > UINT32_MAX / 2 ? UINT32_MAX : 2 * max_connections);
  bpf_map__set_max_entries(impl->skel->maps.peers, entries);
  bpf_map__set_max_entries(impl->skel->maps.control, entries);
  bpf_map__set_max_entries(impl->skel->maps.state, entries);
  workers = std::max<uint32_t>(1, workers);
  bpf_map__set_max_entries(impl->skel->maps.notices, workers);
  bpf_map__set_max_entries(impl->skel->maps.notices_lost, workers);
  if (const int rc = ringlb_sockmap__load(impl->skel); rc != 0) return Error{load_error("bpf load", -rc)};
  impl->peers = bpf_map__fd(impl->skel->maps.peers);
  impl->control = bpf_map__fd(impl->skel->maps.control);
  impl->state = bpf_map__fd(impl->skel->maps.state);
  impl->notices_lost = bpf_map__fd(impl->skel->maps.notices_lost);
  // One ring per worker, so each has a single reader; the program finds it by worker id.
  const int notices = bpf_map__fd(impl->skel->maps.notices);
  for (uint32_t w = 0; w < workers; ++w) {
    auto ring = std::make_unique<NoticeRing>();
    ring->map = Fd(bpf_map_create(BPF_MAP_TYPE_RINGBUF, "ringlb_notices", 0, 0, RINGLB_NOTICE_RING_BYTES, nullptr));
    if (!ring->map.valid()) return Error{load_error("bpf notice ring", errno)};
    const int fd = ring->map.get();
    if (bpf_map_update_elem(notices, &w, &fd, BPF_ANY) != 0) return Error{load_error("bpf notice ring insert", errno)};
    ring->reader = ring_buffer__new(fd, NoticeRing::on_sample, ring.get(), nullptr);
    if (ring->reader == nullptr) return Error{load_error("bpf notice ring map", errno)};
    impl->rings.push_back(std::move(ring));
  }
  const int prog = bpf_program__fd(impl->skel->progs.ringlb_verdict);
  // libbpf 1.1 cannot attach sk_skb programs through a link: the legacy attach to the map.
  if (bpf_prog_attach(prog, impl->peers, BPF_SK_SKB_STREAM_VERDICT, 0) != 0) {
    return Error{load_error("bpf attach", errno)};
  }
  impl->prog = prog;
  return std::unique_ptr<Sockmap>(new Sockmap(std::move(impl)));
}

int Sockmap::promote(int client, uint64_t client_cookie, int backend, uint64_t backend_cookie, uint32_t max_lag,
                     uint32_t worker, uint32_t c2b_tag, uint32_t b2c_tag) noexcept {
  // A fresh direction starts "paused at epoch 0" with control asking to resume epoch 0 with
  // nothing passed: the program's first skb therefore rebases the lag accounting on the
  // destination as it is at that moment, when nothing of the connection is in user space.
  DirState state{};
  state.paused = 1;
  int rc = 0;
  for (const auto& [key, tag] : {std::pair{client_cookie, c2b_tag}, std::pair{backend_cookie, b2c_tag}}) {
    const DirControl control{0, 0, max_lag, worker, tag};
    if (bpf_map_update_elem(impl_->control, &key, &control, BPF_NOEXIST) != 0 ||
        bpf_map_update_elem(impl_->state, &key, &state, BPF_NOEXIST) != 0) {
      rc = -errno;
      forget(client_cookie, backend_cookie);
      return rc;
    }
  }
  uint64_t fd = static_cast<uint64_t>(backend);
  if (bpf_map_update_elem(impl_->peers, &client_cookie, &fd, BPF_NOEXIST) != 0) {
    rc = -errno;
    forget(client_cookie, backend_cookie);
    return rc;
  }
  fd = static_cast<uint64_t>(client);
  if (bpf_map_update_elem(impl_->peers, &backend_cookie, &fd, BPF_NOEXIST) != 0) {
    // The backend's skbs since its insert found no peer and were passed to its psock queue;
    // a delete would purge them. Kick the backend so nothing waits for a next skb.
    const int one = 1;
    setsockopt(backend, SOL_SOCKET, SO_RCVLOWAT, &one, sizeof one);
    return kHalfPromoted;
  }
  // Bytes that were queued before the insert stay there until the next skb; lowering
  // SO_RCVLOWAT runs the socket's data_ready, which feeds them to the program in order.
  const int one = 1;
  setsockopt(client, SOL_SOCKET, SO_RCVLOWAT, &one, sizeof one);
  setsockopt(backend, SOL_SOCKET, SO_RCVLOWAT, &one, sizeof one);
  return 0;
}

void Sockmap::forget(uint64_t client_cookie, uint64_t backend_cookie) noexcept {
  for (const uint64_t key : {client_cookie, backend_cookie}) {
    bpf_map_delete_elem(impl_->control, &key);
    bpf_map_delete_elem(impl_->state, &key);
  }
}

int Sockmap::read_state(uint64_t src_cookie, DirState& out) const noexcept {
  return bpf_map_lookup_elem(impl_->state, &src_cookie, &out) == 0 ? 0 : -errno;
}

int Sockmap::write_control(uint64_t src_cookie, const DirControl& control) noexcept {
  return bpf_map_update_elem(impl_->control, &src_cookie, &control, BPF_EXIST) == 0 ? 0 : -errno;
}

void Sockmap::drain_notices(uint32_t worker, void (*fn)(void*, const Notice&), void* ctx) noexcept {
  if (worker >= impl_->rings.size()) return;
  NoticeRing& ring = *impl_->rings[worker];
  ring.fn = fn;
  ring.ctx = ctx;
  ring_buffer__consume(ring.reader);
}

int Sockmap::notice_fd(uint32_t worker) const noexcept {
  return worker < impl_->rings.size() ? impl_->rings[worker]->map.get() : -1;
}

uint64_t Sockmap::notices_lost(uint32_t worker) const noexcept {
  uint64_t n = 0;
  bpf_map_lookup_elem(impl_->notices_lost, &worker, &n);
  return n;
}

}  // namespace ringlb::sockmap
