// Snapshot: the immutable view the data plane routes by — listeners, pools, Maglev tiers,
// backend health. The control plane (prober, reload, admin) builds a new one and publishes it
// through SnapshotStore; a worker picks it up at its next accept, and a connection keeps the
// snapshot it was routed with. BackendCounters are the one mutable, shared part: atomics that
// outlive snapshots and are keyed by (pool, backend address).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "ringlb/common/address.h"
#include "ringlb/common/units.h"
#include "ringlb/lb/candidates.h"
#include "ringlb/lb/flow_hash.h"

namespace ringlb::lb {

// Shared by every worker and the prober; lives as long as any snapshot that names it.
struct BackendCounters {
  std::atomic<uint32_t> active{0};            // connections holding this backend (connecting or open)
  std::atomic<uint32_t> passive_failures{0};  // connect failures seen by workers, drained by the prober
  std::atomic<uint64_t> connections_total{0};  // connects that succeeded
  std::atomic<uint64_t> connect_failures{0};
  std::atomic<uint64_t> checks_ok{0};      // health probes that connected (prober thread)
  std::atomic<uint64_t> checks_failed{0};  // health probes refused or timed out (prober thread)
};

enum class ProxyHeader : uint8_t { none, v1, v2 };
enum class Health : uint8_t { up, down };

struct BackendView {
  Address address;
  std::string key;  // address.to_string(): the Maglev key and the label in logs and metrics
  uint32_t weight = 100;
  bool backup = false;
  uint32_t max_connections = 0;  // 0: unlimited
  bool up = true;                // health (probes, passive failures)
  // Admin overrides (admin API). Both keep live connections and take no new ones; they differ
  // in what they say: drained = being emptied on purpose, disabled = admin-down, "as if health
  // failed". At most one is set. Carried over by every publisher: the prober edits only `up`,
  // a reload copies them by (pool, address) in build_snapshot.
  bool drained = false;
  bool disabled = false;
  std::shared_ptr<BackendCounters> counters;

  bool available() const noexcept { return up && !drained && !disabled; }
  // Available and below max_connections right now (a racy read across workers: two workers may
  // both admit the last connection, so the limit can be exceeded by at most workers-1).
  bool usable() const noexcept {
    return available() &&
           (max_connections == 0 || counters->active.load(std::memory_order_relaxed) < max_connections);
  }
};

struct HealthSettings {
  Duration interval;
  Duration timeout;
  uint32_t rise;
  uint32_t fall;
};

struct PoolView {
  std::string name;
  FlowKey flow_key = FlowKey::client_ip;
  Duration connect_timeout;
  Duration idle_timeout;
  uint32_t retries = 0;
  HealthSettings health;
  std::vector<BackendView> backends;  // sorted by address: index = pool index used by the tiers
  std::shared_ptr<const Tier> primary;
  std::shared_ptr<const Tier> backup;
  uint32_t primary_available = 0;  // primary backends up and not drained
  uint32_t backup_available = 0;

  // Writes the candidate order for `flow_hash` into `out` (at most retries + 1 entries are
  // useful) and returns how many were written. Backup tier only when no primary is available.
  size_t candidates(uint64_t flow_hash, std::span<uint32_t> out) const noexcept;
  int find_backend(const Address& address) const noexcept;  // index or -1
};

struct ListenerView {
  std::string name;
  Address bind;
  uint32_t pool = 0;  // index into Snapshot::pools
  ProxyHeader proxy_header = ProxyHeader::none;
  uint32_t backlog = 4096;
  // Promote connections to the sockmap path (when the process has it): "auto" and "sockmap".
  bool sockmap = true;
  uint64_t sockmap_promote_after = 16 * 1024;
  uint32_t sockmap_max_lag = 4 * 1024 * 1024;
};

struct Snapshot {
  uint64_t generation = 0;
  uint32_t max_connections = 0;
  std::vector<ListenerView> listeners;  // sorted by name
  std::vector<PoolView> pools;          // sorted by name

  int find_pool(std::string_view name) const noexcept;
  int find_listener(std::string_view name) const noexcept;
};

// Recomputes primary_available/backup_available after health or drain flags changed.
void refresh_availability(PoolView& pool) noexcept;

// Holds the current snapshot. Readers (workers) poll generation() — one relaxed load per
// accept — and call load() only when it changed. Writers (control-plane threads) serialize on
// a mutex that no worker ever touches.
class SnapshotStore {
 public:
  explicit SnapshotStore(std::shared_ptr<const Snapshot> initial);

  uint64_t generation() const noexcept { return generation_.load(std::memory_order_acquire); }
  std::shared_ptr<const Snapshot> load() const noexcept { return current_.load(std::memory_order_acquire); }

  // Copies the current snapshot, lets `edit` change the copy, stamps the next generation and
  // publishes it. `edit` returns false to abandon the change. Returns the published snapshot or
  // nullptr. Control plane only.
  template <class Edit>
  std::shared_ptr<const Snapshot> update(Edit&& edit) {
    std::lock_guard lock(write_mutex_);
    auto next = std::make_shared<Snapshot>(*current_.load(std::memory_order_acquire));
    if (!edit(*next)) return nullptr;
    return publish_locked(std::move(next));
  }
  // Replaces the snapshot wholesale (reload). Control plane only.
  std::shared_ptr<const Snapshot> replace(std::shared_ptr<Snapshot> next);
  // Builds the next snapshot from the current one under the write lock, so state that other
  // publishers (prober, admin API) set between a reload's read and its swap cannot be lost.
  // `build(const Snapshot& current)` returns the new snapshot. Control plane only.
  template <class Build>
  std::shared_ptr<const Snapshot> rebuild(Build&& build) {
    std::lock_guard lock(write_mutex_);
    return publish_locked(build(*current_.load(std::memory_order_acquire)));
  }

 private:
  std::shared_ptr<const Snapshot> publish_locked(std::shared_ptr<Snapshot> next);

  std::atomic<std::shared_ptr<const Snapshot>> current_;
  std::atomic<uint64_t> generation_{0};
  std::mutex write_mutex_;
};

}  // namespace ringlb::lb
