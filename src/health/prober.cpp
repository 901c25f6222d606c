// Health prober (see prober.h).
#include "ringlb/health/prober.h"

#include <errno.h>

#include <algorithm>

#include "ringlb/common/clock.h"
#include "ringlb/common/log.h"
#include "ringlb/net/socket.h"

namespace ringlb::health {
namespace {

constexpr unsigned kRingEntries = 256;
constexpr uint64_t kMaxWaitMs = 100;  // how often the stop flag is looked at

// user_data: the target id in the low 32 bits; bit 32 marks the linked timeout's completion.
constexpr uint64_t kTimeoutBit = uint64_t{1} << 32;

std::string_view state_name(RiseFall::State s) {
  switch (s) {
    case RiseFall::State::up: return "up";
    case RiseFall::State::down: return "down";
    case RiseFall::State::unknown: return "unknown";
  }
  return "unknown";
}

}  // namespace

Prober::Prober(lb::SnapshotStore& store) : store_(store) {}

int Prober::init() noexcept { return ring_.init(kRingEntries, 0); }

void Prober::sync_targets() {
  const uint64_t generation = store_.generation();
  if (generation == synced_generation_) return;
  const auto snap = store_.load();
  synced_generation_ = snap->generation;
  for (auto& [id, t] : targets_) t->removed = true;
  for (const lb::PoolView& pool : snap->pools) {
    for (const lb::BackendView& b : pool.backends) {
      auto key = std::make_pair(pool.name, b.key);
      auto it = ids_.find(key);
      if (it != ids_.end()) {
        Target& t = *targets_.at(it->second);
        t.removed = false;
        t.counters = b.counters;
        if (t.settings.rise != pool.health.rise || t.settings.fall != pool.health.fall) {
          t.rise_fall.set_thresholds(pool.health.rise, pool.health.fall);
        }
        t.settings = pool.health;
        continue;
      }
      const uint32_t id = next_id_++;
      targets_.emplace(id, std::make_unique<Target>(Target{pool.name, b.key, b.address, pool.health, b.counters,
                                                           RiseFall(pool.health.rise, pool.health.fall)}));
      targets_.at(id)->id = id;
      ids_.emplace(std::move(key), id);
    }
  }
  for (auto it = targets_.begin(); it != targets_.end();) {
    Target& t = *it->second;
    if (t.removed && !t.in_flight) {
      ids_.erase(std::make_pair(t.pool, t.backend));
      it = targets_.erase(it);
    } else {
      ++it;
    }
  }
}

void Prober::start_probe(Target& t, uint64_t now_ms) {
  t.next_due_ms = now_ms + static_cast<uint64_t>(t.settings.interval.count());
  const int fd = net::open_stream_socket(t.address.family);
  if (fd < 0) {
    // Out of descriptors ourselves: not the backend's fault, so not counted against it.
    log::warn("health_probe_error", {{"pool", t.pool}, {"backend", t.backend}, {"error", log::errno_name(-fd)}});
    return;
  }
  t.socket.reset(fd);
  const socklen_t len = t.address.to_sockaddr(t.sockaddr);
  t.timeout = to_kernel_timespec(static_cast<uint64_t>(t.settings.timeout.count()));
  ring_.reserve(2);
  io_uring_sqe* sqe = ring_.get_sqe();
  io_uring_prep_connect(sqe, fd, reinterpret_cast<sockaddr*>(&t.sockaddr), len);
  io_uring_sqe_set_data64(sqe, t.id);
  sqe->flags |= IOSQE_IO_LINK;
  sqe = ring_.get_sqe();
  io_uring_prep_link_timeout(sqe, &t.timeout, 0);
  io_uring_sqe_set_data64(sqe, t.id | kTimeoutBit);
  t.in_flight = true;
}

void Prober::on_result(Target& t, int res) {
  t.in_flight = false;
  t.socket.reset();
  if (t.removed) {  // its backend left the config while the probe was out
    ids_.erase(std::make_pair(t.pool, t.backend));
    targets_.erase(t.id);
    return;
  }
  (res == 0 ? t.counters->checks_ok : t.counters->checks_failed).fetch_add(1, std::memory_order_relaxed);
  if (res == 0) {
    apply(t, true, "probe");
  } else {
    const int err = res == -ECANCELED ? ETIMEDOUT : -res;
    apply(t, false, log::errno_name(err));
  }
}

void Prober::apply(Target& t, bool success, std::string_view cause) {
  if (!t.rise_fall.observe(success)) return;
  const bool up = t.rise_fall.up();
  log::info("health", {{"pool", t.pool}, {"backend", t.backend}, {"state", state_name(t.rise_fall.state())},
                       {"cause", cause}, {"checks", t.rise_fall.streak()}});
  store_.update([&](lb::Snapshot& snap) {
    const int pi = snap.find_pool(t.pool);
    if (pi < 0) return false;
    lb::PoolView& pool = snap.pools[static_cast<size_t>(pi)];
    const int bi = pool.find_backend(t.address);
    if (bi < 0 || pool.backends[static_cast<size_t>(bi)].up == up) return false;
    pool.backends[static_cast<size_t>(bi)].up = up;
    lb::refresh_availability(pool);
    return true;
  });
  synced_generation_ = store_.generation();  // our own change: targets are unchanged
}

void Prober::process_completions() {
  io_uring_cqe* cqe;
  unsigned head;
  unsigned seen = 0;
  io_uring_for_each_cqe(ring_.get(), head, cqe) {
    ++seen;
    if (cqe->user_data & kTimeoutBit) continue;
    auto it = targets_.find(static_cast<uint32_t>(cqe->user_data));
    if (it != targets_.end()) on_result(*it->second, cqe->res);
  }
  io_uring_cq_advance(ring_.get(), seen);
}

uint64_t Prober::next_deadline() const {
  uint64_t next = UINT64_MAX;
  for (const auto& [id, t] : targets_) {
    if (!t->in_flight && !t->removed) next = std::min(next, t->next_due_ms);
  }
  return next;
}

void Prober::first_round() {
  sync_targets();
  const uint64_t now = monotonic_ms();
  uint64_t longest = 0;
  for (auto& [id, t] : targets_) {
    start_probe(*t, now);
    longest = std::max<uint64_t>(longest, static_cast<uint64_t>(t->settings.timeout.count()));
  }
  io_uring_submit(ring_.get());
  // Every probe completes by its own timeout; the margin covers scheduling delays.
  const uint64_t deadline = now + longest + 1000;
  for (;;) {
    process_completions();
    const bool pending = std::any_of(targets_.begin(), targets_.end(), [](const auto& kv) { return kv.second->in_flight; });
    const uint64_t t = monotonic_ms();
    if (!pending || t >= deadline) break;
    __kernel_timespec ts = to_kernel_timespec(std::min<uint64_t>(deadline - t, kMaxWaitMs));
    io_uring_cqe* cqe;
    io_uring_wait_cqe_timeout(ring_.get(), &cqe, &ts);
  }
}

void Prober::run(const std::atomic<bool>& stop) {
  while (!stop.load(std::memory_order_relaxed)) {
    sync_targets();
    const uint64_t now = monotonic_ms();
    for (auto& [id, t] : targets_) {
      if (t->removed) continue;
      // Passive failures: connect failures the workers saw since the last look.
      const uint32_t passive = t->counters->passive_failures.exchange(0, std::memory_order_relaxed);
      if (t->rise_fall.state() == RiseFall::State::up) {
        for (uint32_t i = 0; i < passive && t->rise_fall.up(); ++i) apply(*t, false, "passive");
      }
      if (!t->in_flight && t->next_due_ms <= now) start_probe(*t, now);
    }
    io_uring_submit(ring_.get());
    const uint64_t next = next_deadline();
    const uint64_t wait = next <= now ? 0 : std::min(next - now, kMaxWaitMs);
    __kernel_timespec ts = to_kernel_timespec(wait);
    io_uring_cqe* cqe;
    io_uring_wait_cqe_timeout(ring_.get(), &cqe, &ts);
    process_completions();
  }
}

}  // namespace ringlb::health
